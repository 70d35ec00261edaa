package use1

import (
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/stall"
	"github.com/cascade-lab/cascade/harness/timeline"
)

func TestNormalizeNamesValidChoices(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Variant: "maybe"}, "valid variants are aswas, fixed"},
		{Config{Fixes: []string{"magic"}}, "valid fixes are enactor-cas, dwfm-admission, netmgr-throttle, nlb-velocity (announced); route53-cname-guard, nlb-propagation-gate, lambda-lease-expiry, sts-stale-cache, ecs-keep-capacity (not announced)"},
		{Config{Speed: -1}, "speed"},
	} {
		err := c.cfg.Normalize()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to say %q", c.cfg, err, c.want)
		}
	}
	cfg := Config{Fixes: []string{"nlb-velocity", "dwfm-admission"}}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if cfg.Label() != "aswas+dwfm-admission+nlb-velocity" || cfg.Speed != DefaultSpeed || cfg.Calibration == nil {
		t.Fatalf("normalized %+v label %q", cfg, cfg.Label())
	}
	if (Config{Variant: "fixed"}).Label() != "fixed" {
		t.Fatal("fixed label")
	}
}

// marksAt builds present marks at the real times shifted by d each.
func realMarks(shift map[string]time.Duration) []PhaseMark {
	var out []PhaseMark
	real := map[string]time.Time{
		PhaseTrigger: RecordEmptied, PhaseUnresolvable: RecordEmptied.Add(time.Minute), PhaseLeaseLoss: RecordEmptied.Add(40 * time.Minute),
		PhaseDWFMRecovery: AllLeasesBack, PhaseNLBImpact: NLBImpactBegins, PhaseBacklog: NetMgrLatencyRises,
		PhaseFullRecovery: EventOver,
	}
	for _, g := range expectedOrder {
		for _, n := range g {
			out = append(out, PhaseMark{Name: n, At: real[n].Add(shift[n]), Present: true, Real: real[n]})
		}
	}
	return out
}

func TestCheckOrder(t *testing.T) {
	if ok, why := CheckOrder(realMarks(nil)); !ok {
		t.Fatalf("the real timeline is out of order: %s", why)
	}
	// NLB impact and the backlog may come in either order.
	if ok, why := CheckOrder(realMarks(map[string]time.Duration{PhaseNLBImpact: 2 * time.Hour})); !ok {
		t.Fatalf("swapped group members rejected: %s", why)
	}
	ok, why := CheckOrder(realMarks(map[string]time.Duration{PhaseNLBImpact: -6 * time.Hour}))
	if ok || !strings.Contains(why, "out of order") {
		t.Fatalf("NLB impact before the leases went accepted: %v %s", ok, why)
	}
	ms := realMarks(nil)
	ms[2].Present, ms[2].At = false, time.Time{}
	ok, why = CheckOrder(ms)
	if ok || !strings.Contains(why, "missing: "+ms[2].Name) {
		t.Fatalf("missing phase accepted: %v %s", ok, why)
	}
}

