package sim

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func newStack(t testing.TB, seed int64, fixes ...string) *Stack {
	t.Helper()
	st, err := NewStack(StackConfig{Seed: seed, Fixes: fixes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func leases(t testing.TB, st *Stack) (held, droplets int) {
	t.Helper()
	for _, h := range st.DWFMHosts() {
		s, err := st.DWFMState(h)
		if err != nil {
			t.Fatal(err)
		}
		held += s.LeasesHeld
		droplets += s.Droplets
	}
	return held, droplets
}

func TestStackBuiltFromCatalogue(t *testing.T) {
	st := newStack(t, 1)
	plan, err := catalogue.NewPlan(func(k string) bool { return slices.Contains(SimKinds, k) }, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.plan.Instances) != len(plan.Instances) {
		t.Fatalf("stack has %d instances, the catalogue's plan %d", len(st.plan.Instances), len(plan.Instances))
	}
	for _, k := range SimKinds {
		if catalogue.Lookup(k) == nil {
			t.Fatalf("sim kind %q is not in the catalogue", k)
		}
	}
	if want := catalogue.Lookup(catalogue.DWFM).Instances(); !slices.Equal(st.DWFMHosts(), want) {
		t.Fatalf("DWFM hosts %v: want the catalogue's %v", st.DWFMHosts(), want)
	}
	if _, err := NewStack(StackConfig{Seed: 1, Fixes: []string{"bogus"}}); err == nil {
		t.Fatal("unknown fix accepted")
	}
	if st.RegionalEmpty() {
		t.Fatal("regional endpoint empty after start")
	}
	if code := st.DynamoDBGetItem(); code != "" {
		t.Fatalf("GetItem: %q", code)
	}
	st.RunUntil(st.Now().Add(2 * time.Hour))
	if held, n := leases(t, st); held != n {
		t.Fatalf("steady state: %d of %d leases held", held, n)
	}
}

// An emptied regional record costs DWFM its leases through the mechanism:
// its pooled connections age out, new ones find no address, the state
// checks fail and the leases run out. No flag tells DWFM of an incident.
func TestEmptiedRecordLosesLeases(t *testing.T) {
	st := newStack(t, 2)
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if err := st.DeletePlan(); err != nil {
		t.Fatal(err)
	}
	if !st.RegionalEmpty() {
		t.Fatal("record not empty after the plan's deletion")
	}
	if code := st.DynamoDBGetItem(); code != "no-such-host" {
		t.Fatalf("GetItem with the record empty: %q, want no-such-host", code)
	}
	st.RunUntil(st.Now().Add(2 * time.Hour))
	held, n := leases(t, st)
	if held > n/10 {
		t.Fatalf("2h after the record emptied %d of %d leases held: want them lost", held, n)
	}
	s, _ := st.DWFMState("dwfm-a")
	if s.ChecksFailed == 0 {
		t.Fatal("no state check failed")
	}
	if st.dwfm["dwfm-a"].opFailed["no-such-host"] == 0 {
		t.Fatalf("DWFM's calls failed with %v: want no-such-host", st.dwfm["dwfm-a"].opFailed)
	}
	// EC2's placement needs a leased droplet: with the leases gone, none
	if held != 0 {
		t.Fatalf("%d leases still held 2h after the record emptied", held)
	}
	if _, code := st.RunInstances(1); code != "InsufficientInstanceCapacity" {
		t.Fatalf("RunInstances with no lease held: %q, want InsufficientInstanceCapacity", code)
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	run := func() []byte {
		var buf bytes.Buffer
		st, err := NewStack(StackConfig{Seed: 7, Start: kit.IncidentStart, Trace: &buf})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		st.RunUntil(st.Now().Add(time.Hour))
		_ = st.DeletePlan()
		st.RunUntil(st.Now().Add(3 * time.Hour))
		_ = st.RestoreDNS()
		st.RunUntil(st.Now().Add(time.Hour))
		return buf.Bytes()
	}
	a, b := run(), run()
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("traces differ or are empty (%d, %d bytes)", len(a), len(b))
	}
}

// OnEvent sees every core's events in the run's thread, stamped with
// incident time: the Enactors' runs, and DWFM's leases running out after
// the record emptied.
func TestOnEventSeesCoreEvents(t *testing.T) {
	st := newStack(t, 8)
	kinds := map[string]int{}
	var last time.Time
	st.OnEvent(func(ev kit.Event) {
		kinds[ev.Service+"/"+ev.Kind]++
		if ev.Time.Before(last) || !ev.Time.Equal(st.Now()) {
			t.Errorf("event %s/%s at %v, run at %v (previous %v)", ev.Service, ev.Kind, ev.Time, st.Now(), last)
		}
		last = ev.Time
	})
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if kinds["dnsenactor-a/run-started"] == 0 {
		t.Fatalf("no Enactor run seen: %v", kinds)
	}
	if err := st.DeletePlan(); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(2 * time.Hour))
	if kinds["dwfm-a/lease-expired"] == 0 || kinds["sim/regional-empty"] == 0 {
		t.Fatalf("no lease expiry or empty record seen: %v", kinds)
	}
}

// A launch wakes EC2's hand-off loop (ec2.Server's wake channel): the new
// instance reaches Network Manager within seconds, not at the loop's next
// HandoffRetry tick (59 s away here), and EC2 then counts it propagated.
func TestLaunchHandsOffAtOnce(t *testing.T) {
	st := newStack(t, 3)
	start := st.Now()
	st.RunUntil(start.Add(10*time.Minute + time.Second)) // just after a tick
	before := st.NetMgrState().Instances
	ins, code := st.RunInstances(1)
	if code != "" || len(ins) != 1 {
		t.Fatalf("RunInstances: %q, %d instances", code, len(ins))
	}
	st.RunUntil(st.Now().Add(10 * time.Second))
	if got := st.NetMgrState().Instances; got != before+1 {
		t.Fatalf("10 s after the launch Network Manager knows %d instances, want %d: the hand-off waited for the tick", got, before+1)
	}
	st.RunUntil(start.Add(12 * time.Minute)) // a netmgr tick, then an EC2 poll
	if !st.Connected(ins[0].ID) {
		t.Fatal("instance not propagated 2 min after its hand-off")
	}
	if ec := st.EC2State(); ec.Propagated != ec.Instances {
		t.Fatalf("EC2 state %+v: every instance should be seen propagated", ec)
	}
}

// EC2's hand-off round makes one call to Network Manager per instance, one
// after the other, as ec2.Server.exchange does: with 10 s on the link
// from EC2 to Network Manager, three instances launched together reach it
// one round trip apart, not together in one call.
func TestHandOffRoundCallsOneByOne(t *testing.T) {
	st := newStack(t, 3)
	st.RunUntil(st.Now().Add(10*time.Minute + time.Second))
	if err := st.Latency(EC2Node, NetMgrNode, 10*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	before := st.NetMgrState().Instances
	ins, code := st.RunInstances(3)
	if code != "" || len(ins) != 3 {
		t.Fatalf("RunInstances: %q, %d instances", code, len(ins))
	}
	st.RunUntil(st.Now().Add(15 * time.Second))
	if got := st.NetMgrState().Instances - before; got != 1 {
		t.Fatalf("15 s after the launch Network Manager knows %d of the 3 instances, want 1: one call per instance", got)
	}
	st.RunUntil(st.Now().Add(20 * time.Second))
	if got := st.NetMgrState().Instances - before; got != 3 {
		t.Fatalf("35 s after the launch Network Manager knows %d of the 3 instances, want 3", got)
	}
}
