package faults_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/embedded"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
)

func startDNSStack(t *testing.T) harness.Stack {
	t.Helper()
	ctx := context.Background()
	s, err := harness.Start(ctx, harness.WithBackend("embedded"),
		harness.WithServices(harness.Route53Svc, harness.DynamoDBSvc, harness.DNSPlannerSvc, harness.DNSEnactorSvc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

// waitFor polls cond every 20 ms until it holds, failing the test after d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	gomega.NewWithT(t).Eventually(cond).WithTimeout(d).WithPolling(20*time.Millisecond).Should(gomega.BeTrue(),
		"timed out after %v waiting for %s", d, what)
}

func TestLedgerRevertsEveryFaultAndSweepFindsNothing(t *testing.T) {
	ctx := context.Background()
	s := startDNSStack(t)
	tl := timeline.MustNew()
	l := faults.NewLedger(s, faults.WithTimeline(tl))
	for _, f := range []faults.Fault{
		faults.Latency("ddb-lb-a", 50*time.Millisecond, 0),
		faults.Down("dnsenactor-b__route53"),
		faults.EnableFailpoint("dnsenactor-a/before-apply-endpoint", "sleep(1s)"),
		faults.DisableDNSAutomation{},
	} {
		if _, err := l.Apply(ctx, f); err != nil {
			t.Fatalf("apply %T: %v", f, err)
		}
	}
	left, err := faults.Inspect(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Toxics) != 1 || len(left.DisabledLinks) != 1 || len(left.Failpoints) != 1 {
		t.Fatalf("inspect before revert = %s", left)
	}
	if err := l.RevertAll(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := faults.Inspect(ctx, s); err != nil || !left.Empty() {
		t.Fatalf("after RevertAll: %s (err %v)", left, err)
	}
	snap := tl.Snapshot()
	if len(snap.Faults) != 4 {
		t.Fatalf("timeline faults = %d, want 4", len(snap.Faults))
	}
	for _, f := range snap.Faults {
		if f.End.IsZero() {
			t.Errorf("fault %s not ended in the timeline", f.Name)
		}
	}
}

func TestSweepRemovesLeftovers(t *testing.T) {
	ctx := context.Background()
	s := startDNSStack(t)
	// Faults applied outside any ledger: an earlier run that crashed.
	for _, f := range []faults.Fault{faults.Timeout("ddb-lb-c", 0), faults.DNSServfail()} {
		if err := f.Apply(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	left, err := faults.Sweep(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(left.String(), "ddb-lb-c/cascade-timeout-downstream") || !strings.Contains(left.String(), "route53/dns-servfail") {
		t.Fatalf("sweep found %s", left)
	}
	if left, _ := faults.Inspect(ctx, s); !left.Empty() {
		t.Fatalf("after sweep: %s", left)
	}
}

func TestEmptyEndpointFailsResolutionUntilRestored(t *testing.T) {
	ctx := context.Background()
	s := startDNSStack(t)
	l := faults.NewLedger(s)
	defer l.RevertAll(ctx)
	resolve := probes.Resolve(s.Endpoints())
	if _, err := l.Apply(ctx, faults.DisableDNSAutomation{}); err != nil {
		t.Fatal(err)
	}
	f, err := faults.Empty("regional")
	if err != nil {
		t.Fatal(err)
	}
	undo, err := l.Apply(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	g := gomega.NewWithT(t)
	sample := func() timeline.Sample { return resolve.Sample(ctx) }
	g.Eventually(sample).WithTimeout(5*time.Second).WithPolling(20*time.Millisecond).
		Should(gomega.HaveField("Code", timeline.CodeNoSuchHost), "no such host")
	if err := undo(ctx); err != nil {
		t.Fatal(err)
	}
	g.Eventually(sample).WithTimeout(5*time.Second).WithPolling(20*time.Millisecond).
		Should(gomega.HaveField("OK", true), "resolution after restore")
}

func TestBuildNamesValidChoices(t *testing.T) {
	_, err := faults.Build("latencyy", nil)
	if !errors.Is(err, faults.ErrUnknownFault) || !strings.Contains(err.Error(), "latency, link-down") && !strings.Contains(err.Error(), "latency") {
		t.Fatalf("unknown fault: %v", err)
	}
	_, err = faults.Build("latency", faults.Args{"link": "ddb-lb-a", "latency": "fast"})
	if !errors.Is(err, faults.ErrBadArgument) || !strings.Contains(err.Error(), "Go duration") {
		t.Fatalf("bad duration: %v", err)
	}
	_, err = faults.Build("latency", faults.Args{"link": "ddb-lb-a", "colour": "red"})
	if !errors.Is(err, faults.ErrBadArgument) || !strings.Contains(err.Error(), "link, latency, jitter") {
		t.Fatalf("unknown arg: %v", err)
	}
}

func TestUnknownLinkNamesValidLinks(t *testing.T) {
	s := startDNSStack(t)
	err := faults.Latency("ddb-lb-z", time.Millisecond, 0).Apply(context.Background(), s)
	if !errors.Is(err, harness.ErrUnknownLink) || !strings.Contains(err.Error(), "ddb-lb-a") {
		t.Fatalf("err = %v", err)
	}
}