func TestSameOutcome(t *testing.T) {
	nlb := func(start, end time.Time) timeline.Phase {
		return timeline.Phase{Component: CompNLB, Samples: 10, ImpactStart: start, FirstSymptom: start, ImpactEnd: end, Recovered: true,
			Windows: []timeline.Window{{Start: start, End: end}}}
	}
	mk := func(order ...string) *Result {
		return &Result{Passed: true, PhaseOrder: order, Hypotheses: []Hypothesis{{ID: "h", Name: "h", Phase: "p", Passed: true}},
			Components: []timeline.Phase{nlb(NLBImpactBegins, NLBFailoverReenabled)}}
	}
	a := mk(PhaseTrigger, PhaseLeaseLoss, PhaseDWFMRecovery, PhaseNLBImpact, PhaseFullRecovery)
	// Within the onset group after the restarts the order is free.
	if ok, why := SameOutcome(a, mk(PhaseTrigger, PhaseLeaseLoss, PhaseNLBImpact, PhaseDWFMRecovery, PhaseFullRecovery)); !ok {
		t.Fatalf("swapped group members differ: %s", why)
	}
	if ok, _ := SameOutcome(a, mk(PhaseTrigger, PhaseDWFMRecovery, PhaseNLBImpact, PhaseLeaseLoss, PhaseFullRecovery)); ok {
		t.Fatal("groups in another order accepted")
	}
	if ok, _ := SameOutcome(a, mk(PhaseTrigger, PhaseLeaseLoss, PhaseDWFMRecovery, PhaseFullRecovery)); ok {
		t.Fatal("a missing phase accepted")
	}
	b := mk(PhaseTrigger, PhaseLeaseLoss, PhaseDWFMRecovery, PhaseNLBImpact, PhaseFullRecovery)
	b.Hypotheses[0].Passed, b.Passed = false, false
	if ok, why := SameOutcome(a, b); ok || !strings.Contains(why, "verdict") || !strings.Contains(why, `hypothesis "h"`) {
		t.Fatalf("different verdicts: %v %s", ok, why)
	}
	// Same verdicts and order, but the NLB impact 5 h instead of 8 h 39 min:
	// not the same outcome. Within the tolerance it is.
	c := mk(PhaseTrigger, PhaseLeaseLoss, PhaseDWFMRecovery, PhaseNLBImpact, PhaseFullRecovery)
	c.Components = []timeline.Phase{nlb(NLBImpactBegins, NLBImpactBegins.Add(5*time.Hour))}
	if ok, why := SameOutcome(a, c); ok || !strings.Contains(why, "nlb ends") {
		t.Fatalf("NLB impact 5 h vs 8 h 39 min accepted: %v %s", ok, why)
	}
	c.Components = []timeline.Phase{nlb(NLBImpactBegins.Add(DeterminismTolerance-time.Minute), NLBFailoverReenabled.Add(-DeterminismTolerance+time.Minute))}
	if ok, why := SameOutcome(a, c); ok {
		t.Fatalf("a duration %s shorter accepted: %s", 2*(DeterminismTolerance-time.Minute), why)
	}
	c.Components = []timeline.Phase{nlb(NLBImpactBegins.Add(10*time.Minute), NLBFailoverReenabled.Add(20*time.Minute))}
	if ok, why := SameOutcome(a, c); !ok {
		t.Fatalf("boundaries 10 and 20 min apart rejected: %s", why)
	}
}

func TestCheckOrderPresent(t *testing.T) {
	ms := realMarks(nil)
	ms[2].Present, ms[2].At = false, time.Time{}
	if ok, why := CheckOrderPresent(ms); !ok {
		t.Fatalf("a phase removed by a mitigation rejected: %s", why)
	}
	ms = realMarks(map[string]time.Duration{PhaseFullRecovery: -12 * time.Hour})
	ms[2].Present, ms[2].At = false, time.Time{}
	if ok, _ := CheckOrderPresent(ms); ok {
		t.Fatal("phases out of order accepted")
	}
}

// The group's demand: the night's growth from the start, plus the first
// business morning's (06:00-10:00 PDT on the 20th), and nothing more after.
func TestFleetDemandHasAMorningRamp(t *testing.T) {
	cal := DefaultCalibration()
	f := &fleet{cal: cal, start: ReplayStart, initial: 18}
	night := func(at time.Time) int { return 18 + int(at.Sub(ReplayStart)/cal.DemandEvery) }
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{ReplayStart, 18},
		{at(20, 5, 0), night(at(20, 5, 0))},
		{at(20, 8, 0), night(at(20, 8, 0)) + 30},
		{at(20, 14, 0), night(at(20, 14, 0)) + 60},
	} {
		if got := f.desired(c.at); got != c.want {
			t.Errorf("desired at %s: %d, want %d", c.at.Format("15:04"), got, c.want)
		}
	}
	cal.MorningDemandEvery = 0
	f.cal = cal
	if got := f.desired(at(20, 14, 0)); got != night(at(20, 14, 0)) {
		t.Errorf("without the morning ramp: %d", got)
	}
}

