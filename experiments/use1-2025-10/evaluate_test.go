package use1

import (
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// night is a synthetic as-was night shaped like the real one: each field is
// a mechanism's footprint that a test can break.
type night struct {
	emptyFrom, emptyTo   time.Time // the regional record empty
	ddbTo                time.Time // DynamoDB failing until
	leaseGone            time.Time // leases at zero from
	collapseRise         float64   // lease share regained during the collapse
	releaseFrom, leaseTo time.Time // re-leasing after the restarts, linear
	backlogFrom, backlog time.Time // Network Manager's queue waits too long
	connFrom, connTo     time.Time // new instances without connectivity
	nlbFrom, nlbTo       time.Time // NLB flapping
	// nightFlap (zero: none) is one flap of a target launched in the night:
	// a flapping nlb-health sample, then an nlb-capacity sample of the same
	// minute, failing with unhealthy-targets when nightCapacityLost
	nightFlap            time.Time
	nightCapacityLost    bool
	enactorFailures      int       // failed Enactor transactions after the empty record
	dnsEditAt            time.Time // a direct DNS edit (zero: none)
	restoreAt, restartAt time.Time // operator actions
	flaps, removals      int64
	// the downstream services (downstream.go): failing from..to
	lambdaFrom, lambdaTo time.Time // lambda-getfunction
	pollerFrom, pollerTo time.Time // lambda-sqs-poller stuck
	pollerRestartAt      time.Time // restart-lambda-pollers (zero: none)
	stsFrom, stsTo       time.Time // sts-assumerole, the DynamoDB period
	sts2From, sts2To     time.Time // sts-load refused for capacity: the NLB period
	lambdaCapFrom        time.Time // lambda-load refused for capacity from..
	lambdaCapTo          time.Time
	ecsFrom, ecsTo       time.Time // ecs-scale below desired
}

func realNight() night {
	return night{
		emptyFrom: RecordEmptied, emptyTo: DNSRestoredByHand, ddbTo: DynamoDBRecovered,
		leaseGone: at(20, 1, 0), releaseFrom: DWFMThrottleRestart, leaseTo: AllLeasesBack,
		backlogFrom: at(20, 6, 0), backlog: NetMgrBackToNormal, connFrom: NetMgrLatencyRises, connTo: EC2FullyNormal,
		nlbFrom: NLBImpactBegins, nlbTo: NLBFailoverReenabled, enactorFailures: 3,
		restoreAt: DNSRestoredByHand, restartAt: DWFMThrottleRestart, flaps: 40, removals: 3,
		lambdaFrom: DownstreamErrorsBegin, lambdaTo: DynamoDBRecovered,
		pollerFrom: DownstreamErrorsBegin, pollerTo: LambdaPollersFixed, pollerRestartAt: LambdaPollersFixed,
		stsFrom: DownstreamErrorsBegin, stsTo: STSFirstRecovered, sts2From: STSSecondBegins, sts2To: STSSecondEnds,
		lambdaCapFrom: STSSecondBegins, lambdaCapTo: STSSecondEnds,
		ecsFrom: ECSLaunchesFailBegin, ecsTo: EventOver,
	}
}

const step = 2 * time.Minute

var nightEnd = at(20, 15, 30)

// build returns the night's snapshot and the Result fields Evaluate reads.
func (n night) build(t *testing.T) (*timeline.Snapshot, *Result) {
	t.Helper()
	tl, err := NewTimeline("synthetic night", ReplayStart, nightEnd)
	if err != nil {
		t.Fatal(err)
	}
	in := func(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }
	for ts := ReplayStart; ts.Before(nightEnd); ts = ts.Add(step) {
		s := timeline.Sample{Time: ts, Probe: timeline.ProbeDNSResolve, OK: true, Value: 2}
		if in(ts, n.emptyFrom, n.emptyTo) {
			s = timeline.Sample{Time: ts, Probe: timeline.ProbeDNSResolve, Code: timeline.CodeNoSuchHost}
		}
		tl.AddSample(s)
		g := timeline.Sample{Time: ts, Probe: timeline.ProbeDDBGetItem, OK: true}
		if in(ts, n.emptyFrom, n.ddbTo) {
			g = timeline.Sample{Time: ts, Probe: timeline.ProbeDDBGetItem, Code: "no-such-host"}
		}
		tl.AddSample(g)
		for _, host := range []string{"dwfm-a", "dwfm-b", "dwfm-c"} {
			v := 1.0
			switch {
			case in(ts, n.emptyFrom.Add(30*time.Minute), n.leaseGone):
				v = 1 - float64(ts.Sub(n.emptyFrom.Add(30*time.Minute)))/float64(n.leaseGone.Sub(n.emptyFrom.Add(30*time.Minute)))
			case in(ts, n.leaseGone, n.releaseFrom):
				v = 0
				if ts.After(n.ddbTo.Add(CollapseSettle)) {
					v = n.collapseRise * float64(ts.Sub(n.ddbTo.Add(CollapseSettle))) / float64(n.releaseFrom.Sub(n.ddbTo.Add(CollapseSettle)))
				}
			case in(ts, n.releaseFrom, n.leaseTo):
				v = float64(ts.Sub(n.releaseFrom)) / float64(n.leaseTo.Sub(n.releaseFrom))
			}
			tl.AddSample(timeline.Sample{Time: ts, Probe: ProbeDWFMLeases, Source: host, Value: v, OK: v >= LeaseFloor})
		}
		b := timeline.Sample{Time: ts, Probe: ProbeNetMgrBacklog, OK: true}
		if in(ts, n.backlogFrom, n.backlog) {
			b = timeline.Sample{Time: ts, Probe: ProbeNetMgrBacklog, Code: "propagation-latency"}
		}
		tl.AddSample(b)
		c := timeline.Sample{Time: ts, Probe: timeline.ProbeConnectivity, OK: true}
		if in(ts, n.connFrom, n.connTo) {
			c = timeline.Sample{Time: ts, Probe: timeline.ProbeConnectivity, Code: "no-connectivity"}
		}
		tl.AddSample(c)
		h := timeline.Sample{Time: ts, Probe: timeline.ProbeNLBHealth, OK: true}
		if in(ts, n.nlbFrom, n.nlbTo) && (ts.Sub(n.nlbFrom)/step)%3 != 2 {
			h = timeline.Sample{Time: ts, Probe: timeline.ProbeNLBHealth, Code: "flapping"}
		}
		tl.AddSample(h)
		if !n.nightFlap.IsZero() && ts.Equal(n.nightFlap) {
			tl.AddSample(timeline.Sample{Time: ts, Probe: timeline.ProbeNLBHealth, Code: "flapping"})
			c := timeline.Sample{Time: ts, Probe: timeline.ProbeNLBCapacity, OK: true}
			if n.nightCapacityLost {
				c = timeline.Sample{Time: ts, Probe: timeline.ProbeNLBCapacity, Code: "unhealthy-targets"}
			}
			tl.AddSample(c)
			tl.AddSample(timeline.Sample{Time: ts.Add(step / 2), Probe: timeline.ProbeNLBHealth, OK: true})
			tl.AddSample(timeline.Sample{Time: ts.Add(step / 2), Probe: timeline.ProbeNLBCapacity, OK: true})
		}
		down := func(probe, code string, failing bool) {
			if failing {
				tl.AddSample(timeline.Sample{Time: ts, Probe: probe, Code: code})
			} else {
				tl.AddSample(timeline.Sample{Time: ts, Probe: probe, OK: true})
			}
		}
		down("lambda-getfunction", "ServiceException", in(ts, n.lambdaFrom, n.lambdaTo))
		down(ProbeLambdaPoller, "poller-stuck", in(ts, n.pollerFrom, n.pollerTo))
		down("sts-assumerole", "InternalFailure", in(ts, n.stsFrom, n.stsTo))
		down(ProbeSTSLoad, "capacity-refused", in(ts, n.sts2From, n.sts2To))
		down(ProbeLambdaLoad, "capacity-refused", in(ts, n.lambdaCapFrom, n.lambdaCapTo))
		down(ProbeECSScale, "ecs-below-desired", in(ts, n.ecsFrom, n.ecsTo))
		if ts.Sub(ReplayStart)%(5*time.Minute) < step {
			l := timeline.Sample{Time: ts, Probe: timeline.ProbeEC2Launch, OK: true}
			switch {
			case in(ts, at(20, 0, 30), n.releaseFrom):
				l = timeline.Sample{Time: ts, Probe: timeline.ProbeEC2Launch, Code: "InsufficientInstanceCapacity"}
			case in(ts, n.releaseFrom, NetMgrBackToNormal):
				l = timeline.Sample{Time: ts, Probe: timeline.ProbeEC2Launch, Code: "RequestLimitExceeded"}
			}
			tl.AddSample(l)
		}
	}
	tl.AddFault(timeline.Fault{ID: "fp-1", Kind: "failpoint", Name: EnactorDelayPoint, Target: "dnsenactor-a", Start: TriggerAt, End: n.emptyFrom.Add(-2 * time.Minute)})
	if !n.dnsEditAt.IsZero() {
		tl.AddFault(timeline.Fault{ID: "dns-1", Kind: "dns-edit", Name: "empty-record", Target: "dynamodb.us-east-1.amazonaws.com", Start: n.dnsEditAt, End: n.dnsEditAt})
	}
	for i, a := range []struct {
		name string
		at   time.Time
	}{{"restore-dns", n.restoreAt}, {"restart-dwfm", n.restartAt}, {"disable-nlb-failover", NLBFailoverDisabled}, {"relax-throttles", EC2ThrottlesRelaxed},
		{"restart-lambda-pollers", n.pollerRestartAt}} {
		if !a.at.IsZero() {
			tl.AddFault(timeline.Fault{ID: "op-" + string(rune('a'+i)), Kind: "operator", Name: a.name, Start: a.at, End: a.at, Operator: true})
		}
	}
	for i := range n.enactorFailures {
		tl.AddEvent(timeline.Event{Time: n.emptyFrom.Add(time.Duration(i+1) * 10 * time.Minute), Service: "dnsenactor-b", Kind: "endpoint-failed",
			Fields: map[string]any{"endpoint": "regional", "code": "InvalidChangeBatch"}})
	}
	snap := tl.Snapshot()
	res := &Result{Trigger: TriggerInfo{StaleGen: 10, NewerGen: 14, OvertakenBy: "dnsenactor-b", ReleasedAt: n.emptyFrom.Add(-2 * time.Minute)}}
	res.NLB.Flaps, res.NLB.Removals, res.NLB.MaxCapacityRemoved = n.flaps, n.removals, 0.67
	res.Phases = Marks(snap)
	res.Fidelity = Fidelity(snap)
	return snap, res
}

func evaluate(t *testing.T, n night) map[string]Hypothesis {
	t.Helper()
	snap, res := n.build(t)
	out := map[string]Hypothesis{}
	for _, h := range Evaluate(snap, nil, res) {
		if _, dup := out[h.ID]; dup {
			t.Fatalf("two hypotheses with id %s", h.ID)
		}
		out[h.ID] = h
	}
	return out
}

func TestEvaluateHoldsOnTheRealNight(t *testing.T) {
	hs := evaluate(t, realNight())
	for _, id := range []string{HSteadyState, HRaceEmpties, HUnresolvable, HLeasesThenLaunch, HCollapse, HRestartRecovers,
		HBacklogHours, HNLBFlaps, HFullRecovery, HOrder} {
		if _, ok := hs[id]; !ok {
			t.Errorf("hypothesis %s not evaluated", id)
		}
	}
	fid := 0
	for id, h := range hs {
		if !h.Passed {
			t.Errorf("%s failed on the real night: %s", id, h.Reason)
		}
		if strings.HasPrefix(id, "fidelity:") {
			fid++
		}
	}
	// lease-loss start and end, dwfm-recovery end, ec2 start, backlog,
	// connectivity and NLB start and end; downstream: ECS start and end,
	// Lambda's errors, STS's first period and the poller's starts, STS's
	// second period start and end
	if fid != 17 {
		t.Errorf("%d fidelity hypotheses, want 17 (one per scored emergent boundary)", fid)
	}
}

// Each hypothesis fails when the mechanism it is about is broken.
func TestEvaluateFailsWhenAMechanismIsBroken(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(*night)
		id     string
		why    string
	}{
		{"DWFM makes progress during the collapse", func(n *night) { n.collapseRise = 0.5 }, HCollapse, "progressed"},
		{"a DNS edit, not the race, empties the record", func(n *night) { n.dnsEditAt = RecordEmptied.Add(-time.Minute) }, HRaceEmpties, "dns-edit"},
		{"the Enactors repair the record", func(n *night) { n.enactorFailures = 0 }, HRaceEmpties, "no failed Enactor transaction"},
		{"DynamoDB recovers before the restore", func(n *night) { n.emptyTo, n.ddbTo = at(20, 1, 0), at(20, 1, 10) }, HUnresolvable, "before the action"},
		{"DWFM takes 3 h after the restarts", func(n *night) { n.leaseTo = DWFMThrottleRestart.Add(3 * time.Hour) }, HRestartRecovers, "too late"},
		{"connectivity is back within an hour", func(n *night) { n.connTo = n.connFrom.Add(time.Hour) }, HBacklogHours, "not between"},
		{"no flapping", func(n *night) { n.nlbFrom, n.nlbTo, n.flaps = time.Time{}, time.Time{}, 0 }, HNLBFlaps, "0 flaps"},
		{"the backlog starts three hours early", func(n *night) { n.connFrom = n.connFrom.Add(-3 * time.Hour) }, FidelityID(PhaseBacklog, "start"),
			"netmgr-backlog start moved: replay 03:2"},
		{"the backlog drains two hours early", func(n *night) { n.backlog = n.backlog.Add(-2 * time.Hour) }, FidelityID(PhaseBacklog, "end"),
			"netmgr-backlog end moved"},
		{"the NLB impact ends at 11:00", func(n *night) { n.nlbTo = at(20, 11, 0) }, FidelityID(PhaseNLBImpact, "end"), "nlb-impact end moved"},
		{"DWFM re-leases in 10 min", func(n *night) { n.leaseTo = DWFMThrottleRestart.Add(10 * time.Minute) }, FidelityID(PhaseDWFMRecovery, "end"),
			"dwfm-recovery end moved"},
		{"the Lambda poller recovers by itself", func(n *night) { n.pollerTo = DynamoDBRecovered.Add(5 * time.Minute) }, HLambdaWedged, "restart-lambda-pollers"},
		{"STS's second period never comes", func(n *night) { n.sts2From, n.sts2To = time.Time{}, time.Time{} }, FidelityID(PhaseSTSNLB, "start"), "never started"},
		{"Lambda never under-scales", func(n *night) { n.lambdaCapFrom, n.lambdaCapTo = time.Time{}, time.Time{} }, HCapacityInNLB, "lambda-capacity never refused"},
		{"Lambda throttles before the NLB impact", func(n *night) { n.lambdaCapFrom = NLBImpactBegins.Add(-time.Hour) }, HCapacityInNLB, "outside the NLB impact"},
		{"STS throttles after the NLB impact", func(n *night) {
			n.sts2From, n.sts2To = NLBFailoverReenabled.Add(10*time.Minute), NLBFailoverReenabled.Add(time.Hour)
		}, HCapacityInNLB, "outside the NLB impact"},
		{"Lambda under-scales before the first downstream errors", func(n *night) { n.lambdaCapFrom, n.lambdaCapTo = at(19, 23, 40), at(19, 23, 50) }, HDownstreamOrder, "out of order"},
		{"ECS fails only after STS's second period began", func(n *night) { n.ecsFrom = STSSecondBegins.Add(30 * time.Minute) }, HDownstreamOrder, "out of order"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := realNight()
			c.break_(&n)
			h, ok := evaluate(t, n)[c.id]
			if !ok {
				t.Fatalf("hypothesis %s not evaluated", c.id)
			}
			if h.Passed || !strings.Contains(h.Reason, c.why) {
				t.Fatalf("%s: passed %v, reason %q; want a failure saying %q", c.id, h.Passed, h.Reason, c.why)
			}
		})
	}
}

