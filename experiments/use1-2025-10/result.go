package use1

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/matchers"
	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/stall"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// ResultFormat names the JSON layout of a Result.
const ResultFormat = "cascade-replay/1"

// Tolerance is the largest duration error (percent) an emergent phase may
// have in the fidelity table.
const Tolerance = 25.0

// Result is everything one replay produced: enough to compare two runs.
type Result struct {
	Format      string            `json:"format"`
	Experiment  string            `json:"experiment"`
	Variant     string            `json:"variant"`
	Label       string            `json:"label"`
	Fixes       []string          `json:"fixes"`
	Seed        int64             `json:"seed"`
	Speed       kit.Speed         `json:"speed"`
	Backend     string            `json:"backend"`
	Versions    map[string]string `json:"versions"`
	Calibration Calibration       `json:"calibration"`
	Start       time.Time         `json:"start"` // incident
	End         time.Time         `json:"end"`
	// WallSeconds is the whole replay's wall time; StartupSeconds the
	// stack's start.
	WallSeconds    float64 `json:"wall_seconds"`
	StartupSeconds float64 `json:"startup_seconds"`

	Passed     bool             `json:"passed"`
	Hypotheses []Hypothesis     `json:"hypotheses"`
	Phases     []PhaseMark      `json:"phases"`
	PhaseOrder []string         `json:"phase_order"`
	Fidelity   []FidelityRow    `json:"fidelity"`
	Components []timeline.Phase `json:"components"`
	Steps      []*Step          `json:"steps"`
	Trigger    TriggerInfo      `json:"trigger"`
	Fleet      FleetStats       `json:"fleet"`
	HandOff    HandOffStats     `json:"handoff"`
	NLB        nlbState         `json:"nlb"`
	// Stalls are the machine's stalls during the replay (wall time; see
	// Result.StallNote).
	Stalls   stall.Report       `json:"stalls"`
	Warnings []string           `json:"warnings,omitempty"`
	Timeline *timeline.Snapshot `json:"timeline"`
}

// Hypothesis is one hypothesis of the experiment and its verdict.
type Hypothesis struct {
	Name   string `json:"name"`
	Phase  string `json:"phase"`
	Passed bool   `json:"passed"`
	Reason string `json:"reason"`
}

// PhaseMark is when the replay reached one phase of the real timeline.
type PhaseMark struct {
	Name    string    `json:"name"`
	At      time.Time `json:"at,omitempty"`
	Present bool      `json:"present"`
	Real    time.Time `json:"real"`
	How     string    `json:"how"`
}

// FidelityRow is one row of the fidelity table.
type FidelityRow struct {
	report.FidelityRow
	Component string `json:"component"`
	Emergent  bool   `json:"emergent"`
	Within    bool   `json:"within_tolerance"`
}

func (r *runner) result(snap *timeline.Snapshot, steps []*Step, nlbFinal nlbState, handoff HandOffStats, startup, wall time.Duration) *Result {
	r.mu.Lock()
	trig := r.triggerInfo
	r.mu.Unlock()
	res := &Result{
		Format: ResultFormat, Experiment: "use1-2025-10", Variant: r.cfg.Variant, Label: r.cfg.Label(),
		Fixes: r.cfg.FixSet(), Seed: r.cfg.Seed, Speed: r.cfg.Speed, Backend: r.cfg.Backend, Versions: versions(),
		Calibration: *r.cfg.Calibration, Start: r.cfg.Start, End: r.cfg.End,
		WallSeconds: wall.Seconds(), StartupSeconds: startup.Seconds(),
		Steps: steps, Trigger: trig, Fleet: r.fleet.stats(), HandOff: handoff, NLB: nlbFinal, Timeline: snap,
	}
	if res.Fixes == nil {
		res.Fixes = []string{}
	}
	res.Components = snap.Phases()
	res.Phases = Marks(snap)
	for _, m := range res.Phases {
		if m.Present {
			res.PhaseOrder = append(res.PhaseOrder, m.Name)
		}
	}
	sort.SliceStable(res.PhaseOrder, func(i, j int) bool {
		return markAt(res.Phases, res.PhaseOrder[i]).Before(markAt(res.Phases, res.PhaseOrder[j]))
	})
	res.Fidelity = Fidelity(snap)
	res.Hypotheses = Evaluate(snap, r.cfg.FixSet(), res)
	res.Passed = true
	for _, h := range res.Hypotheses {
		res.Passed = res.Passed && h.Passed
	}
	return res
}

