package use1

import (
	"math/rand"
	"slices"
	"testing"
	"time"
)

// runOperator steps a fresh operator every minute over [from, to), showing
// it obs(t), and returns its decisions.
func runOperator(seed int64, from, to time.Time, obs func(time.Time) Observation) []Decision {
	op := NewOperator(Runbook(), rand.New(rand.NewSource(seed)))
	var out []Decision
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		out = append(out, op.Step(t, obs(t))...)
	}
	return out
}

func find(ds []Decision, action string) (Decision, bool) {
	for _, d := range ds {
		if d.Action == action {
			return d, true
		}
	}
	return Decision{}, false
}

// emptyFrom is a night whose record empties at t0 and stays empty.
func emptyFrom(t0 time.Time) func(time.Time) Observation {
	return func(t time.Time) Observation {
		return Observation{DNSEmpty: !t.Before(t0), DynamoDBOK: t.Before(t0), LeasesOK: true, NetMgrDrained: true}
	}
}

// The restore follows the signal, not a clock: move the empty record and
// the action moves with it, by the sustain plus a delay within the spread.
func TestOperatorActsOnSignalsNotClockTimes(t *testing.T) {
	rule := Runbook()[0]
	lo := rule.Sustain + time.Duration((1-DelaySpread)*float64(rule.Delay)) - time.Minute
	hi := rule.Sustain + time.Duration((1+DelaySpread)*float64(rule.Delay)) + time.Minute
	for _, t0 := range []time.Time{RecordEmptied, RecordEmptied.Add(3 * time.Hour)} {
		d, ok := find(runOperator(1, ReplayStart, ReplayEnd, emptyFrom(t0)), "restore-dns")
		if !ok || !d.Taken {
			t.Fatalf("record empty from %s: no restore-dns", clockPDT(t0))
		}
		if took := d.FiredAt.Sub(t0); took < lo || took > hi {
			t.Errorf("record empty from %s: restore %s later, want %s to %s", clockPDT(t0), took, lo, hi)
		}
		if w := d.FiredAt.Sub(d.Confirmed); !d.SeenAt.Equal(t0) || d.Confirmed.Sub(d.SeenAt) != rule.Sustain || w < d.Delay || w >= d.Delay+time.Minute {
			t.Errorf("record %+v: want seen at %s, confirmed after %s, fired after its delay", d, clockPDT(t0), rule.Sustain)
		}
	}
}

// A mitigation that removes the symptom removes the action: a record that
// never empties is never restored, and nothing else is done either.
func TestOperatorDoesNothingWithoutASymptom(t *testing.T) {
	calm := func(time.Time) Observation { return Observation{DynamoDBOK: true, LeasesOK: true, NetMgrDrained: true} }
	if ds := runOperator(1, ReplayStart, ReplayEnd, calm); len(ds) != 0 {
		t.Fatalf("a calm night provoked %v", ds)
	}
	// a brief empty answer, shorter than the sustain, is not acted on
	blip := func(t time.Time) Observation {
		o := calm(t)
		o.DNSEmpty = !t.Before(RecordEmptied) && t.Before(RecordEmptied.Add(5*time.Minute))
		return o
	}
	if ds := runOperator(1, ReplayStart, ReplayEnd, blip); len(ds) != 0 {
		t.Fatalf("a 5 min blip provoked %v", ds)
	}
	// a signal that clears while the operators are deciding: recorded, not taken
	cleared := func(t time.Time) Observation {
		o := calm(t)
		o.DNSEmpty = !t.Before(RecordEmptied) && t.Before(RecordEmptied.Add(time.Hour))
		return o
	}
	d, ok := find(runOperator(1, ReplayStart, ReplayEnd, cleared), "restore-dns")
	if !ok || d.Taken {
		t.Fatalf("signal gone before the delay was over: %+v (found %v), want recorded and not taken", d, ok)
	}
}

