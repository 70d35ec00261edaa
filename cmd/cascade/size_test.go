package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLinkerKeepsOnlyCalledMethods: nothing reachable in cascade calls
// reflect.Value.Method or MethodByName (text/template's execution does).
// Such a call makes the linker keep every exported method of every type
// that reaches an interface: with html/template's Execute in the HTML report
// the binary was 81 MB instead of 32 (all 812 methods of the EC2 SDK
// client; docs/measurements-install.md). The linker marks such functions
// <ReflectMethod> in its -dumpdep output.
func TestLinkerKeepsOnlyCalledMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("links cascade")
	}
	cmd := exec.Command("go", "build", "-ldflags=-dumpdep", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%.2000s", err, stderr.String())
	}
	var marked []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		from, _, ok := strings.Cut(sc.Text(), " -> ")
		if ok && strings.HasSuffix(from, "<ReflectMethod>") && !seen[from] {
			seen[from] = true
			marked = append(marked, from)
		}
	}
	if len(marked) > 0 {
		t.Errorf("reachable functions call reflect Method/MethodByName, so the linker keeps every exported method:\n%s",
			strings.Join(marked, "\n"))
	}
}
