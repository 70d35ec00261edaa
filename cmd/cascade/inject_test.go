package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
)

// buildCascade builds the binary once per test run.
func buildCascade(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cascade")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer is a bytes.Buffer that a child's output copier and the test
// may use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func run(bin string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	}
	return o.String(), e.String(), code
}

func TestBadInputExitsTwoNamingValidChoices(t *testing.T) {
	bin := buildCascade(t)
	dir := t.TempDir()
	epFile := filepath.Join(dir, "ep.json")

	// A running stack, for the checks that need its links.
	up := exec.Command(bin, "up", "--endpoints-file", epFile, "--services", "route53,dynamodb,dnsplanner,dnsenactor")
	var upErr lockedBuffer // written by exec's copier while the test reads it
	up.Stderr = &upErr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = up.Process.Signal(os.Interrupt)
		_ = up.Wait()
	})
	gomega.NewWithT(t).Eventually(func() error {
		_, err := harness.ReadEndpoints(epFile)
		return err
	}).WithTimeout(20*time.Second).WithPolling(20*time.Millisecond).Should(gomega.Succeed(),
		func() string { return "cascade up wrote no endpoints: " + upErr.String() })

	cases := []struct {
		name string
		args []string
		want []string // substrings of the one-line error
	}{
		{"unknown fault", []string{"inject", "latencyy", "--endpoints-file", epFile}, []string{`unknown fault "latencyy"`, "latency", "empty-endpoint", "link-down"}},
		{"unknown link", []string{"inject", "latency", "link=ddb-lb-z", "--endpoints-file", epFile}, []string{`unknown link "ddb-lb-z"`, "ddb-lb-a", "dnsenactor-a__route53"}},
		{"bad duration", []string{"inject", "latency", "link=ddb-lb-a", "latency=fast", "--endpoints-file", epFile}, []string{`latency="fast"`, "300ms"}},
		{"unknown argument", []string{"inject", "latency", "link=ddb-lb-a", "colour=red", "--endpoints-file", epFile}, []string{`"colour"`, "link, latency, jitter"}},
		{"unknown service", []string{"inject", "stop-service", "service=dwfm-z", "--endpoints-file", epFile}, []string{`unknown service "dwfm-z"`, "dnsenactor-a"}},
		{"up bad speed", []string{"up", "--speed", "-3"}, []string{"speed", "must be > 0"}},
		{"up unknown fix", []string{"up", "--fixes", "retry-harder"}, []string{`unknown fix "retry-harder"`, "enactor-cas", "nlb-velocity"}},
		{"up unknown backend", []string{"up", "--backend", "k8s"}, []string{`unknown backend "k8s"`, "embedded"}},
		{"up unknown service", []string{"up", "--services", "route53,iam"}, []string{`unknown service "iam"`, "dnsplanner"}},
		{"up service without its requirement", []string{"up", "--services", "route53,sts"}, []string{"sts needs dynamodb"}},
		{"up bad speed type", []string{"up", "--speed", "fast"}, []string{"invalid argument", "speed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := run(bin, c.args...)
			if code != 2 {
				t.Errorf("exit status %d, want 2 (stderr %q)", code, stderr)
			}
			line := strings.TrimRight(stderr, "\n")
			if strings.Contains(line, "\n") {
				t.Errorf("error is not one line: %q", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q lacks %q", line, w)
				}
			}
		})
	}

	// And good input works from this other process: apply, see, revert.
	if _, stderr, code := run(bin, "inject", "latency", "link=ddb-lb-b", "latency=20ms", "--endpoints-file", epFile); code != 0 {
		t.Fatalf("inject: %d %s", code, stderr)
	}
	ep, _ := harness.ReadEndpoints(epFile)
	s := harness.Attach(ep)
	p, err := s.Toxiproxy().Proxy("ddb-lb-b")
	if err != nil || len(p.ActiveToxics) != 1 {
		t.Fatalf("toxics on ddb-lb-b after inject: %+v (%v)", p, err)
	}
	if _, stderr, code := run(bin, "inject", "latency", "link=ddb-lb-b", "--revert", "--endpoints-file", epFile); code != 0 {
		t.Fatalf("inject --revert: %d %s", code, stderr)
	}
	if p, _ = s.Toxiproxy().Proxy("ddb-lb-b"); len(p.ActiveToxics) != 0 {
		t.Fatalf("toxics after revert: %+v", p.ActiveToxics)
	}
	out, _, code := run(bin, "inject", "list", "--endpoints-file", epFile)
	if code != 0 || !strings.Contains(out, "dnsplanner__route53") || !strings.Contains(out, "empty-endpoint") {
		t.Fatalf("inject list: %d %s", code, out)
	}
}
