package sim

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/mocks/dwfm"
)

// nightStart is 23:00 PDT on 19 Oct 2025, the replay's start.
var nightStart = time.Date(2025, 10, 20, 6, 0, 0, 0, time.UTC)

// night runs the whole night (23:00 -> 14:30 PDT): a steady fleet behind
// the NLB, the race's end state at 23:48, DNS restored at 2:25, the
// runbook at 4:14 (throttle, restart), a launch and a DynamoDB probe every
// minute, one more NLB target every 12 minutes; it returns the run's
// summary line.
func night(tb testing.TB, seed int64, trace io.Writer) string {
	tb.Helper()
	st, err := NewStack(StackConfig{Seed: seed, Start: nightStart, Trace: trace})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	for range 18 { // the replay's steady fleet, six per AZ
		ins, code := st.RunInstances(1)
		if code == "" {
			_ = st.RegisterTargets(ins...)
		}
	}
	ok, failed, minute := 0, 0, 0
	st.Every(time.Minute, func() {
		if st.DynamoDBGetItem() == "" {
			ok++
		} else {
			failed++
		}
		// a launch probe every minute; the fleet grows by one target
		// every 12 minutes (the replay's DemandEvery)
		minute++
		if ins, code := st.RunInstances(1); code == "" && minute%12 == 0 {
			_ = st.RegisterTargets(ins...)
		}
	})
	st.At(nightStart.Add(48*time.Minute), func() { _ = st.DeletePlan() })
	st.At(nightStart.Add(3*time.Hour+25*time.Minute), func() { _ = st.RestoreDNS() })
	st.At(nightStart.Add(5*time.Hour+14*time.Minute), func() {
		st.ThrottleDWFM(dwfm.OperatorThrottlePerMinute)
		for _, h := range st.DWFMHosts() {
			_ = st.RestartDWFM(h)
		}
	})
	st.RunUntil(nightStart.Add(15*time.Hour + 30*time.Minute))
	held, n := 0, 0
	for _, h := range st.DWFMHosts() {
		s, _ := st.DWFMState(h)
		held, n = held+s.LeasesHeld, n+s.Droplets
	}
	nl := st.NLBState()
	return fmt.Sprintf("ddb ok %d failed %d leases %d/%d netmgr admitted %d nlb flaps %d removals %d events %d",
		ok, failed, held, n, st.NetMgrState().Admitted, nl.Flaps, nl.Removals, st.s.Events())
}

// The same seed gives the same whole night, byte for byte: its trace (every
// core's events, stamped with incident time) and its summary.
func TestSameSeedSameNight(t *testing.T) {
	var a, b bytes.Buffer
	sa, sb := night(t, 11, &a), night(t, 11, &b)
	if sa != sb || !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() == 0 {
		t.Fatalf("same seed, different nights:\n%s\n%s\n(%d and %d trace bytes)", sa, sb, a.Len(), b.Len())
	}
	t.Log(sa)
}

// BenchmarkStackReplay is the whole night (23:00 -> 14:30) with the race's
// end state and the restore, untraced.
func BenchmarkStackReplay(b *testing.B) {
	for i := range b.N {
		night(b, int64(i), nil)
	}
}