func markAt(ms []PhaseMark, name string) time.Time {
	for _, m := range ms {
		if m.Name == name {
			return m.At
		}
	}
	return time.Time{}
}

func versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v["module"] = bi.Main.Path + "@" + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				v[s.Key] = s.Value
			}
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/Shopify/toxiproxy/v2", "github.com/aws/aws-sdk-go-v2", "github.com/miekg/dns", "github.com/onsi/ginkgo/v2":
				v[d.Path] = d.Version
			}
		}
	}
	return v
}

// TriggerTime is the replay's trigger: the first sample that saw the
// regional record empty (zero when it never emptied).
func TriggerTime(snap *timeline.Snapshot) time.Time {
	for _, s := range snap.Probe(timeline.ProbeDNSResolve) {
		if timeline.IsEmptyAnswer(s) {
			return s.Time
		}
	}
	return time.Time{}
}

// Marks finds each phase of the real timeline in a replay's snapshot, in
// the real order.
func Marks(snap *timeline.Snapshot) []PhaseMark {
	var out []PhaseMark
	add := func(name string, at time.Time, real time.Time, how string) {
		out = append(out, PhaseMark{Name: name, At: at, Present: !at.IsZero(), Real: real, How: how})
	}
	action := func(name string) time.Time {
		if a, ok := snap.Action(name); ok && a.Operator {
			return a.Start
		}
		return time.Time{}
	}
	start := func(c string) time.Time {
		if p := snap.Phase(c); p.Impacted() {
			return p.ImpactStart
		}
		return time.Time{}
	}
	add(PhaseTrigger, TriggerTime(snap), RecordEmptied, "first dns-resolve sample with an empty answer")
	add(PhaseUnresolvable, start(CompDynamoDB), RecordEmptied, "dynamodb impact starts")
	add(PhaseLeaseLoss, start(CompDWFM), RecordEmptied, "dwfm leases below the floor")
	restore := action("restore-dns")
	add(PhaseDNSRestored, restore, DNSRestoredByHand, "operator action restore-dns")
	collapse := time.Time{}
	if p := snap.Phase(CompDWFM); !restore.IsZero() && p.Impacted() {
		if w, ok := p.WindowAt(restore.Add(30 * time.Minute)); ok && !w.Start.After(restore) {
			collapse = restore.Add(30 * time.Minute)
		}
	}
	add(PhaseCollapse, collapse, DNSRestoredByHand.Add(30*time.Minute), "dwfm still impaired 30 min after the restore, DynamoDB back")
	restart := action("restart-dwfm")
	add(PhaseThrottle, restart, DWFMThrottleRestart, "operator action restart-dwfm")
	rec := time.Time{}
	if p := snap.Phase(CompDWFM); p.Impacted() && p.Recovered {
		rec = p.ImpactEnd
	}
	add(PhaseDWFMRecovery, rec, AllLeasesBack, "dwfm impact ends")
	add(PhaseNLBImpact, start(CompNLB), NLBImpactBegins, "nlb impact starts")
	add(PhaseBacklog, start(CompConnectivity), NetMgrLatencyRises, "new instances without connectivity beyond the grace")
	add(PhaseFailoverOff, action("disable-nlb-failover"), NLBFailoverDisabled, "operator action disable-nlb-failover")
	full := time.Time{}
	all := true
	for _, p := range snap.Phases() {
		if !p.Impacted() {
			continue
		}
		if !p.Recovered {
			all = false
			break
		}
		if p.ImpactEnd.After(full) {
			full = p.ImpactEnd
		}
	}
	if !all {
		full = time.Time{}
	}
	add(PhaseFullRecovery, full, EventOver, "last component's impact ends")
	return out
}

