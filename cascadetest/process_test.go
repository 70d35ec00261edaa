package cascadetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/faults"
)

// TestAProcessStartedWithEnvUsesTheStacksResolver: on the embedded backend
// a user's process started with Env (examples/usersvc, which points Go's
// resolver at CASCADE_DNS) resolves DynamoDB's regional hostname through
// the stack's DNS to the stack's load balancers, fails with no such host
// while the record is empty and works after the restore, as an attached
// container does on containers and compose.
func TestAProcessStartedWithEnvUsesTheStacksResolver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "usersvc")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../examples/usersvc").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/usersvc: %v\n%s", err, out)
	}
	// The Enactors' race fixed and the automation off: only the fault
	// empties the record, only the restore mends it.
	stack, err := Start(ctx, WithBackend("embedded"), WithFixes("enactor-cas"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stack.Close(context.Background()) }()
	ledger := faults.NewLedger(stack.h)
	defer func() { _ = ledger.RevertAll(context.Background()) }()
	if _, err := ledger.Apply(ctx, faults.DisableDNSAutomation{}); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(append(os.Environ(), stack.Env()...), "USERSVC_ADDR=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	listening := regexp.MustCompile(`listening on (\S+),`)
	sc := bufio.NewScanner(stderr)
	var base string
	for base == "" && sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("usersvc did not say where it listens: %v", sc.Err())
	}
	go func() { // drain its log
		for sc.Scan() {
		}
	}()

	web := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := web.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	code, body := get("/resolve")
	if code != http.StatusOK {
		t.Fatalf("resolve: %d %v", code, body)
	}
	var lbs []string
	for _, lb := range stack.Endpoints().LoadBalancers {
		lbs = append(lbs, lb.IP)
	}
	addrs, _ := body["addrs"].([]any)
	if len(addrs) == 0 {
		t.Fatalf("resolve: no addresses: %v", body)
	}
	for _, a := range addrs {
		if !slices.Contains(lbs, a.(string)) {
			t.Errorf("resolved %v, not one of the stack's load balancers %v: the process did not use the stack's DNS", a, lbs)
		}
	}
	if code, body := get("/ddb"); code != http.StatusOK {
		t.Fatalf("DynamoDB before the fault: %d %v", code, body)
	}
	empty, err := faults.Empty("regional")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Apply(ctx, empty); err != nil {
		t.Fatal(err)
	}
	// Apply returns once Route 53 has the change: a new connection (usersvc
	// dials one per call) sees it at once.
	if code, body := get("/ddb"); code != http.StatusBadGateway || !strings.Contains(fmt.Sprint(body["error"]), "no such host") {
		t.Errorf("DynamoDB while the record is empty: %d %v, want 502 no such host", code, body)
	}
	if _, err := ledger.Apply(ctx, faults.RestoreRegional()); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/ddb"); code != http.StatusOK {
		t.Errorf("DynamoDB after the restore: %d %v", code, body)
	}
}