// The delays come from the seed: the same seed gives the same night, another
// seed another delay.
func TestOperatorDelaysComeFromTheSeed(t *testing.T) {
	a, _ := find(runOperator(1, ReplayStart, ReplayEnd, emptyFrom(RecordEmptied)), "restore-dns")
	b, _ := find(runOperator(1, ReplayStart, ReplayEnd, emptyFrom(RecordEmptied)), "restore-dns")
	c, _ := find(runOperator(2, ReplayStart, ReplayEnd, emptyFrom(RecordEmptied)), "restore-dns")
	if a != b {
		t.Fatalf("same seed, different decisions: %v vs %v", a, b)
	}
	if a.Delay == c.Delay {
		t.Fatalf("seeds 1 and 2 drew the same delay %s", a.Delay)
	}
}

// The whole runbook on the real night's signals lands near the real times
// (what the delays are fitted to).
func TestRunbookOnTheRealNightsSignals(t *testing.T) {
	in := func(t, a, b time.Time) bool { return !t.Before(a) && t.Before(b) }
	var op *Operator
	obs := func(t time.Time) Observation {
		o := Observation{
			DNSEmpty:   in(t, RecordEmptied, DNSRestoredByHand),
			DynamoDBOK: !in(t, RecordEmptied, DynamoDBRecovered),
			LeasesOK:   !in(t, RecordEmptied.Add(40*time.Minute), AllLeasesBack),
			// the restarts' re-lease writes fill Network Manager's queue
			NetMgrDrained: !in(t, DWFMThrottleRestart, NetMgrBackToNormal),
			NLBFailing:    in(t, NLBFailuresDetected, at(20, 13, 50)) && !(op != nil && op.State.FailoverDisabled && t.After(at(20, 13, 20))),
		}
		if in(t, RecordEmptied.Add(40*time.Minute), DWFMThrottleRestart.Add(20*time.Minute)) {
			o.DWFMLow = []string{"dwfm-a"}
		}
		return o
	}
	op = NewOperator(Runbook(), rand.New(rand.NewSource(1)))
	var ds []Decision
	for t := ReplayStart; t.Before(ReplayEnd); t = t.Add(time.Minute) {
		ds = append(ds, op.Step(t, obs(t))...)
	}
	for action, real := range map[string]time.Time{
		"restore-dns": DNSRestoredByHand, "throttle-and-restart-dwfm": DWFMThrottleRestart, "disable-nlb-failover": NLBFailoverDisabled,
		"relax-throttles": EC2ThrottlesRelaxed,
	} {
		d, ok := find(ds, action)
		if !ok || !d.Taken {
			t.Errorf("%s not taken", action)
			continue
		}
		if off := d.FiredAt.Sub(real).Abs(); off > 40*time.Minute {
			t.Errorf("%s at %s, real %s: off by %s", action, clockPDT(d.FiredAt), clockPDT(real), off)
		}
	}
}

func TestDWFMDashboard(t *testing.T) {
	low, stuck, ok := DWFMDashboard(map[string]dwfmState{
		"dwfm-a": {Droplets: 40, LeasesHeld: 40},
		"dwfm-b": {Droplets: 40, LeasesHeld: 10, Goodput: 0.6, QueueDepth: 30}, // low, re-leasing
		"dwfm-c": {Droplets: 40, LeasesHeld: 25, Goodput: 0.1, QueueDepth: 12}, // stuck
	}, 3)
	if !slices.Equal(low, []string{"dwfm-b"}) || !slices.Equal(stuck, []string{"dwfm-c"}) || ok {
		t.Fatalf("low %v stuck %v leases ok %v", low, stuck, ok)
	}
	if _, _, ok := DWFMDashboard(map[string]dwfmState{"dwfm-a": {Droplets: 40, LeasesHeld: 40}}, 3); ok {
		t.Fatal("two hosts unreadable, yet every lease held")
	}
}
