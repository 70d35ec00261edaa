package cascadetest

import (
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/experiments/use1-2025-10"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// night is a synthetic Result: the record empty 23:48-02:25, the user's
// component sampled every minute from 23:00 to 03:30, failing where fail
// says.
func night(fail func(t time.Time) bool) *Result {
	start, end := IncidentTime(23, 0), IncidentTime(3, 30)
	restored := IncidentTime(2, 25)
	snap := &timeline.Snapshot{Start: start, End: end}
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		snap.Samples = append(snap.Samples, timeline.Sample{Time: t, Probe: "svc-get", OK: !fail(t), Code: map[bool]string{true: "http-503"}[fail(t)]})
	}
	return &Result{Start: start, End: end, DNSRestored: restored, Timeline: snap,
		RecordEmpty: []timeline.RecordSpan{{State: timeline.RecordEmpty, Start: IncidentTime(23, 48), End: restored}},
		Components:  map[string][]string{"svc": {"svc-get"}}}
}

func between(a, b time.Time) func(time.Time) bool {
	return func(t time.Time) bool { return !t.Before(a) && t.Before(b) }
}

func TestStayHealthyWhileEmpty(t *testing.T) {
	never := func(time.Time) bool { return false }
	m := StayHealthyWhileEmpty("svc")
	if ok, err := m.Match(night(never)); err != nil || !ok {
		t.Fatalf("a service that never failed: ok %v err %v: %s", ok, err, m.FailureMessage(nil))
	}
	// failing through the empty record (no fallback): must fail, and say where
	res := night(between(IncidentTime(0, 10), IncidentTime(2, 25)))
	ok, err := m.Match(res)
	if err != nil || ok {
		t.Fatalf("a service that failed while empty passed (err %v)", err)
	}
	msg := m.FailureMessage(res)
	for _, want := range []string{"failed 135 of 157", "mostly http-503", "record empty 23:48-02:25 PDT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	// two failures in 157 samples are 1.3 %: over the default budget, under 2 %
	two := night(func(t time.Time) bool { return t.Equal(IncidentTime(1, 0)) || t.Equal(IncidentTime(1, 1)) })
	if ok, _ := m.Match(two); ok {
		t.Error("1.3 % failures passed a 1 % budget")
	}
	if ok, _ := StayHealthyWhileEmpty("svc", ErrorRateBelow(0.02)).Match(two); !ok {
		t.Error("1.3 % failures failed a 2 % budget")
	}
	// failures outside the empty record do not count
	if ok, _ := m.Match(night(between(IncidentTime(2, 30), IncidentTime(3, 0)))); !ok {
		t.Error("failures after the restore counted as failures while empty")
	}
}

func TestStayHealthyWhileEmptyFailsWithoutEvidence(t *testing.T) {
	res := night(func(time.Time) bool { return false })
	res.RecordEmpty = nil
	m := StayHealthyWhileEmpty("svc")
	if ok, _ := m.Match(res); ok || !strings.Contains(m.FailureMessage(res), "never empty") {
		t.Errorf("a replay without an empty record passed: %s", m.FailureMessage(res))
	}
	if ok, _ := m.Match(night(func(time.Time) bool { return false })); !ok {
		t.Fatal("control failed")
	}
	unknown := StayHealthyWhileEmpty("nope")
	if ok, _ := unknown.Match(night(func(time.Time) bool { return false })); ok ||
		!strings.Contains(unknown.FailureMessage(nil), "components are [svc]") {
		t.Errorf("an unknown component passed or its message names no valid one: %s", unknown.FailureMessage(nil))
	}
	if _, err := m.Match("not a result"); err == nil {
		t.Error("a string was accepted as a Result")
	}
}

func TestRecoverWithin(t *testing.T) {
	// failing until 02:45, 20 min after the restore
	res := night(between(IncidentTime(0, 10), IncidentTime(2, 45)))
	if ok, _ := RecoverWithin("svc", 30*time.Minute).Match(res); !ok {
		t.Error("recovered 20 min after the restore failed a 30 min bound")
	}
	m := RecoverWithin("svc", 10*time.Minute)
	if ok, _ := m.Match(res); ok {
		t.Error("recovered 20 min after the restore passed a 10 min bound")
	}
	if msg := m.FailureMessage(res); !strings.Contains(msg, "back below 1.0% from 02:45, 20m0s after the restore") {
		t.Errorf("failure message does not say when it recovered:\n%s", msg)
	}
	// never recovers
	never := night(between(IncidentTime(0, 10), IncidentTime(4, 0)))
	m = RecoverWithin("svc", 30*time.Minute)
	if ok, _ := m.Match(never); ok || !strings.Contains(m.FailureMessage(never), "never got back") {
		t.Errorf("a service that never recovered passed: %s", m.FailureMessage(never))
	}
	// no restore in the replay
	res.DNSRestored = time.Time{}
	if ok, _ := m.Match(res); ok || !strings.Contains(m.FailureMessage(res), "did not restore") {
		t.Errorf("a replay without a restore passed: %s", m.FailureMessage(res))
	}
}

// TestRestoredAtIsWhenTheRecordResolvesAgain: the restore's moment is the
// first resolving sample after the operators began, not the action's start
// (its Route53 changes take incident minutes) nor a resolving sample before
// the record emptied.
func TestRestoredAtIsWhenTheRecordResolvesAgain(t *testing.T) {
	snap := &timeline.Snapshot{Start: IncidentTime(23, 0), End: IncidentTime(3, 30)}
	resolve := func(at time.Time, ok bool) timeline.Sample {
		s := timeline.Sample{Time: at, Probe: timeline.ProbeDNSResolve, OK: ok}
		if !ok {
			s.Code = timeline.CodeNoSuchHost
		}
		return s
	}
	snap.Samples = []timeline.Sample{resolve(IncidentTime(23, 0), true), resolve(IncidentTime(23, 50), false),
		resolve(IncidentTime(2, 30), false), resolve(IncidentTime(2, 44), true), resolve(IncidentTime(3, 0), true)}
	if got := restoredAt(snap); !got.IsZero() {
		t.Errorf("no restore action, restored at %s", got)
	}
	snap.Faults = []timeline.Fault{{Kind: "operator", Name: "restore-dns", Operator: true, Start: IncidentTime(2, 25), End: IncidentTime(2, 25)}}
	if got := restoredAt(snap); !got.Equal(IncidentTime(2, 44)) {
		t.Errorf("restored at %s, want 02:44 (the first resolving sample after the action)", clock(got))
	}
}

// TestThroughDNSRestoreEndsAfterTheRecordResolves: the replay's end follows
// the record resolving again after the operators acted, not the action
// alone (its changes take minutes) nor a resolving record before it.
func TestThroughDNSRestoreEndsAfterTheRecordResolves(t *testing.T) {
	var o replayOptions
	if err := ThroughDNSRestore(30 * time.Minute)(&o); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	watch := progressWatch(o, done)
	closed := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	step := func(hh, mm int, phase, ddb string) {
		watch(use1.Progress{Now: IncidentTime(hh, mm), Phase: phase, Services: map[string]string{use1.CompDynamoDB: ddb}})
	}
	step(23, 30, "steady-state", "ok")
	step(23, 45, use1.PhaseFailoverOff, "ok") // a later phase, but the record never emptied yet
	step(1, 0, use1.PhaseUnresolvable, "EMPTY")
	step(2, 25, use1.PhaseDNSRestored, "EMPTY")       // acted, the change not landed
	step(2, 30, use1.PhaseDNSRestored, "err:timeout") // a slow answer is no restore
	step(2, 35, use1.PhaseDNSRestored, "EMPTY")
	if closed() {
		t.Fatal("ended before the record resolved")
	}
	step(2, 40, use1.PhaseDNSRestored, "ok") // resolves: 30 min from here
	step(3, 9, use1.PhaseThrottle, "ok")
	if closed() {
		t.Fatal("ended 29 min after the record resolved")
	}
	step(3, 10, use1.PhaseThrottle, "ok")
	if !closed() {
		t.Fatal("not ended 30 min after the record resolved")
	}
	step(3, 11, use1.PhaseThrottle, "ok") // a second close would panic
}