// A lone flap of a target launched in the night keeps the steady state even
// when the NLB's capacity sample of the same minute passes (its health point
// still fails, by the flap: seed 2's fixed sim replay failed here with "nlb
// at 23:26 ()"); lost capacity with it still fails the steady state.
func TestSteadyStateAndANightFlap(t *testing.T) {
	flap := ReplayStart.Add(10 * step)
	if !flap.Before(TriggerAt) {
		t.Fatalf("flap at %s is not before the trigger %s", flap, TriggerAt)
	}
	n := realNight()
	n.nightFlap = flap
	if h := evaluate(t, n)[HSteadyState]; !h.Passed {
		t.Fatalf("a lone night flap failed the steady state: %s", h.Reason)
	}
	n.nightCapacityLost = true
	if h := evaluate(t, n)[HSteadyState]; h.Passed || !strings.Contains(h.Reason, "(unhealthy-targets)") {
		t.Fatalf("lost capacity before the trigger: passed %v, reason %q; want a failure naming unhealthy-targets", h.Passed, h.Reason)
	}
}

func TestFidelityScoresWholeIntervals(t *testing.T) {
	n := realNight()
	n.nlbFrom, n.nlbTo = NLBImpactBegins.Add(-time.Hour), NLBFailoverReenabled.Add(-3*time.Hour) // early at both ends
	snap, _ := n.build(t)
	var row FidelityRow
	for _, f := range Fidelity(snap) {
		if f.Phase == PhaseNLBImpact {
			row = f
		}
	}
	if !row.Ended || row.StartError() > -50*time.Minute || row.EndError() > -140*time.Minute {
		t.Fatalf("nlb-impact row %+v: start error %v end error %v, want about -1h and -3h", row, row.StartError(), row.EndError())
	}
	if row.IoU <= 0.5 || row.IoU >= 0.9 {
		t.Errorf("IoU %.2f, want between 0.5 and 0.9 for an interval an hour early at the start and three at the end", row.IoU)
	}
	if row.Start.SetBy != SetByEmergent || !row.StartWithin || row.EndWithin {
		t.Errorf("start within %v (tolerance %v), end within %v (tolerance %v)", row.StartWithin, row.Start.Tolerance, row.EndWithin, row.End.Tolerance)
	}
	// the references disagree on connectivity: both rows, one scored
	var scored, shown int
	for _, f := range Fidelity(snap) {
		if strings.HasPrefix(f.Phase, PhaseNoConnectivity) {
			shown++
			if f.Scored {
				scored++
			}
		}
	}
	if shown != 2 || scored != 1 {
		t.Errorf("connectivity rows: %d shown, %d scored; want 2 and 1", shown, scored)
	}
}

