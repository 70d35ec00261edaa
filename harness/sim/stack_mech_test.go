package sim

import (
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dwfm"
)

// outage empties the regional record for d after 30 minutes of steady
// state, then restores it by hand.
func outage(t *testing.T, st *Stack, d time.Duration) {
	t.Helper()
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if err := st.DeletePlan(); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(d))
	if err := st.RestoreDNS(); err != nil {
		t.Fatal(err)
	}
	if st.RegionalEmpty() {
		t.Fatal("record still empty after the restore")
	}
}

// After DNS is restored, as-was DWFM makes no forward progress (its queue
// holds work that times out and is re-queued), and fixed (dwfm-admission)
// holds every lease again within its recovery bound.
func TestAfterRestoreAsWasCollapsesFixedRecovers(t *testing.T) {
	aswas := newStack(t, 3)
	outage(t, aswas, 3*time.Hour)
	aswas.RunUntil(aswas.Now().Add(3 * time.Hour))
	held, n := leases(t, aswas)
	if held > n/2 {
		t.Fatalf("as-was: 3h after the restore %d of %d leases held: want the collapse", held, n)
	}
	s, _ := aswas.DWFMState("dwfm-a")
	if s.TimedOut == 0 || s.QueueDepth == 0 {
		t.Fatalf("as-was: timed out %d, queue %d: want re-queued timed-out work", s.TimedOut, s.QueueDepth)
	}

	fixed := newStack(t, 3, catalogue.FixDWFMAdmission)
	outage(t, fixed, 3*time.Hour)
	fixed.RunUntil(fixed.Now().Add(dwfm.FixedRecoveryBound))
	if held, n := leases(t, fixed); held != n {
		t.Fatalf("fixed: %v after the restore %d of %d leases held", dwfm.FixedRecoveryBound, held, n)
	}
}

// The operators' runbook (throttle intake, restart every host) recovers
// as-was DWFM, and the re-leases load Network Manager: its backlog grows.
func TestThrottleAndRestartRecoverAndLoadNetMgr(t *testing.T) {
	st := newStack(t, 4)
	outage(t, st, 3*time.Hour)
	st.RunUntil(st.Now().Add(dwfm.OperatorActionDelay))
	before := st.NetMgrState()
	st.ThrottleDWFM(dwfm.OperatorThrottlePerMinute)
	for _, h := range st.DWFMHosts() {
		if err := st.RestartDWFM(h); err != nil {
			t.Fatal(err)
		}
	}
	maxDepth := 0
	for range 12 * 3 {
		st.RunUntil(st.Now().Add(5 * time.Minute))
		maxDepth = max(maxDepth, st.NetMgrState().Depth)
	}
	if held, n := leases(t, st); held != n {
		t.Fatalf("3h after throttle and restart %d of %d leases held", held, n)
	}
	// every re-lease write owes Network Manager NetWorkPerWrite items
	owed := int64(120 * dwfm.DefaultNetWorkPerWrite)
	if got := st.NetMgrState().Admitted - before.Admitted; got < owed || maxDepth == 0 {
		t.Fatalf("Network Manager admitted %d items after the restarts (want >= %d), max depth %d", got, owed, maxDepth)
	}
}

// launchFleet launches n instances and registers them as NLB targets at
// once, while Network Manager is behind (a backlog of bulk work).
func launchFleet(t *testing.T, st *Stack, n int) {
	t.Helper()
	if _, err := st.nm.AddWork(dwfm.NetWorkKind, 20000); err != nil {
		t.Fatal(err)
	}
	for range n {
		ins, code := st.RunInstances(1)
		if code != "" {
			t.Fatalf("RunInstances: %s", code)
		}
		if err := st.RegisterTargets(ins...); err != nil {
			t.Fatal(err)
		}
	}
}

// As-was, targets put in service before their network state propagated
// fail checks from the nodes it has not reached: they flap and the NLB
// removes AZs from DNS; with nlb-velocity at most one AZ goes per window.
func TestNLBFlapsAndFailsOverAsWasNotWithVelocity(t *testing.T) {
	aswas := newStack(t, 5)
	launchFleet(t, aswas, 30)
	aswas.RunUntil(aswas.Now().Add(2 * time.Hour))
	a := aswas.NLBState()
	if a.Flaps == 0 || a.Removals == 0 || a.MaxCapacityRemoved < 0.6 {
		t.Fatalf("as-was: flaps %d, removals %d, max capacity removed %.2f: want flapping and AZs removed", a.Flaps, a.Removals, a.MaxCapacityRemoved)
	}
	fixed := newStack(t, 5, catalogue.FixNLBVelocity)
	launchFleet(t, fixed, 30)
	fixed.RunUntil(fixed.Now().Add(2 * time.Hour))
	f := fixed.NLBState()
	if f.Flaps == 0 {
		t.Fatal("nlb-velocity: no flaps (the mechanism is the same; only failover is bounded)")
	}
	if f.MaxRemovedPerWindow > 0.34 || f.Suppressed == 0 {
		t.Fatalf("nlb-velocity: max removed per window %.2f, suppressed %d", f.MaxRemovedPerWindow, f.Suppressed)
	}
}

// A failpoint holds an Enactor of the stack: its process parks at the
// failpoint until it is disabled.
func TestFailpointHoldsAnEnactor(t *testing.T) {
	st := newStack(t, 6)
	const fp = "dnsenactor-a/before-run"
	if err := st.EnableFailpoint(fp, "pause"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if n := st.FailpointWaiting(fp); n != 1 {
		t.Fatalf("%s holds %d processes: want the Enactor", fp, n)
	}
	runs := st.race.res.Runs["dnsenactor-a"]
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if st.race.res.Runs["dnsenactor-a"] != runs {
		t.Fatal("the held Enactor ran")
	}
	if err := st.DisableFailpoint(fp); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if st.FailpointWaiting(fp) != 0 || st.race.res.Runs["dnsenactor-a"] == runs {
		t.Fatal("the Enactor was not released")
	}
	if err := st.EnableFailpoint("dnsenactor-a/before-run", "bogus(("); err == nil {
		t.Fatal("bad terms accepted")
	}
}

// The services' own failpoints have their sim counterparts: dwfm-x/ddb
// fails DWFM's DynamoDB calls (its state checks fail while DNS is fine),
// ec2/run-instances refuses launches with the code its value names.
func TestServiceFailpoints(t *testing.T) {
	st := newStack(t, 9)
	if err := st.EnableFailpoint("dwfm-b/ddb", "return(boom)"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(time.Hour))
	b, _ := st.DWFMState("dwfm-b")
	a, _ := st.DWFMState("dwfm-a")
	if b.ChecksFailed == 0 || a.ChecksFailed != 0 {
		t.Fatalf("checks failed: dwfm-b %d (want > 0), dwfm-a %d (want 0)", b.ChecksFailed, a.ChecksFailed)
	}
	if err := st.EnableFailpoint("ec2/run-instances", "return(InsufficientInstanceCapacity)"); err != nil {
		t.Fatal(err)
	}
	if _, code := st.RunInstances(1); code != "InsufficientInstanceCapacity" {
		t.Fatalf("RunInstances under the failpoint: %q", code)
	}
	if err := st.DisableFailpoint("ec2/run-instances"); err != nil {
		t.Fatal(err)
	}
	if _, code := st.RunInstances(1); code != "" {
		t.Fatalf("RunInstances after the failpoint: %q", code)
	}
}
