package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Labels every container and network of a cascade run carries.
const (
	// LabelRun holds the run id; `cascade clean` and every run's start
	// find leftovers by it.
	LabelRun = "cascade.run"
	// LabelOwner names the process that owns the run ("host/pid/start"),
	// so a run's start removes only the leftovers of processes that are
	// gone and leaves alone a stack another live test binary is using
	// (`go test ./suites/...` runs suite binaries side by side).
	LabelOwner = "cascade.owner"
	// LabelService names the service a container runs.
	LabelService = "cascade.service"
	// LabelImage and LabelHash mark the images EnsureImages builds.
	LabelImage = "cascade.image"
	LabelHash  = "cascade.hash"
	// LabelSource is "executable" on images built from the cascade binary.
	LabelSource = "cascade.source"
)

// NewRunID returns a fresh run id: a sortable time prefix and random bits.
func NewRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b[:])
}

// Owner is this process's owner label value: hostname, pid and the
// process's start time (so a recycled pid does not look alive).
func Owner() string {
	return ownerOf(os.Getpid())
}

func ownerOf(pid int) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, pid, procStart(pid))
}

// procStart reads the start time (clock ticks since boot) of pid from
// /proc; "" where there is no /proc.
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields after its ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22 overall: starttime
}

// ownerAlive reports whether the process an owner label names still runs.
// An owner on another host, or one that cannot be parsed, counts as alive:
// only `cascade clean --all` removes what cannot be proven dead.
func ownerAlive(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		return owner != ""
	}
	host, _ := os.Hostname()
	if parts[0] != host {
		return true
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return true
	}
	start := procStart(pid)
	if start == "" {
		return false // no such process
	}
	return start == parts[2]
}
