package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
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
	// the operators turn failover off: every AZ is back in DNS
	aswas.DisableNLBFailover()
	aswas.RunUntil(aswas.Now().Add(time.Minute))
	if st := aswas.NLBState(); st.FailoverEnabled || st.CapacityRemoved != 0 {
		t.Fatalf("failover disabled: enabled %v, capacity removed %.2f", st.FailoverEnabled, st.CapacityRemoved)
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

// netmgr/tick paused stalls Network Manager's worker (its queue holds what
// it held), and nlb/health-check failing makes healthy targets flap.
func TestNetMgrAndNLBFailpoints(t *testing.T) {
	st := newStack(t, 10)
	for range 6 {
		ins, code := st.RunInstances(1)
		if code != "" {
			t.Fatal(code)
		}
		if err := st.RegisterTargets(ins...); err != nil {
			t.Fatal(err)
		}
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if st.NLBState().HealthyCapacity != 6 {
		t.Fatalf("healthy capacity %d, want the 6 targets", st.NLBState().HealthyCapacity)
	}
	if err := st.EnableFailpoint("netmgr/tick", "pause"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(time.Minute))
	if _, err := st.nm.AddWork("bulk", 100); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if d := st.NetMgrState().Depth; d < 100 {
		t.Fatalf("netmgr/tick paused: depth %d, want the 100 items still queued", d)
	}
	if err := st.DisableFailpoint("netmgr/tick"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if d := st.NetMgrState().Depth; d != 0 {
		t.Fatalf("netmgr/tick released: depth %d, want drained", d)
	}
	before := st.NLBState()
	if err := st.EnableFailpoint("nlb/health-check", "return"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	after := st.NLBState()
	if after.Flaps <= before.Flaps || after.FailedChecks <= before.FailedChecks {
		t.Fatalf("nlb/health-check failing: flaps %d -> %d, failed checks %d -> %d", before.Flaps, after.Flaps, before.FailedChecks, after.FailedChecks)
	}
}

// DynamoDB's failpoints answer as the server does: the probe sees the
// error code the value names.
func TestDynamoDBFailpoints(t *testing.T) {
	st := newStack(t, 13)
	if err := st.EnableFailpoint("dynamodb/GetItem", "return(ThrottlingException)"); err != nil {
		t.Fatal(err)
	}
	if code := st.DynamoDBGetItem(); code != "ThrottlingException" {
		t.Fatalf("GetItem under dynamodb/GetItem: %q", code)
	}
	if code := st.DynamoDBPutItem(); code != "" {
		t.Fatalf("PutItem (no failpoint): %q", code)
	}
	if err := st.EnableFailpoint("dynamodb/any", "return(503)"); err != nil {
		t.Fatal(err)
	}
	if code := st.DynamoDBPutItem(); code != "ServiceUnavailable" {
		t.Fatalf("PutItem under dynamodb/any: %q", code)
	}
}

// Route53's DNS failpoints reach the clients: dns-servfail is a DNS error,
// dns-drop a timeout; the API's api-error fails the Enactors' calls.
func TestRoute53Failpoints(t *testing.T) {
	st := newStack(t, 14)
	if err := st.EnableFailpoint("route53/dns-servfail", "return(dynamodb.us-east-1.amazonaws.com)"); err != nil {
		t.Fatal(err)
	}
	if code := st.DynamoDBGetItem(); code != "dns-error" {
		t.Fatalf("GetItem under dns-servfail: %q", code)
	}
	if err := st.DisableFailpoint("route53/dns-servfail"); err != nil {
		t.Fatal(err)
	}
	if err := st.EnableFailpoint("route53/dns-drop", "return"); err != nil {
		t.Fatal(err)
	}
	if code := st.DynamoDBGetItem(); code != "timeout" {
		t.Fatalf("GetItem under dns-drop: %q", code)
	}
	if err := st.DisableFailpoint("route53/dns-drop"); err != nil {
		t.Fatal(err)
	}
	if err := st.EnableFailpoint("route53/api-error", "return(Throttling)"); err != nil {
		t.Fatal(err)
	}
	// the planner's writes fail: the newest generation in Route53 stays
	store, zones := st.DNSStore()
	gen := func() uint64 {
		st, err := dnsplan.ReadEndpoint(st.s.ctx(), store, zones, dnsplan.Regional)
		if err != nil {
			t.Fatal(err)
		}
		return st.Generation
	}
	before := gen()
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if g := gen(); g != before {
		t.Fatalf("under route53/api-error the regional endpoint moved from generation %d to %d", before, g)
	}
	if err := st.DisableFailpoint("route53/api-error"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if g := gen(); g == before {
		t.Fatalf("after route53/api-error the regional endpoint stayed at generation %d", g)
	}
	if code := st.DynamoDBGetItem(); code != "" {
		t.Fatalf("GetItem after the DNS failpoints: %q", code)
	}
}

// With the automation disabled, an emptied endpoint stays empty (nothing
// repairs it) until the operators restore it; enabled again, the Enactors
// run.
func TestEmptyEndpointWithAutomationDisabled(t *testing.T) {
	st := newStack(t, 15)
	st.DisableDNSAutomation()
	for !st.DNSAutomationIdle() {
		st.RunUntil(st.Now().Add(time.Second))
	}
	if err := st.EmptyEndpoint("regional"); err != nil {
		t.Fatal(err)
	}
	if err := st.EmptyEndpoint("bogus"); err == nil {
		t.Fatal("unknown endpoint accepted")
	}
	runs := st.race.res.Runs["dnsenactor-b"]
	st.RunUntil(st.Now().Add(time.Hour))
	if !st.RegionalEmpty() || st.race.res.Runs["dnsenactor-b"] != runs {
		t.Fatalf("disabled automation: empty %v, runs %d -> %d", st.RegionalEmpty(), runs, st.race.res.Runs["dnsenactor-b"])
	}
	if err := st.RestoreDNS(); err != nil {
		t.Fatal(err)
	}
	st.EnableDNSAutomation()
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if st.RegionalEmpty() || st.race.res.Runs["dnsenactor-b"] == runs {
		t.Fatal("restored and enabled: the endpoint is empty or the Enactors did not run")
	}
}

// The toxics of harness/faults have sim counterparts on the same link
// names: a timeout toxic on every load balancer makes DynamoDB's clients
// time out, a disabled proxy refuses them, a latency toxic delays the
// replies of a catalogue link; each undo restores the link.
func TestToxicsOnLinkNames(t *testing.T) {
	st := newStack(t, 16)
	var undos []func()
	for _, lb := range LBs {
		undo, err := st.Toxic(lb.Name, "timeout", "", map[string]any{"timeout": int64(0)})
		if err != nil {
			t.Fatal(err)
		}
		undos = append(undos, undo)
	}
	if code := st.DynamoDBGetItem(); code != "timeout" {
		t.Fatalf("GetItem through held load balancers: %q", code)
	}
	for _, u := range undos {
		u()
	}
	undos = undos[:0]
	for _, lb := range LBs {
		undo, err := st.LinkDown(lb.Name)
		if err != nil {
			t.Fatal(err)
		}
		undos = append(undos, undo)
	}
	if code := st.DynamoDBGetItem(); code != "connection-refused" {
		t.Fatalf("GetItem through disabled load balancers: %q", code)
	}
	for _, u := range undos {
		u()
	}
	if code := st.DynamoDBGetItem(); code != "" {
		t.Fatalf("GetItem after the undos: %q", code)
	}
	link := catalogue.LinkName("dnsenactor-a", catalogue.Route53)
	undo, err := st.Toxic(link, "latency", "", map[string]any{"latency": int64(90_000), "jitter": int64(0)})
	if err != nil {
		t.Fatal(err)
	}
	if l := st.net.Link(Route53Node, "dnsenactor-a"); l.Latency != baseLatency+90*time.Second {
		t.Fatalf("replies to dnsenactor-a: latency %v", l.Latency)
	}
	undo()
	if l := st.net.Link(Route53Node, "dnsenactor-a"); l.Latency != baseLatency {
		t.Fatalf("after the undo: latency %v", l.Latency)
	}
	if _, err := st.Toxic(link, "corrupt", "", nil); err == nil || !strings.Contains(err.Error(), "limit_data") {
		t.Fatalf("an unknown toxic: %v, want an error naming the valid ones", err)
	}
	if _, err := st.Toxic("nowhere", "latency", "", nil); err == nil {
		t.Fatal("unknown link accepted")
	}
}

// A client call from outside the run that a paused failpoint holds is
// given up after an hour of incident time (a timeout), not a hang.
func TestHeldCallFromOutsideTimesOut(t *testing.T) {
	st := newStack(t, 17)
	if err := st.EnableFailpoint("ec2/run-instances", "pause"); err != nil {
		t.Fatal(err)
	}
	start := st.Now()
	if _, code := st.RunInstances(1); code != "timeout" {
		t.Fatalf("held RunInstances: %q", code)
	}
	if d := st.Now().Sub(start); d != outsideCallLimit {
		t.Fatalf("gave up after %v", d)
	}
	if st.FailpointWaiting("ec2/run-instances") != 1 {
		t.Fatal("the call is not held")
	}
}

// The operators' EC2 throttle refuses launches beyond its rate with
// RequestLimitExceeded, as the real EC2's does.
func TestThrottleEC2(t *testing.T) {
	st := newStack(t, 18)
	st.ThrottleEC2(1)
	codes := map[string]int{}
	for range 5 {
		_, code := st.RunInstances(1)
		codes[code]++
	}
	if codes[""] == 0 || codes["RequestLimitExceeded"] == 0 {
		t.Fatalf("five launches at once under 1/min: %v", codes)
	}
	st.ThrottleEC2(0)
	if _, code := st.RunInstances(1); code != "" {
		t.Fatalf("after the throttle: %q", code)
	}
}

// A DWFM host makes at most OpConcurrency DynamoDB calls at once, as
// dwfm.Server's performers do: with its <name>/ddb failpoint paused (a
// performer's call holds there), half an hour of checks and re-leases
// holds OpConcurrency calls and queues the rest behind them; released, the
// queued ones are made and the host holds every lease again.
func TestDWFMCallsBoundedByOpConcurrency(t *testing.T) {
	st := newStack(t, 11)
	h := st.dwfm["dwfm-a"]
	limit := h.cfg.OpConcurrency
	if err := st.EnableFailpoint("dwfm-a/ddb", "pause"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if held := st.FailpointWaiting("dwfm-a/ddb"); held != limit {
		t.Fatalf("calls held at the paused failpoint: %d, want OpConcurrency %d", held, limit)
	}
	if len(h.waiting) == 0 {
		t.Fatal("no op waiting for a performer after 30 min of checks with every performer held")
	}
	if err := st.DisableFailpoint("dwfm-a/ddb"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(time.Hour))
	// the host's ordinary checks go on: an hour after the release, one may
	// be in flight at the instant looked at; within a minute of virtual time
	// (seconds apart) the host is seen with nothing in flight or waiting
	idle := false
	for i := 0; i < 60 && !idle; i++ {
		idle = h.inflight == 0 && len(h.waiting) == 0
		if !idle {
			st.RunUntil(st.Now().Add(time.Second))
		}
	}
	s, _ := st.DWFMState("dwfm-a")
	if !idle || s.LeasesHeld != s.Droplets {
		t.Fatalf("an hour after the release: %d calls in flight, %d waiting, %d of %d leases held",
			h.inflight, len(h.waiting), s.LeasesHeld, s.Droplets)
	}
}