func TestBacklogPhase(t *testing.T) {
	snap, _ := realNight().build(t)
	p := BacklogPhase(snap)
	if !p.Recovered || p.ImpactStart.Sub(NetMgrLatencyRises).Abs() > step || p.ImpactEnd.Before(NetMgrBackToNormal) || p.ImpactEnd.After(NetMgrBackToNormal.Add(10*time.Minute)) {
		t.Fatalf("backlog %s, want from the first instance without connectivity (06:21) to the queue back to normal (10:36)", p.String())
	}
	n := realNight()
	n.backlog = nightEnd.Add(time.Hour) // the queue never drains
	snap, _ = n.build(t)
	if p := BacklogPhase(snap); p.Recovered || !p.Impacted() {
		t.Fatalf("backlog with a queue that never drains: %s, want open", p.String())
	}
	n = realNight()
	n.connFrom, n.connTo = time.Time{}, time.Time{}
	snap, _ = n.build(t)
	if p := BacklogPhase(snap); p.Impacted() {
		t.Fatalf("backlog without instances lacking connectivity: %s, want none", p.String())
	}
}

// A boundary that follows an operator action is timed from that action: an
// earlier restart (the operators' seeded delay) with the same re-leasing
// mechanism is no miss; the same end without the earlier restart is.
func TestFidelityTimesBoundariesFromTheirAction(t *testing.T) {
	n := realNight()
	n.restartAt, n.releaseFrom, n.leaseTo = DWFMThrottleRestart.Add(-40*time.Minute), DWFMThrottleRestart.Add(-40*time.Minute), AllLeasesBack.Add(-40*time.Minute)
	hs := evaluate(t, n)
	if h := hs[FidelityID(PhaseDWFMRecovery, "end")]; !h.Passed {
		t.Fatalf("restart 40 min early, recovery as long as the real one: %s", h.Reason)
	}
	n.restartAt, n.releaseFrom = DWFMThrottleRestart, DWFMThrottleRestart // the same early end, now 34 min after the restart
	if h := evaluate(t, n)[FidelityID(PhaseDWFMRecovery, "end")]; h.Passed || !strings.Contains(h.Reason, "dwfm-recovery end moved") {
		t.Fatalf("recovery 40 min short of the real one after the restart: passed %v %s", h.Passed, h.Reason)
	}
}