func TestSummarySaysWhenTheMachineMayHaveFailedTheRun(t *testing.T) {
	at := DNSRestoredByHand.Add(time.Hour)
	stalled := stall.Report{Threshold: 100 * time.Millisecond, Count: 2, Total: 1300 * time.Millisecond, Max: time.Second,
		Longest: []stall.Stall{{At: at, Length: time.Second}, {At: at, Length: 300 * time.Millisecond}}, LoadStart: 2, LoadEnd: 14}
	calm := stall.Report{Threshold: 100 * time.Millisecond, Max: 12 * time.Millisecond, LoadStart: 0.5, LoadEnd: 1, CPUPressure: 0.15}
	busy := calm
	busy.CPUPressure = 0.93
	for _, c := range []struct {
		name    string
		passed  bool
		stalls  stall.Report
		warns   bool
		noteHas string
	}{
		{"failed, stalled", false, stalled, true, "2 stalls of 100ms or more (1.3s in all), the longest 1s = 20m0s of incident time at 03:25"},
		{"passed, stalled", true, stalled, false, "load 2.0 -> 14.0"},
		{"failed, calm", false, calm, false, "CPU pressure 15% (some task waiting for a CPU); no stall of 100ms or more (the latest wake-up 12ms late)"},
		{"failed, busy", false, busy, true, "CPU pressure 93%"},
		{"passed, busy", true, busy, false, "CPU pressure 93%"},
	} {
		r := &Result{Passed: c.passed, Speed: 20, Wall: Wall{Stalls: c.stalls}, Hypotheses: []Hypothesis{{Name: "h", Passed: c.passed}}}
		var b strings.Builder
		r.WriteSummary(&b, false)
		out := b.String()
		if got := strings.Contains(out, "the machine, not a mechanism, may have failed this run"); got != c.warns {
			t.Errorf("%s: warning printed %v, want %v:\n%s", c.name, got, c.warns, out)
		}
		if !strings.Contains(out, c.noteHas) || !strings.Contains(r.StallNote(), c.noteHas) {
			t.Errorf("%s: want %q in the summary and the note:\n%s", c.name, c.noteHas, out)
		}
	}
}

func TestSettings(t *testing.T) {
	cal := DefaultCalibration()
	if err := cal.Set("netmgr-rate=200"); err != nil || cal.NetMgrRatePerMinute != 200 {
		t.Fatalf("set netmgr-rate: %v %v", err, cal.NetMgrRatePerMinute)
	}
	if err := cal.Set("connectivity-grace=45m"); err != nil || cal.ConnectivityGrace != 45*time.Minute {
		t.Fatalf("set connectivity-grace: %v %v", err, cal.ConnectivityGrace)
	}
	for kv, want := range map[string]string{
		"nope=1":                "valid settings are keep-generations, synthetic-endpoints",
		"netmgr-rate":           "want NAME=VALUE",
		"netmgr-rate=fast":      "want a non-negative number (default 80)",
		"enactor-period=3":      "a non-negative duration",
		"keep-generations=-1":   "a non-negative integer",
		"nlb-check-workers=1.5": "a non-negative integer (default 48)",
	} {
		if err := cal.Set(kv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--set %s: %v, want an error saying %q", kv, err, want)
		}
	}
	// every setting round-trips its default, and every field is reachable once
	seen := map[any]bool{}
	def := DefaultCalibration()
	for _, s := range Settings {
		c := DefaultCalibration()
		if err := c.Set(s.Name + "=" + s.Value(&def)); err != nil || c != def {
			t.Errorf("%s: default %s does not round-trip: %v", s.Name, s.Value(&def), err)
		}
		p := s.field(&def)
		if seen[p] {
			t.Errorf("%s: two settings share a field", s.Name)
		}
		seen[p] = true
	}
	var b strings.Builder
	WriteSettings(&b)
	if !strings.Contains(b.String(), "FITTED to every lease back 1h14") || !strings.Contains(b.String(), "netmgr-rate") {
		t.Errorf("settings list:\n%s", b.String())
	}
}

