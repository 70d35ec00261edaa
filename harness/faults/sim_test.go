package faults_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// experiment is one experiment's faults, built by name from the registry
// as the CLI and the experiments build them (a fresh list per run: a fault
// keeps its own state while applied).
func experiment(t *testing.T) []faults.Fault {
	t.Helper()
	var out []faults.Fault
	for _, w := range []struct {
		name string
		args faults.Args
	}{
		{"latency", faults.Args{"link": "ddb-lb-a", "latency": "50ms"}},
		{"bandwidth", faults.Args{"link": "ddb-lb-b", "rate": "100"}},
		{"slicer", faults.Args{"link": "ddb-lb-c", "size": "256", "delay": "1ms"}},
		{"slow-close", faults.Args{"link": "ddb-lb-a", "delay": "10ms"}},
		{"limit-data", faults.Args{"link": "ddb-lb-b", "bytes": "1000000"}},
		{"failpoint", faults.Args{"name": "dnsenactor-b/before-run", "terms": "return"}},
		{"disable-dns-automation", nil},
		{"empty-endpoint", faults.Args{"endpoint": "regional"}},
		{"restart-service", faults.Args{"service": "dnsplanner"}},
		{"pause-service", faults.Args{"service": "dynamodb"}},
	} {
		f, err := faults.Build(w.name, w.args)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// runExperiment applies the experiment through l, checks that every
// fault was applied and recorded, reverts them all, and returns the
// ledger's entries as kind/name/target.
func runExperiment(t *testing.T, l *faults.Ledger, tl *timeline.Timeline, during func()) []string {
	t.Helper()
	ctx := context.Background()
	for _, f := range experiment(t) {
		if _, err := l.Apply(ctx, f); err != nil {
			t.Fatalf("apply %s: %v", faults.Describe(f).Name, err)
		}
	}
	if n := len(l.Active()); n != 9 { // the restart is instant: never active
		t.Fatalf("%d faults active, want 9", n)
	}
	during()
	if err := l.RevertAll(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range tl.Snapshot().Faults {
		if f.End.IsZero() {
			t.Errorf("%s on %s not ended in the timeline", f.Name, f.Target)
		}
		out = append(out, fmt.Sprintf("%s/%s/%s", f.Kind, f.Name, f.Target))
	}
	return out
}

// The same experiment (toxics of every kind the sim models, a failpoint,
// an operator action, a DNS edit, a restarted and a paused service) runs
// unchanged on the sim: a sim ledger applies each fault's sim counterpart,
// and the effects are there (the record empty, DynamoDB frozen, the
// planner a new process that resumes after the newest generation) and gone
// after RevertAll. TestSameExperimentOnEmbedded runs the same list on the
// embedded backend. It fails if a fault had no sim side or its revert left
// anything behind.
func TestSameExperimentOnSim(t *testing.T) {
	st, err := sim.NewStack(sim.StackConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	resumed := 0
	st.OnEvent(func(e kit.Event) {
		if e.Kind == "planner-resumed" {
			resumed++
		}
	})
	tl := timeline.MustNew()
	l := faults.NewSimLedger(st, faults.WithTimeline(tl))
	got := runExperiment(t, l, tl, func() {
		if !st.RegionalEmpty() {
			t.Error("the regional record resolves during empty-endpoint")
		}
		if code := st.DynamoDBGetItem(); code != "no-such-host" {
			t.Errorf("GetItem with the record empty: %q", code)
		}
		if err := st.RestoreDNS(); err != nil {
			t.Fatal(err)
		}
		if code := st.DynamoDBGetItem(); code != "timeout" {
			t.Errorf("GetItem with DynamoDB paused: %q", code)
		}
		if st.DNSAutomationIdle() != true {
			t.Error("an Enactor is in a run with the automation disabled")
		}
	})
	if st.RegionalEmpty() {
		t.Error("the regional record is still empty after RevertAll")
	}
	st.RunUntil(st.Now().Add(5 * time.Minute))
	if code := st.DynamoDBGetItem(); code != "" {
		t.Errorf("GetItem after RevertAll: %q", code)
	}
	if resumed != 1 {
		t.Errorf("the restarted planner resumed %d times, want once", resumed)
	}
	if len(got) != 10 {
		t.Fatalf("ledger entries: %v", got)
	}
	// a fault without a sim side is an error, not a silent no-op (every
	// fault of the package has one: this one is the test's)
	_, err = l.Apply(context.Background(), noSimSide{})
	if !errors.Is(err, sim.ErrNotOnSim) {
		t.Fatalf("a fault with no sim side on the sim: %v, want ErrNotOnSim", err)
	}
	// restart-lambda-pollers runs on the sim (the same core call as the admin endpoint)
	if _, err := l.Apply(context.Background(), faults.RestartLambdaPollers{}); err != nil {
		t.Fatalf("restart-lambda-pollers on the sim: %v", err)
	}
}

// noSimSide is a fault with no sim counterpart.
type noSimSide struct{}

func (noSimSide) Apply(context.Context, harness.Stack) error  { return nil }
func (noSimSide) Revert(context.Context, harness.Stack) error { return nil }

// TestSameExperimentOnEmbedded: the very list of TestSameExperimentOnSim
// on the embedded backend, through the ordinary ledger: the same entries,
// and nothing left behind.
func TestSameExperimentOnEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded stack")
	}
	s := startDNSStack(t)
	tl := timeline.MustNew()
	got := runExperiment(t, faults.NewLedger(s, faults.WithTimeline(tl)), tl, func() {})
	if left, err := faults.Inspect(context.Background(), s); err != nil || !left.Empty() {
		t.Fatalf("after RevertAll: %s (err %v)", left, err)
	}
	st, err := sim.NewStack(sim.StackConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tl2 := timeline.MustNew()
	onSim := runExperiment(t, faults.NewSimLedger(st, faults.WithTimeline(tl2)), tl2, func() {})
	if st.RegionalEmpty() {
		t.Error("on the sim, the regional record is still empty after RevertAll")
	}
	if fmt.Sprint(got) != fmt.Sprint(onSim) {
		t.Fatalf("ledger on embedded %v, on the sim %v", got, onSim)
	}
}

// A toxic with toxicity 0.5 runs on the sim: reset_peer on every DynamoDB
// load balancer resets some new clients' connections and not others, and
// the same seed resets the same ones (the draw is the run's). It fails if
// the sim refused the toxicity, applied it to every connection or to none,
// or drew outside the run's source.
func TestToxicityOnSim(t *testing.T) {
	codes := func() []string {
		st, err := sim.NewStack(sim.StackConfig{Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		l := faults.NewSimLedger(st)
		for _, lb := range sim.LBs {
			tox := faults.ResetPeer(lb.Name, 0)
			tox.Stream, tox.Toxicity = "upstream", 0.5
			if _, err := l.Apply(context.Background(), tox); err != nil {
				t.Fatal(err)
			}
		}
		var out []string
		for range 30 {
			out = append(out, st.DynamoDBGetItem()) // a new client: a new connection
		}
		return out
	}
	got := codes()
	resets := 0
	for _, c := range got {
		switch c {
		case "connection-reset":
			resets++
		case "":
		default:
			t.Fatalf("GetItem: %q", c)
		}
	}
	if resets == 0 || resets == len(got) {
		t.Fatalf("%d of %d new connections reset at toxicity 0.5", resets, len(got))
	}
	if again := codes(); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Fatalf("seed 4 twice: %v, then %v", got, again)
	}
}