// expectedOrder is the real order of onset; phases within one group may
// come in either order. The last leases (5:28), the NLB's flapping (5:30)
// and the backlog seen by new instances (6:21) all follow the restarts: in
// the replay launches resume on the first re-leased droplets, so new NLB
// targets (and their flapping) may come before the last droplet's lease.
var expectedOrder = [][]string{
	{PhaseTrigger}, {PhaseUnresolvable}, {PhaseLeaseLoss}, {PhaseDNSRestored}, {PhaseCollapse}, {PhaseThrottle},
	{PhaseDWFMRecovery, PhaseNLBImpact, PhaseBacklog}, {PhaseFailoverOff}, {PhaseFullRecovery},
}

// CheckOrder reports whether every phase of the real timeline is present
// and in the real order.
func CheckOrder(marks []PhaseMark) (bool, string) { return checkOrder(marks, true) }

// CheckOrderPresent reports whether the phases present are in the real
// order (a mitigation removes some phases; the rest must keep their order).
func CheckOrderPresent(marks []PhaseMark) (bool, string) { return checkOrder(marks, false) }

func checkOrder(marks []PhaseMark, requireAll bool) (bool, string) {
	byName := map[string]PhaseMark{}
	for _, m := range marks {
		byName[m.Name] = m
	}
	var missing, wrong []string
	var prevMax time.Time
	prevGroup := ""
	for _, g := range expectedOrder {
		var gmin, gmax time.Time
		for _, n := range g {
			m := byName[n]
			if !m.Present {
				if requireAll {
					missing = append(missing, n)
				}
				continue
			}
			if gmin.IsZero() || m.At.Before(gmin) {
				gmin = m.At
			}
			if m.At.After(gmax) {
				gmax = m.At
			}
		}
		if gmin.IsZero() {
			continue
		}
		if !prevMax.IsZero() && gmin.Before(prevMax) {
			wrong = append(wrong, fmt.Sprintf("%s (%s) before %s (%s)", strings.Join(g, "/"), clockPDT(gmin), prevGroup, clockPDT(prevMax)))
		}
		prevMax, prevGroup = gmax, strings.Join(g, "/")
	}
	var b strings.Builder
	if len(missing) > 0 {
		fmt.Fprintf(&b, "missing: %s; ", strings.Join(missing, ", "))
	}
	if len(wrong) > 0 {
		fmt.Fprintf(&b, "out of order: %s; ", strings.Join(wrong, "; "))
	}
	if b.Len() == 0 {
		if !requireAll {
			return true, "the phases present are in the real order"
		}
		return true, "every phase present, in the real order"
	}
	return false, strings.TrimSuffix(b.String(), "; ")
}

func clockPDT(t time.Time) string { return t.In(pdt).Format("15:04") }

