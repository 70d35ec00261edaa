package sim

import (
	"bytes"
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
	var names []string
	for _, in := range st.plan.Instances {
		names = append(names, in.Name)
	}
	want := len(catalogue.Services) - 4 + 4*len(catalogue.AZs) // dnsenactor, dwfm per AZ... counted below
	_ = want
	if len(st.hosts) != len(catalogue.AZs) {
		t.Fatalf("DWFM hosts %v: want one per AZ from the catalogue (%v)", st.hosts, names)
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