// TestAgreeAcrossBackends: the sim-embedded agreement accepts boundaries
// within SimAgreement (whatever the durations) and rejects a boundary
// beyond it, a hypothesis whose verdict differs, phases in another order.
func TestAgreeAcrossBackends(t *testing.T) {
	nlb := func(start, end time.Time) timeline.Phase {
		return timeline.Phase{Component: CompNLB, Samples: 10, ImpactStart: start, FirstSymptom: start, ImpactEnd: end, Recovered: true,
			Windows: []timeline.Window{{Start: start, End: end}}}
	}
	mk := func(order ...string) *Result {
		return &Result{Passed: true, PhaseOrder: order, Hypotheses: []Hypothesis{{ID: "h", Name: "h", Phase: "p", Passed: true}},
			Components: []timeline.Phase{nlb(NLBImpactBegins, NLBFailoverReenabled)}}
	}
	order := []string{PhaseTrigger, PhaseLeaseLoss, PhaseDWFMRecovery, PhaseNLBImpact, PhaseFullRecovery}
	a := mk(order...)
	b := mk(order...)
	b.Components = []timeline.Phase{nlb(NLBImpactBegins.Add(SimAgreement-time.Minute), NLBFailoverReenabled.Add(-SimAgreement+time.Minute))}
	if ok, why := AgreeAcrossBackends(a, b); !ok {
		t.Fatalf("boundaries within %s rejected: %s", SimAgreement, why)
	}
	b.Components = []timeline.Phase{nlb(NLBImpactBegins, NLBFailoverReenabled.Add(SimAgreement+time.Minute))}
	if ok, why := AgreeAcrossBackends(a, b); ok || !strings.Contains(why, "nlb ends") {
		t.Fatalf("an end %s away accepted: %v %s", SimAgreement+time.Minute, ok, why)
	}
	c := mk(order...)
	c.Hypotheses[0].Passed = false
	if ok, why := AgreeAcrossBackends(a, c); ok || !strings.Contains(why, `hypothesis "h"`) {
		t.Fatalf("a different verdict accepted: %v %s", ok, why)
	}
	if ok, _ := AgreeAcrossBackends(a, mk(PhaseTrigger, PhaseDWFMRecovery, PhaseNLBImpact, PhaseLeaseLoss, PhaseFullRecovery)); ok {
		t.Fatal("phases in another order accepted")
	}
}

// TestMechanismsAgree: the agreement suites/incident requires ignores a
// window scored against the real night (backlog-hours) but not a mechanism
// (the collapse), and accepts boundaries within MechanismTolerance only.
func TestMechanismsAgree(t *testing.T) {
	nlb := func(start, end time.Time) timeline.Phase {
		return timeline.Phase{Component: CompNLB, Samples: 10, ImpactStart: start, FirstSymptom: start, ImpactEnd: end, Recovered: true,
			Windows: []timeline.Window{{Start: start, End: end}}}
	}
	order := []string{PhaseTrigger, PhaseLeaseLoss, PhaseDWFMRecovery, PhaseNLBImpact, PhaseFullRecovery}
	mk := func(backlog, collapse bool, end time.Time) *Result {
		return &Result{Passed: true, PhaseOrder: order, Hypotheses: []Hypothesis{
			{ID: HBacklogHours, Name: "b", Phase: "p", Passed: backlog}, {ID: HCollapse, Name: "c", Phase: "p", Passed: collapse}},
			Components: []timeline.Phase{nlb(NLBImpactBegins, end)}}
	}
	a := mk(true, true, NLBFailoverReenabled)
	if ok, why := MechanismsAgree(a, mk(false, true, NLBFailoverReenabled.Add(MechanismTolerance-time.Minute))); !ok {
		t.Fatalf("a backlog window and a boundary within %s rejected: %s", MechanismTolerance, why)
	}
	if ok, _ := AgreeAcrossBackends(a, mk(false, true, NLBFailoverReenabled)); ok {
		t.Fatal("the strict agreement accepted a different backlog verdict")
	}
	if ok, why := MechanismsAgree(a, mk(true, false, NLBFailoverReenabled)); ok || !strings.Contains(why, HCollapse) {
		t.Fatalf("a different collapse verdict accepted: %v %s", ok, why)
	}
	if ok, why := MechanismsAgree(a, mk(true, true, NLBFailoverReenabled.Add(MechanismTolerance+time.Minute))); ok || !strings.Contains(why, "nlb ends") {
		t.Fatalf("an end beyond %s accepted: %v %s", MechanismTolerance, ok, why)
	}
}