// Fidelity compares the replay's phases with the real ones. Starts are
// offsets from each run's trigger (the real 23:48, the replay's first empty
// answer); durations are incident time, that is scaled back from wall time
// by the replay's speed.
func Fidelity(snap *timeline.Snapshot) []FidelityRow {
	origin := TriggerTime(snap)
	if origin.IsZero() {
		origin = RecordEmptied
	}
	var out []FidelityRow
	for _, rp := range RealPhases {
		ph := snap.Phase(rp.Component)
		switch rp.Name {
		case PhaseDWFMRecovery:
			ph = recoveryAfter(snap, "restart-dwfm", CompDWFM)
		case PhaseBacklog:
			ph = BacklogPhase(snap)
		}
		row := report.NewFidelityRow(rp.Name, ph, origin, rp.Start, rp.End, RecordEmptied)
		if row.Note == "" {
			row.Note = rp.Note
		} else if rp.Note != "" {
			row.Note += "; " + rp.Note
		}
		e := row.Error()
		row.ErrorPct = e
		if math.IsNaN(e) {
			row.ErrorPct = 0 // JSON has no NaN; Error() computes it again
		}
		out = append(out, FidelityRow{FidelityRow: row, Component: rp.Component, Emergent: rp.Emergent,
			Within: !math.IsNaN(e) && math.Abs(e) <= Tolerance})
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
	var end time.Time
	open := false
	for _, w := range nm.Windows {
		if w.Open() {
			open = true
			break
		}
		if w.End.After(start) {
			end = w.End // the first window that ends after the start
			break
		}
	}
	if open || end.IsZero() {
		if !conn.Recovered {
			return timeline.Phase{Component: CompNetMgr, Samples: nm.Samples, ImpactStart: start, FirstSymptom: start, Windows: []timeline.Window{{Start: start}}}
		}
		if end.IsZero() {
			end = conn.ImpactEnd // the queue never waited long: connectivity's own end
		}
	}
	if open {
		return timeline.Phase{Component: CompNetMgr, Samples: nm.Samples, ImpactStart: start, FirstSymptom: start, Windows: []timeline.Window{{Start: start}}}
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

// Evaluate checks the hypotheses that apply to the fixes turned on.
func Evaluate(snap *timeline.Snapshot, fixes []string, res *Result) []Hypothesis {
	has := func(f string) bool { return slices.Contains(fixes, f) }
	var out []Hypothesis
	add := func(name, phase string, ok bool, reason string) {
		out = append(out, Hypothesis{Name: name, Phase: phase, Passed: ok, Reason: strings.TrimSpace(reason)})
	}
	match := func(m types.GomegaMatcher) (bool, string) {
		ok, err := m.Match(snap)
		if err != nil {
			return false, err.Error()
		}
		if ok {
			return true, "held"
		}
		msg := m.FailureMessage(snap)
		if i := strings.Index(msg, "\n\n"); i > 0 {
			msg = msg[:i] // the reason, without the timeline slice
		}
		return false, msg
	}
	trigger := TriggerTime(snap)

	// Steady state: nothing failing before the enactor is delayed. A lone
	// flap of a target launched in the night is the as-was NLB's ordinary
	// behaviour (in service before its state has reached every node), not a
	// departure from steady state; lost capacity or an AZ out of DNS is.
	var early []string
	for _, c := range []string{CompDynamoDB, CompDWFM, CompEC2, CompNLB} {
		for _, pt := range snap.Health(c) {
			if c == CompNLB && pt.Code == "flapping" {
				continue
			}
			if pt.Time.Before(TriggerAt) && !pt.OK {
				early = append(early, fmt.Sprintf("%s at %s (%s)", c, clockPDT(pt.Time), pt.Code))
				break
			}
		}
	}
	add("steady state holds before the trigger", "steady-state", len(early) == 0, orHeld(strings.Join(early, "; ")))

	// Nothing in the method edits DNS: no dns-edit fault in the ledger.
	var edits []string
	for _, f := range snap.Faults {
		if f.Kind == "dns-edit" {
			edits = append(edits, f.Name)
		}
	}
	add("nothing empties DNS directly (the only trigger is the enactor delay)", PhaseTrigger, len(edits) == 0, orHeld(strings.Join(edits, ", ")))

	if has(harness.FixEnactorCAS) {
		ok, why := match(matchers.NeverEmpty(timeline.ProbeDNSResolve))
		add("the delayed enactor never empties the record (compare-and-swap)", PhaseTrigger, ok, why)
	} else {
		stuck := 0
		for _, ev := range snap.Events {
			if ev.Kind == "endpoint-failed" && fmt.Sprint(ev.Fields["endpoint"]) == "regional" && fmt.Sprint(ev.Fields["code"]) == "InvalidChangeBatch" && !trigger.IsZero() && ev.Time.After(trigger) {
				stuck++
			}
		}
		add("the race empties the regional record and the automation cannot repair it", PhaseTrigger, !trigger.IsZero() && stuck > 0,
			fmt.Sprintf("first empty answer %s; %d failed Enactor transactions on the regional endpoint afterwards (trigger: A delayed on g%d, overtaken by %s with g%d)",
				at0(trigger), stuck, res.Trigger.StaleGen, res.Trigger.OvertakenBy, res.Trigger.NewerGen))
		ok1, why1 := match(matchers.StayImpairedUntil(CompDynamoDB, "restore-dns"))
		ok2, why2 := match(matchers.RecoverWithin(CompDynamoDB, 30*time.Minute, "restore-dns"))
		add("DynamoDB stays unresolvable until DNS is restored by hand, and recovers within 30 min of it", PhaseUnresolvable, ok1 && ok2, why1+"; "+why2)
		ok, why := match(matchers.SymptomOrder(CompDynamoDB, CompDWFM, CompEC2))
		isc := countCode(snap, timeline.ProbeEC2Launch, "InsufficientInstanceCapacity")
		add("leases expire after DynamoDB goes, then launches fail with InsufficientInstanceCapacity", PhaseLeaseLoss, ok && isc > 0,
			fmt.Sprintf("%s; %d InsufficientInstanceCapacity launch samples", why, isc))
		if has(harness.FixDWFMAdmission) {
			p := snap.Phase(CompDWFM)
			restore, _ := snap.Action("restore-dns")
			_, restarted := snap.Action("restart-dwfm")
			ok := p.Recovered && !restarted && !restore.Start.IsZero() && p.ImpactEnd.Sub(restore.Start) <= 90*time.Minute
			add("DWFM re-leases its fleet by itself within 90 min of DNS coming back (admission control)", PhaseCollapse, ok,
				fmt.Sprintf("dwfm impact ends %s, restore-dns %s, restarted: %v", at0(p.ImpactEnd), at0(restore.Start), restarted))
		} else {
			ok1, why1 := match(matchers.StayImpairedUntil(CompDWFM, "restart-dwfm"))
			ddbOK := healthyShare(snap, CompDynamoDB, DNSRestoredByHand.Add(30*time.Minute), DWFMThrottleRestart)
			add("DWFM collapses: no forward progress until the operators restart it, while DynamoDB is healthy", PhaseCollapse, ok1 && ddbOK >= 0.9,
				fmt.Sprintf("%s; DynamoDB healthy in %.0f%% of its points in between", why1, 100*ddbOK))
			ok2, why2 := match(matchers.RecoverWithin(CompDWFM, 2*time.Hour, "restart-dwfm"))
			rle := countCode(snap, timeline.ProbeEC2Launch, "RequestLimitExceeded")
			add("throttling and restarting DWFM brings every lease back within 2 h, launches see RequestLimitExceeded meanwhile", PhaseThrottle, ok2 && rle > 0,
				fmt.Sprintf("%s; %d RequestLimitExceeded launch samples", why2, rle))
		}
	}
	cascade := !has(harness.FixEnactorCAS)
	conn := snap.Phase(CompConnectivity)
	// The backlog needs the DWFM collapse's re-lease writes and an
	// unthrottled Network Manager; admission control in either bounds it.
	bigBacklog := cascade && !has(harness.FixNetMgrThrottle) && !has(harness.FixDWFMAdmission)
	if bigBacklog {
		ok, why := match(matchers.HaveImpactWindow(CompConnectivity, matchers.BetweenMinutes(60, 24*60)))
		add("Network Manager's backlog leaves new instances without connectivity for hours", PhaseBacklog, ok, why)
	} else {
		d, _ := conn.Duration()
		ok := !conn.Impacted() || (conn.Recovered && d <= 90*time.Minute)
		add("new instances get connectivity within 90 min at worst", PhaseBacklog, ok, conn.String())
	}
	if has(harness.FixNLBVelocity) {
		ok := res.NLB.MaxRemovedPerWindow <= 0.34+1e-9
		add("NLB velocity control removes at most one AZ in any window", PhaseNLBImpact, ok,
			fmt.Sprintf("max share of AZs removed within a window %.2f, max out at once %.2f", res.NLB.MaxRemovedPerWindow, res.NLB.MaxCapacityRemoved))
	} else if cascade && has(harness.FixNetMgrThrottle) {
		add("NLB automatic failover removes no capacity (admission control bounds the propagation delay behind the flapping)", PhaseNLBImpact, res.NLB.Removals == 0,
			fmt.Sprintf("%s; %d flaps, %d removals", snap.Phase(CompNLB).String(), res.NLB.Flaps, res.NLB.Removals))
	} else if cascade && !bigBacklog {
		// DWFM's admission control bounds the backlog to the fleet's one
		// re-lease (about an hour of Network Manager's work), but an as-was
		// Network Manager and NLB still let the targets launched meanwhile
		// flap, and failover may remove capacity: what is bounded is when
		// it ends.
		nlb := snap.Phase(CompNLB)
		restore, _ := snap.Action("restore-dns")
		ok := !nlb.Impacted() || (nlb.Recovered && !restore.Start.IsZero() && nlb.ImpactEnd.Sub(restore.Start) <= 3*time.Hour)
		add("NLB impact, if any, is over within 3 h of DNS coming back (the backlog behind the flapping stays bounded)", PhaseNLBImpact, ok,
			fmt.Sprintf("%s; %d flaps, %d removals; restore-dns %s", nlb.String(), res.NLB.Flaps, res.NLB.Removals, at0(restore.Start)))
	} else if cascade {
		nlb := snap.Phase(CompNLB)
		ok := nlb.Impacted() && res.NLB.Flaps > 0 && res.NLB.MaxCapacityRemoved > 0
		add("NLB health checks flap on new instances and automatic failover removes capacity", PhaseNLBImpact, ok,
			fmt.Sprintf("%s; %d flaps, %d removals, max capacity out %.2f", nlb.String(), res.NLB.Flaps, res.NLB.Removals, res.NLB.MaxCapacityRemoved))
	}
	if a, ok := snap.Action("disable-nlb-failover"); ok && a.Operator {
		end := snap.FaultEnd(a)
		if e, ok := snap.Action("enable-nlb-failover"); ok {
			end = e.Start
		}
		removed := 0
		for _, ev := range snap.Events {
			if ev.Kind == "az-failover" && fmt.Sprint(ev.Fields["action"]) == "removed" && ev.Time.After(a.Start) && ev.Time.Before(end) {
				removed++
			}
		}
		add("with automatic failover disabled no capacity leaves DNS", PhaseFailoverOff, removed == 0, fmt.Sprintf("%d AZ removals while disabled", removed))
	}
	var open []string
	for _, p := range snap.Phases() {
		if p.Impacted() && !p.Recovered {
			open = append(open, p.Component)
		}
	}
	add("every component has recovered by the end", PhaseFullRecovery, len(open) == 0, orHeld("still impaired: "+strings.Join(open, ", ")))
	if len(fixes) == len(harness.AllFixes) {
		var hit []string
		for _, c := range []string{CompDWFM, CompEC2, CompConnectivity, CompNLB} {
			if snap.Phase(c).Impacted() {
				hit = append(hit, c)
			}
		}
		var taken []string
		for _, f := range snap.OperatorActions() {
			taken = append(taken, f.Name)
		}
		add("no cascade: no lease, launch, connectivity or NLB impact, and no operator action needed", PhaseFullRecovery,
			len(hit) == 0 && len(taken) == 0, fmt.Sprintf("impacted: %v; operator actions: %v", hit, taken))
	}
	switch {
	case cascade && len(fixes) == 0:
		ok, why := CheckOrder(res.Phases)
		add("every phase of the real timeline is present, in the real order", "order", ok, why)
	case cascade:
		ok, why := CheckOrderPresent(res.Phases)
		add("the phases that remain come in the real order", "order", ok, why)
	}
	return out
}

func orHeld(s string) string {
	if strings.TrimSpace(strings.TrimPrefix(s, "still impaired: ")) == "" {
		return "held"
	}
	return s
}

func at0(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return clockPDT(t)
}

func countCode(snap *timeline.Snapshot, probe, code string) int {
	n := 0
	for _, s := range snap.Probe(probe) {
		if s.Code == code {
			n++
		}
	}
	return n
}

// healthyShare is the share of component's health points in [from, to)
// that are OK (1 when there are none).
func healthyShare(snap *timeline.Snapshot, component string, from, to time.Time) float64 {
	n, ok := 0, 0
	for _, p := range snap.Health(component) {
		if p.Time.Before(from) || !p.Time.Before(to) {
			continue
		}
		n++
		if p.OK {
			ok++
		}
	}
	if n == 0 {
		return 1
	}
	return float64(ok) / float64(n)
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(r)
}

// Save writes the result to path.
func (r *Result) Save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// LoadResult reads a result written by Save.
func LoadResult(path string) (*Result, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("load result %s: %w", path, err)
	}
	return &r, nil
}

// Outcome is what two replays with the same seed must agree on: the
// verdict, each hypothesis's verdict, and the order of the phases. Phases
// of one onset group (expectedOrder: the last leases, the NLB's flapping
// and the backlog, which the real night also saw within an hour) are
// unordered within the group, as CheckOrder treats them.
type Outcome struct {
	Passed     bool            `json:"passed"`
	Hypotheses map[string]bool `json:"hypotheses"`
	// Groups is the phase order as onset groups ("a" or "a/b" for a group
	// whose members are present), in the order they came.
	Groups []string `json:"groups"`
}

// Outcome is the result's outcome.
func (r *Result) Outcome() Outcome {
	o := Outcome{Passed: r.Passed, Hypotheses: map[string]bool{}}
	for _, h := range r.Hypotheses {
		o.Hypotheses[h.Phase+": "+h.Name] = h.Passed
	}
	group := map[string]int{}
	for i, g := range expectedOrder {
		for _, n := range g {
			group[n] = i
		}
	}
	seen := map[int]bool{}
	for _, n := range r.PhaseOrder {
		gi, ok := group[n]
		if !ok {
			o.Groups = append(o.Groups, n)
			continue
		}
		if seen[gi] {
			continue
		}
		seen[gi] = true
		var present []string
		for _, m := range expectedOrder[gi] {
			if slices.Contains(r.PhaseOrder, m) {
				present = append(present, m)
			}
		}
		o.Groups = append(o.Groups, strings.Join(present, "/"))
	}
	return o
}

// SameOutcome reports whether two replays agree on their Outcome, and if
// not, how they differ.
func SameOutcome(a, b *Result) (bool, string) {
	oa, ob := a.Outcome(), b.Outcome()
	var diff []string
	if oa.Passed != ob.Passed {
		diff = append(diff, fmt.Sprintf("verdict %v vs %v", oa.Passed, ob.Passed))
	}
	names := map[string]bool{}
	for n := range oa.Hypotheses {
		names[n] = true
	}
	for n := range ob.Hypotheses {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		va, oka := oa.Hypotheses[n]
		vb, okb := ob.Hypotheses[n]
		if va != vb || oka != okb {
			diff = append(diff, fmt.Sprintf("hypothesis %q: %v vs %v", n, va, vb))
		}
	}
	if !slices.Equal(oa.Groups, ob.Groups) {
		diff = append(diff, fmt.Sprintf("phase order %v vs %v", oa.Groups, ob.Groups))
	}
	if len(diff) == 0 {
		return true, "same verdict, hypotheses and phase order"
	}
	return false, strings.Join(diff, "; ")
}