// A known miss is reported and does not fail the verdict while it stays
// within its tolerance of where it was measured; the same miss on a
// boundary not listed in KnownMisses fails, and so does a known miss that
// moved (further out, or a never-reached phase that is reached).
func TestKnownMissesDoNotFailTheVerdictOthersDo(t *testing.T) {
	backlog := KnownMisses[FidelityID("netmgr-backlog", "start")] // measured -1h32..-1h30
	const never = "never-reached-phase"                           // a known miss measured never reached
	KnownMisses[FidelityID(never, "start")] = KnownMiss{Never: true, Why: "test"}
	KnownMisses[FidelityID(never, "end")] = KnownMiss{Never: true, Why: "test"}
	defer delete(KnownMisses, FidelityID(never, "start"))
	defer delete(KnownMisses, FidelityID(never, "end"))
	row := func(phase string, miss time.Duration, reached bool) FidelityRow {
		b := Boundary{SetBy: SetByEmergent, Tolerance: time.Hour}
		r := FidelityRow{Scored: true, Start: b, End: b, StartMiss: miss, EndMiss: miss}
		r.Phase, r.Started, r.Ended = phase, reached, reached
		return r
	}
	for _, c := range []struct {
		name    string
		row     FidelityRow
		counts  bool
		because string
	}{
		{"known, where measured", row("netmgr-backlog", backlog.SeenFrom, true), false, ""},
		{"known, within its tolerance of the range", row("netmgr-backlog", backlog.SeenFrom-50*time.Minute, true), false, ""},
		{"known, moved further out", row("netmgr-backlog", backlog.SeenFrom-70*time.Minute, true), true, "known miss moved"},
		{"known, moved the other way", row("netmgr-backlog", backlog.SeenTo+70*time.Minute, true), true, "known miss moved"},
		{"known, never reached now", row("netmgr-backlog", 0, false), true, "now never reached"},
		{"known never, still never", row(never, 0, false), false, ""},
		{"known never, now reached outside tolerance", row(never, 3*time.Hour, true), true, "now reached"},
		{"not known", row("lease-loss", 3*time.Hour, true), true, "moved"},
	} {
		hs := FidelityHypotheses([]FidelityRow{c.row})
		if len(hs) != 2 {
			t.Fatalf("%s: %d hypotheses, want start and end", c.name, len(hs))
		}
		h := hs[0]
		if h.Passed {
			t.Errorf("%s: %s held (%s)", c.name, h.ID, h.Reason)
		}
		if got := h.Counts(); got != c.counts {
			t.Errorf("%s: %s counts against the verdict: %v, want %v (%s)", c.name, h.ID, got, c.counts, h.Reason)
		}
		if h.IsKnownMiss() == c.counts && h.KnownMiss != "" {
			t.Errorf("%s: IsKnownMiss %v with Counts %v", c.name, h.IsKnownMiss(), h.Counts())
		}
		if c.because != "" && !strings.Contains(h.Reason, c.because) {
			t.Errorf("%s: reason %q does not say %q", c.name, h.Reason, c.because)
		}
	}
}
