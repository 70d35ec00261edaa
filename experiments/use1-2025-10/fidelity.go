package use1

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Boundary is one end (start or end) of a real phase: who sets it in the
// replay and how far the replay may miss it.
type Boundary struct {
	// SetBy: SetByEmergent (the mechanisms), SetByOperator (an operator
	// action's time) or SetByMethod (the injected trigger).
	SetBy string `json:"set_by"`
	// Tolerance is the largest miss (either way, incident time) an emergent
	// boundary may have before its fidelity hypothesis fails.
	Tolerance time.Duration `json:"tolerance,omitempty"`
	// After names the operator action an emergent boundary follows (its
	// mechanism starts from that action): the boundary is then scored by its
	// time from that action in each run, so the operators' seeded delay is
	// not counted against the mechanism. AfterReal is the real action's time.
	After     string    `json:"after,omitempty"`
	AfterReal time.Time `json:"after_real,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// RealPhase is one phase of the real night, the replay component that
// shows it, and its two boundaries.
type RealPhase struct {
	Name       string
	Start, End time.Time
	Component  string
	StartB     Boundary
	EndB       Boundary
	// Source names the reference the times come from; Scored is false for a
	// reference shown beside the scored one (where the references disagree).
	Source string
	Scored bool
	Note   string
}

// Duration is the phase's length.
func (p RealPhase) Duration() time.Duration { return p.End.Sub(p.Start) }

func (p RealPhase) String() string {
	return fmt.Sprintf("%s %s-%s (%s)", p.Name, clockPDT(p.Start), clockPDT(p.End), p.Duration())
}

// FidelityOrigin is the instant every fidelity offset is measured from, on
// the incident clock: the real record emptied at 23:48 PDT. The replay's own
// boundaries are read on the same clock, so a late trigger shows as a late
// start instead of being subtracted away.
var FidelityOrigin = RecordEmptied

// tol is the stated tolerance of an emergent boundary: a quarter of the real
// phase's length (the old duration tolerance, now on each boundary), at
// least 30 min (the probes' 2-5 min periods, the debounce of 3 failures and
// the trigger's ±10 min landing around 23:48 are all within it).
func tol(start, end time.Time) time.Duration {
	return max(30*time.Minute, (end.Sub(start))/4)
}

func emergent(start, end time.Time, note string) Boundary {
	return Boundary{SetBy: SetByEmergent, Tolerance: tol(start, end), Note: note}
}

// after is an emergent boundary that follows the operator action name
// (really at real).
func after(b Boundary, name string, real time.Time) Boundary {
	b.After, b.AfterReal = name, real
	return b
}

// seedConnectivityStart and seedConnectivityEnd are the seed's dating of
// the connectivity issues: launches failed 5 h 40 min from 23:48, then 5 h
// 55 min of connectivity issues followed.
var (
	seedConnectivityStart = RecordEmptied.Add(5*time.Hour + 40*time.Minute)
	seedConnectivityEnd   = seedConnectivityStart.Add(5*time.Hour + 55*time.Minute)
)

// RealPhases are the phases of the real night the fidelity table scores.
var RealPhases = []RealPhase{
	{Name: PhaseUnresolvable, Start: RecordEmptied, End: DynamoDBRecovered, Component: CompDynamoDB, Source: "AWS", Scored: true,
		StartB: Boundary{SetBy: SetByMethod, Note: "the injected Enactor delay"},
		EndB:   Boundary{SetBy: SetByOperator, Note: "restore-dns, then cached answers expire"}},
	{Name: PhaseLeaseLoss, Start: RecordEmptied, End: AllLeasesBack, Component: CompDWFM, Source: "AWS", Scored: true,
		StartB: emergent(RecordEmptied, AllLeasesBack, "leases lapse one TTL after DynamoDB goes; the real first lapse is not published"),
		EndB:   after(emergent(RecordEmptied, AllLeasesBack, "re-leasing"), "restart-dwfm", DWFMThrottleRestart)},
	{Name: PhaseDWFMRecovery, Start: DWFMThrottleRestart, End: AllLeasesBack, Component: CompDWFM, Source: "AWS", Scored: true,
		StartB: Boundary{SetBy: SetByOperator, Note: "restart-dwfm"},
		EndB:   after(emergent(DWFMThrottleRestart, AllLeasesBack, "every lease back"), "restart-dwfm", DWFMThrottleRestart)},
	{Name: "ec2-launch-failures", Start: DNSRestoredByHand, End: NetMgrBackToNormal, Component: CompEC2, Source: "AWS", Scored: true,
		StartB: emergent(DNSRestoredByHand, NetMgrBackToNormal, "the summary's table dates it 2:25; in the model launches fail once leases lapse (~00:30)"),
		EndB:   Boundary{SetBy: SetByOperator, Note: "RequestLimitExceeded lasts until relax-throttles"}},
	{Name: PhaseBacklog, Start: NetMgrLatencyRises, End: NetMgrBackToNormal, Component: CompNetMgr, Source: "AWS", Scored: true,
		StartB: after(emergent(NetMgrLatencyRises, NetMgrBackToNormal, "the first launch after the restarts waits behind the queue the collapse's lease writes built"), "restart-dwfm", DWFMThrottleRestart),
		EndB:   after(emergent(NetMgrLatencyRises, NetMgrBackToNormal, "that queue drained"), "restart-dwfm", DWFMThrottleRestart)},
	{Name: PhaseNoConnectivity, Start: NetMgrLatencyRises, End: EC2FullyNormal, Component: CompConnectivity, Source: "AWS", Scored: true,
		StartB: after(emergent(NetMgrLatencyRises, EC2FullyNormal, ""), "restart-dwfm", DWFMThrottleRestart),
		EndB:   after(emergent(NetMgrLatencyRises, EC2FullyNormal, ""), "restart-dwfm", DWFMThrottleRestart),
		Note:   "scored: AWS's summary (the primary source): 6:21 to EC2 fully normal 13:50"},
	{Name: PhaseNoConnectivity + " (seed)", Start: seedConnectivityStart, End: seedConnectivityEnd, Component: CompConnectivity, Source: "seed", Scored: false,
		StartB: emergent(seedConnectivityStart, seedConnectivityEnd, ""), EndB: emergent(seedConnectivityStart, seedConnectivityEnd, ""),
		Note: "not scored: the seed's 5h55 after 5h40 of failed launches, a secondary account"},
	{Name: PhaseNLBImpact, Start: NLBImpactBegins, End: NLBFailoverReenabled, Component: CompNLB, Source: "AWS", Scored: true,
		StartB: after(emergent(NLBImpactBegins, NLBFailoverReenabled, "launches resume on re-leased droplets"), "restart-dwfm", DWFMThrottleRestart),
		EndB:   after(emergent(NLBImpactBegins, NLBFailoverReenabled, "the last flapping targets are the launch wave's"), "relax-throttles", EC2ThrottlesRelaxed)},
}

// FidelityRow is one row of the fidelity table.
type FidelityRow struct {
	report.FidelityRow
	Component string   `json:"component"`
	Source    string   `json:"source"`
	Scored    bool     `json:"scored"`
	Start     Boundary `json:"start"`
	End       Boundary `json:"end"`
	// StartMiss and EndMiss are the scored misses: the boundary error, or
	// for a boundary that follows an operator action, the error of its time
	// from that action (replay's from the replay's action, real from the
	// real one). Zero when not scored.
	StartMiss time.Duration `json:"start_miss,omitempty"`
	EndMiss   time.Duration `json:"end_miss,omitempty"`
	// StartWithin and EndWithin: the boundary is emergent, scored and
	// within its tolerance (false for other boundaries).
	StartWithin bool `json:"start_within"`
	EndWithin   bool `json:"end_within"`
}

// miss is b's scored miss given its raw error: measured from b.After when
// set (the action's own offset in the replay against the real one).
func miss(snap *timeline.Snapshot, b Boundary, raw time.Duration) (time.Duration, string) {
	if b.After == "" {
		return raw, ""
	}
	a, ok := snap.Action(b.After)
	if !ok || !a.Operator {
		return raw, "no " + b.After + " in the replay: scored on the clock"
	}
	return raw - a.Start.Sub(b.AfterReal), ""
}

// Fidelity compares the replay's phases with the real ones as whole
// intervals: start and end offsets from FidelityOrigin (absolute incident
// minutes), the duration error, and the intervals' intersection over union.
func Fidelity(snap *timeline.Snapshot) []FidelityRow {
	var out []FidelityRow
	for _, rp := range append(slices.Clone(RealPhases), DownstreamPhases...) {
		ph := snap.Phase(rp.Component)
		switch rp.Name {
		case PhaseECSLaunchFail, PhaseLambdaErrors, PhaseSTSDynamoDB, PhaseLambdaPoller, PhaseSTSNLB:
			ph = downstreamPhase(snap, rp)
		case PhaseDWFMRecovery:
			ph = recoveryAfter(snap, "restart-dwfm", CompDWFM)
		case PhaseBacklog:
			ph = BacklogPhase(snap)
		}
		row := report.NewFidelityRow(rp.Name, ph, FidelityOrigin, rp.Start, rp.End)
		if row.Note == "" {
			row.Note = rp.Note
		} else if rp.Note != "" {
			row.Note += "; " + rp.Note
		}
		if e := row.Error(); !math.IsNaN(e) {
			row.ErrorPct = e
		} else {
			row.ErrorPct = 0 // JSON has no NaN; Error() computes it again
		}
		f := FidelityRow{FidelityRow: row, Component: rp.Component, Source: rp.Source, Scored: rp.Scored, Start: rp.StartB, End: rp.EndB}
		var n1, n2 string
		if row.Started {
			f.StartMiss, n1 = miss(snap, rp.StartB, row.StartError())
		}
		if row.Ended {
			f.EndMiss, n2 = miss(snap, rp.EndB, row.EndError())
		}
		for _, n := range []string{n1, n2} {
			if n != "" {
				f.Note += "; " + n
			}
		}
		f.StartWithin = rp.Scored && rp.StartB.SetBy == SetByEmergent && row.Started && absDur(f.StartMiss) <= rp.StartB.Tolerance
		f.EndWithin = rp.Scored && rp.EndB.SetBy == SetByEmergent && row.Ended && absDur(f.EndMiss) <= rp.EndB.Tolerance
		out = append(out, f)
	}
	return out
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// KnownMiss is an emergent boundary the model misses with its default
// calibration: why, and the misses measured (replay minus real, as the
// boundary is scored). A known miss is not a free pass: it holds as known
// only while its miss stays within the boundary's own tolerance of the
// measured range (or, for a phase never reached, while it is still never
// reached). A boundary that moves beyond that fails the verdict like any
// other, so a change that makes the model worse (or better, past the
// range: then update or remove the entry) is seen.
type KnownMiss struct {
	Why string
	// SeenFrom..SeenTo is the range of measured misses: sim seeds 1-5 and
	// the embedded idle run (see KnownMisses).
	SeenFrom, SeenTo time.Duration
	// Never: in every measured run the phase never reached the boundary.
	Never bool
}

// seen is the measured range, as the reason prints it.
func (k KnownMiss) seen() string {
	if k.Never {
		return "never reached"
	}
	return hm(k.SeenFrom) + ".." + hm(k.SeenTo)
}

// KnownMisses are the emergent boundaries the model misses with its default
// calibration, each with what is known of why and the misses measured:
// first on an idle machine (as-was, seed 1, speed 20, embedded, December
// 2026: backlog start -1h31 and end -1h50 against a 1h04 tolerance,
// connectivity end -5h04 against 1h52; the NLB impact's end, timed from
// relax-throttles, -2h07 and -2h11 against 2h10), then on the sim for seeds
// 1-5 at 948ebbc and again after the customer's steady STS and Lambda load
// joined (it changes the sim's random stream; docs/replay.md, "The known
// misses"); SeenFrom..SeenTo covers all of them. They are printed as known misses and do not fail the verdict
// while they stay within their tolerance of that range; every other
// fidelity boundary is held to its tolerance of the real time. Remove an
// entry when the mechanism is fixed.
var KnownMisses = map[string]KnownMiss{
	FidelityID("netmgr-backlog", "start"): {SeenFrom: -(time.Hour + 32*time.Minute), SeenTo: -(time.Hour + 25*time.Minute),
		Why: "the queue is built before the restarts (the collapse's lease writes, restore to restart), and new instances lack connectivity as soon as launches succeed again: minutes after the restarts, since a restarted host lends any droplet it has re-leased; the references have launches succeed only once every lease is back (5:28). A gate on that moves the start within tolerance but shortens the backlog below backlog-hours (docs/replay.md)"},
	FidelityID("netmgr-backlog", "end"): {SeenFrom: -(2*time.Hour + 7*time.Minute), SeenTo: -(time.Hour + 26*time.Minute),
		Why: "the queue built before the restarts drains at the fitted 80 items/min ~2 h before the real 10:36, whenever launches resume: nothing in the model keeps Network Manager busy until then"},
	FidelityID("nlb-impact", "end"): {SeenFrom: -(2*time.Hour + 13*time.Minute), SeenTo: -(time.Hour + 58*time.Minute),
		Why: "the replay's NLB impact ends ~35 min after relax-throttles, the real one 2h46 after it: the launch wave the relaxed throttles release settles too fast; at the edge of its 2h10 tolerance (sim seeds 1-5: -2h13, -2h03, -1h58, -2h05, -2h12; with the steady load -2h03, -2h07, -2h00, -1h59, -2h02)"},
	FidelityID("no-connectivity", "end"): {SeenFrom: -(5*time.Hour + 21*time.Minute), SeenTo: -(4*time.Hour + 40*time.Minute),
		Why: "scored against AWS's 13:50 (EC2 fully normal), which includes launch recovery after the backlog; the model's connectivity returns with the backlog (~08:00)"},
	// The downstream rows (downstream.go), measured on the sim backend,
	// seeds 1..5 (docs/measurements-downstream.md).
	FidelityID(PhaseECSLaunchFail, "end"): {SeenFrom: -(5*time.Hour + 55*time.Minute), SeenTo: -(3*time.Hour + 26*time.Minute),
		Why: "ECS's task launches return with EC2's launches and connectivity, which the model returns with the backlog (~08:30); the reference's 14:20 is the event's end, after EC2 fully normal 13:50: the same limit as no-connectivity's end"},
	FidelityID(PhaseSTSNLB, "start"): {SeenFrom: -(3*time.Hour + 56*time.Minute), SeenTo: -(3*time.Hour + 7*time.Minute),
		Why: "STS's fleet refuses the customer's steady load (2/3 of its capacity) as soon as the NLB's healthy share falls under 0.58, which in the model is when failover first removes an AZ, ~1 h after the restarts (sim seeds 1-5: -3h56, -3h40, -3h07, -3h30, -3h53): the model's NLB loses most capacity early, with the backlog that is itself early (netmgr-backlog start), not in the real morning peak"},
	FidelityID(PhaseSTSNLB, "end"): {SeenFrom: -(time.Hour + 58*time.Minute), SeenTo: -41 * time.Minute,
		Why: "the share comes back over 0.58 when Network Manager's backlog drains (~08:00, the netmgr-backlog end known miss), before the real 09:59 (sim seeds 1-5: -1h56, -1h58, -0h41, -1h48, -1h47); the launch wave after relax-throttles dips it only to ~0.86"},
}

// knownMissVerdict is a missed boundary's standing against its KnownMisses
// entry: moved when its miss left the measured range by more than the
// boundary's tolerance (or a never-reached phase was reached, or a reached
// one was not).
func knownMissVerdict(k KnownMiss, reached bool, miss, tolerance time.Duration) (moved bool, why string) {
	switch {
	case k.Never && !reached:
		return false, ""
	case k.Never:
		return true, fmt.Sprintf("known miss moved: measured never reached, now reached, off by %s", hm(miss))
	case !reached:
		return true, fmt.Sprintf("known miss moved: measured %s, now never reached", k.seen())
	case miss < k.SeenFrom-tolerance || miss > k.SeenTo+tolerance:
		return true, fmt.Sprintf("known miss moved: measured %s, now %s (more than its tolerance %s outside that range)", k.seen(), hm(miss), hm(tolerance)[1:])
	}
	return false, ""
}

// FidelityHypotheses turns every scored emergent boundary into a hypothesis
// that fails when the replay misses it by more than its tolerance (or never
// reaches it).
func FidelityHypotheses(rows []FidelityRow) []Hypothesis {
	var out []Hypothesis
	for _, f := range rows {
		if !f.Scored {
			continue
		}
		for _, b := range []struct {
			name        string
			bd          Boundary
			reached     bool
			miss        time.Duration
			real        time.Duration
			replay      time.Duration
			within      bool
			unreachedIs string
		}{
			{"start", f.Start, f.Started, f.StartMiss, f.RealStart, f.ReplayStart, f.StartWithin, "the phase never started"},
			{"end", f.End, f.Ended, f.EndMiss, f.RealEnd, f.ReplayEnd, f.EndWithin, "the phase never ended"},
		} {
			if b.bd.SetBy != SetByEmergent {
				continue
			}
			anchor := ""
			if b.bd.After != "" {
				anchor = fmt.Sprintf(", timed from %s (real %s)", b.bd.After, clockPDT(b.bd.AfterReal))
			}
			known, isKnown := KnownMisses[FidelityID(f.Phase, b.name)]
			h := Hypothesis{ID: FidelityID(f.Phase, b.name), Phase: f.Phase, Boundary: b.name, Passed: b.within,
				KnownMiss: known.Why,
				Name:      fmt.Sprintf("%s %s within %s of the real %s%s", f.Phase, b.name, hm(b.bd.Tolerance)[1:], clockPDT(FidelityOrigin.Add(b.real)), anchor)}
			switch {
			case !b.reached:
				h.Reason = fmt.Sprintf("-> %s: %s", f.Phase, b.unreachedIs)
			case b.within:
				h.Reason = fmt.Sprintf("replay %s, real %s: %s", clockPDT(FidelityOrigin.Add(b.replay)), clockPDT(FidelityOrigin.Add(b.real)), hm(b.miss))
			default:
				h.Reason = fmt.Sprintf("-> %s %s moved: replay %s, real %s, off by %s (tolerance %s)", f.Phase, b.name,
					clockPDT(FidelityOrigin.Add(b.replay)), clockPDT(FidelityOrigin.Add(b.real)), hm(b.miss), hm(b.bd.Tolerance)[1:])
			}
			if isKnown && !b.within {
				var why string
				h.KnownMissMoved, why = knownMissVerdict(known, b.reached, b.miss, b.bd.Tolerance)
				if why != "" {
					h.Reason += "; " + why
				}
			}
			out = append(out, h)
		}
	}
	return out
}

// BacklogPhase is the Network Manager backlog measured as the real one is
// dated: from the first new instance that launched without connectivity
// (the real 6:21: "new instances launch without connectivity"; here the
// connectivity probe's impact start, an instance still unpropagated after
// ConnectivityGrace) to the moment propagation is back to normal (the real
// 10:36; here the end of the netmgr-backlog impact window, the queue's head
// wait back under BacklogWait, the first such window to end after the start).
func BacklogPhase(snap *timeline.Snapshot) timeline.Phase {
	conn, nm := snap.Phase(CompConnectivity), snap.Phase(CompNetMgr)
	if !conn.Impacted() {
		return timeline.Phase{Component: CompNetMgr, Samples: nm.Samples}
	}
	start := conn.ImpactStart
	openPhase := timeline.Phase{Component: CompNetMgr, Samples: nm.Samples, ImpactStart: start, FirstSymptom: start, Windows: []timeline.Window{{Start: start}}}
	var end time.Time
	for _, w := range nm.Windows {
		if w.Open() {
			return openPhase
		}
		if w.End.After(start) {
			end = w.End // the first window that ends after the start
			break
		}
	}
	if end.IsZero() {
		if !conn.Recovered {
			return openPhase
		}
		end = conn.ImpactEnd // the queue never waited long: connectivity's own end
	}
	return timeline.Phase{Component: CompNetMgr, Samples: nm.Samples, ImpactStart: start, FirstSymptom: start, ImpactEnd: end, Recovered: true,
		Windows: []timeline.Window{{Start: start, End: end, LastFailure: end}}}
}

// recoveryAfter is component's recovery from operator action name: from the
// action to the end of the impact window the action fell in.
func recoveryAfter(snap *timeline.Snapshot, name, component string) timeline.Phase {
	p := snap.Phase(component)
	a, ok := snap.Action(name)
	if !ok || !a.Operator {
		return timeline.Phase{Component: component}
	}
	w, in := p.WindowAt(a.Start)
	if !in || w.Open() {
		return timeline.Phase{Component: component, Samples: p.Samples, Windows: []timeline.Window{{Start: a.Start}}, ImpactStart: a.Start}
	}
	return timeline.Phase{Component: component, Samples: p.Samples, ImpactStart: a.Start, FirstSymptom: a.Start, ImpactEnd: w.End, Recovered: true,
		Windows: []timeline.Window{{Start: a.Start, End: w.End, LastFailure: w.LastFailure, Failures: w.Failures}}}
}