// TestCollapseCallTime: the median incident time of the successful
// DynamoDB probe calls between dns-restored and throttle-restart, at the
// replay's speed; calls outside that window, failed calls and other probes
// do not count.
func TestCollapseCallTime(t *testing.T) {
	restored, restart := DNSRestoredByHand, DNSRestoredByHand.Add(90*time.Minute)
	sample := func(at time.Time, probe string, ok bool, wall time.Duration) timeline.Sample {
		return timeline.Sample{Time: at, Probe: probe, OK: ok, Latency: wall}
	}
	r := &Result{Speed: 20, Phases: []PhaseMark{{Name: PhaseDNSRestored, At: restored, Present: true}, {Name: PhaseThrottle, At: restart, Present: true}},
		Timeline: &timeline.Snapshot{Samples: []timeline.Sample{
			sample(restored.Add(-time.Minute), timeline.ProbeDDBGetItem, true, time.Second), // before the window
			sample(restored.Add(time.Minute), timeline.ProbeDDBGetItem, true, 5*time.Millisecond),
			sample(restored.Add(2*time.Minute), timeline.ProbeDDBPutItem, true, 10*time.Millisecond),
			sample(restored.Add(3*time.Minute), timeline.ProbeDDBPutItem, true, 20*time.Millisecond),
			sample(restored.Add(4*time.Minute), timeline.ProbeDDBPutItem, false, time.Second), // failed
			sample(restored.Add(5*time.Minute), timeline.ProbeDNSResolve, true, time.Second),  // not a DynamoDB call
			sample(restart, timeline.ProbeDDBGetItem, true, time.Second),                      // after the window
		}}}
	// 10 ms wall at speed 20 (1,200 incident seconds per wall second) is 12 s
	if med, n := r.CollapseCallTime(); med != 12*time.Second || n != 3 {
		t.Fatalf("collapse call time %v over %d calls, want 12s over 3", med, n)
	}
	r.Phases = r.Phases[:1]
	if med, n := r.CollapseCallTime(); med != 0 || n != 0 {
		t.Fatalf("without a throttle-restart mark: %v over %d calls, want none", med, n)
	}
}

// TestWithoutWall: the wall object is what WithoutWall drops, and only it.
func TestWithoutWall(t *testing.T) {
	a := &Result{Format: ResultFormat, Seed: 3, Wall: Wall{Seconds: 1.5, Host: "x", Date: time.Now()}}
	b := &Result{Format: ResultFormat, Seed: 3, Wall: Wall{Seconds: 9, Host: "y"}}
	ja, _ := a.WithoutWall()
	jb, _ := b.WithoutWall()
	if string(ja) != string(jb) {
		t.Fatalf("results differing only in wall differ:\n%s\n%s", ja, jb)
	}
	b.Seed = 4
	if jb, _ = b.WithoutWall(); string(ja) == string(jb) {
		t.Fatal("a different seed is invisible without wall")
	}
}

// TestMechanismsAgreeOnTheFleets: the fleets' capacity windows are compared
// by the capacity hypothesis's verdict, not their boundaries; a downstream
// component by its first window (a later NLB-driven window may differ).
func TestMechanismsAgreeOnTheFleets(t *testing.T) {
	ph := func(c string, ws ...timeline.Window) timeline.Phase {
		p := timeline.Phase{Component: c, Samples: 10, ImpactStart: ws[0].Start, FirstSymptom: ws[0].Start, Windows: ws,
			ImpactEnd: ws[len(ws)-1].End, Recovered: true}
		return p
	}
	win := func(from, to time.Time) timeline.Window { return timeline.Window{Start: from, End: to} }
	mk := func(capEnd, sts2End time.Time, inNLB bool) *Result {
		return &Result{Passed: true, Hypotheses: []Hypothesis{{ID: HCapacityInNLB, Name: "c", Phase: "p", Passed: inNLB}},
			Components: []timeline.Phase{
				ph(CompSTSCapacity, win(at(20, 4, 35), capEnd)),
				ph(CompSTS, win(DownstreamErrorsBegin, at(20, 2, 6)), win(at(20, 4, 40), sts2End)),
			}}
	}
	a := mk(at(20, 8, 3), at(20, 8, 3), true)
	if ok, why := MechanismsAgree(a, mk(at(20, 6, 15), at(20, 6, 49), true)); !ok {
		t.Fatalf("fleet windows ending 2 h apart, same verdict, rejected: %s", why)
	}
	if ok, why := MechanismsAgree(a, mk(at(20, 8, 3), at(20, 8, 3), false)); ok || !strings.Contains(why, HCapacityInNLB) {
		t.Fatalf("a different capacity verdict accepted: %v %s", ok, why)
	}
	b := mk(at(20, 8, 3), at(20, 8, 3), true)
	b.Components[1] = ph(CompSTS, win(DownstreamErrorsBegin, at(20, 5, 0)))
	if ok, why := MechanismsAgree(a, b); ok || !strings.Contains(why, "sts ends") {
		t.Fatalf("STS's first window ending 3 h apart accepted: %v %s", ok, why)
	}
	if ok, _ := AgreeAcrossBackends(a, mk(at(20, 6, 15), at(20, 8, 3), true)); ok {
		t.Fatal("the strict agreement accepted fleet windows 2 h apart")
	}
}
