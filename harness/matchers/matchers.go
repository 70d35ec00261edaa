package matchers

import (
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Context is how much incident time a failure message shows on each side of
// the moments that decided the match.
var Context = 30 * time.Minute

// Zone is the zone failure messages show clock times in.
var Zone = time.UTC

// snapshotOf accepts the types a timeline matcher can be given.
func snapshotOf(actual any) (*timeline.Snapshot, error) {
	switch a := actual.(type) {
	case *timeline.Snapshot:
		if a == nil {
			return nil, fmt.Errorf("timeline matcher: nil *timeline.Snapshot")
		}
		return a, nil
	case timeline.Snapshot:
		return &a, nil
	case *timeline.Timeline:
		if a == nil {
			return nil, fmt.Errorf("timeline matcher: nil *timeline.Timeline")
		}
		return a.Snapshot(), nil
	default:
		return nil, fmt.Errorf("timeline matcher expects a *timeline.Snapshot or *timeline.Timeline, got %T", actual)
	}
}

// verdict is what a timeline check found: whether it held, why (in a line or
// two), and which part of the timeline explains it.
type verdict struct {
	ok         bool
	why        string
	components []string
	moments    []time.Time // instants the slice must show
}

// timelineMatcher is the full matcher type behind every timeline matcher: it
// exists for the failure message, which renders a slice of the timeline.
type timelineMatcher struct {
	desc  string
	check func(*timeline.Snapshot) verdict

	snap *timeline.Snapshot
	last verdict
}

var _ types.GomegaMatcher = (*timelineMatcher)(nil)

func (m *timelineMatcher) Match(actual any) (bool, error) {
	s, err := snapshotOf(actual)
	if err != nil {
		return false, err
	}
	m.snap = s
	m.last = m.check(s)
	return m.last.ok, nil
}

func (m *timelineMatcher) FailureMessage(any) string {
	return m.message("to " + m.desc)
}

func (m *timelineMatcher) NegatedFailureMessage(any) string {
	return m.message("not to " + m.desc)
}

func (m *timelineMatcher) message(expectation string) string {
	name := m.snap.Name
	if name == "" {
		name = "timeline"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Expected %s %s\n", name, expectation)
	if m.last.why != "" {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(m.last.why, "\n", "\n  "))
	}
	b.WriteString("\n")
	b.WriteString(Slice(m.snap, m.last.components, m.last.moments...))
	return b.String()
}

// Slice renders the part of snap around moments (Context either side; the
// whole run without moments) for components, as text. Matchers put it in
// their failure messages; it is exported for custom assertions.
func Slice(snap *timeline.Snapshot, components []string, moments ...time.Time) string {
	from, to := snap.Start, snap.End
	var lo, hi time.Time
	for _, t := range moments {
		if t.IsZero() {
			continue
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	if !lo.IsZero() {
		from, to = lo.Add(-Context), hi.Add(Context)
		if from.Before(snap.Start) {
			from = snap.Start
		}
		if to.After(snap.End) {
			to = snap.End
		}
	}
	var known []string
	for _, c := range components {
		if _, ok := snap.Component(c); ok {
			known = append(known, c)
		}
	}
	if len(known) == 0 {
		known = nil // the report's default: every observed component
	}
	return report.Text(snap, report.Options{
		Title:      fmt.Sprintf("timeline slice %s .. %s", from.In(Zone).Format("15:04"), to.In(Zone).Format("15:04")),
		Components: known, Location: Zone, Width: 60, From: from, To: to,
	})
}

func at(s *timeline.Snapshot, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s)", t.In(Zone).Format("15:04:05"), offset(t.Sub(s.Start)))
}

func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%s", sign, d.Round(time.Second))
}

func describe(s *timeline.Snapshot, p timeline.Phase) string {
	switch {
	case p.Samples == 0:
		return fmt.Sprintf("%s has no samples (probes %v)", p.Component, probesOf(s, p.Component))
	case !p.Impacted() && p.FirstSymptom.IsZero():
		return fmt.Sprintf("%s was never impaired (%d samples)", p.Component, p.Samples)
	case !p.Impacted():
		return fmt.Sprintf("%s had only flakes (first at %s), no impact window", p.Component, at(s, p.FirstSymptom))
	case !p.Recovered:
		return fmt.Sprintf("%s impaired from %s, not recovered by the end (%s); %d window(s)", p.Component, at(s, p.ImpactStart), at(s, s.End), len(p.Windows))
	default:
		d, _ := p.Duration()
		return fmt.Sprintf("%s impaired %s to %s (%s); %d window(s)", p.Component, at(s, p.ImpactStart), at(s, p.ImpactEnd), d, len(p.Windows))
	}
}

func probesOf(s *timeline.Snapshot, component string) []string {
	c, ok := s.Component(component)
	if !ok {
		return nil
	}
	return c.Probes
}

func unknownComponent(s *timeline.Snapshot, c string) (verdict, bool) {
	if _, ok := s.Component(c); ok {
		return verdict{}, false
	}
	return verdict{why: fmt.Sprintf("no component %q; components are %v", c, s.ComponentNames())}, true
}

// HaveSymptomBefore succeeds when cause shows its first symptom strictly
// before effect does. Both must have been impacted (a debounced impact
// window): a component that never failed proves no order.
func HaveSymptomBefore(cause, effect string) types.GomegaMatcher {
	return SymptomOrder(cause, effect)
}

// SymptomOrder succeeds when every component was impacted and their first
// symptoms come in the given order, each strictly before the next.
func SymptomOrder(components ...string) types.GomegaMatcher {
	return &timelineMatcher{
		desc: "show symptoms in the order " + strings.Join(components, " -> "),
		check: func(s *timeline.Snapshot) verdict {
			v := verdict{components: components}
			if len(components) < 2 {
				v.why = "SymptomOrder needs at least two components"
				return v
			}
			var lines []string
			var prev timeline.Phase
			ok := true
			for i, c := range components {
				if u, bad := unknownComponent(s, c); bad {
					u.components = components
					return u
				}
				p := s.Phase(c)
				lines = append(lines, describe(s, p))
				if !p.Impacted() {
					ok = false
					lines = append(lines, fmt.Sprintf("-> %s has no impact window, so no first symptom to order", c))
					continue
				}
				v.moments = append(v.moments, p.FirstSymptom)
				if i > 0 && prev.Impacted() && !prev.FirstSymptom.Before(p.FirstSymptom) {
					ok = false
					lines = append(lines, fmt.Sprintf("-> %s's first symptom %s is not after %s's %s",
						c, at(s, p.FirstSymptom), prev.Component, at(s, prev.FirstSymptom)))
				}
				prev = p
			}
			v.ok, v.why = ok, strings.Join(lines, "\n")
			return v
		},
	}
}

// HaveImpactWindow succeeds when component was impacted and recovered, and the
// impact's duration (from its first impact window's start to its last one's
// end, in incident time) satisfies duration, e.g. BetweenMinutes(150, 200).
// An impact still open at the end of the timeline fails: its duration is not
// known.
func HaveImpactWindow(component string, duration types.GomegaMatcher) types.GomegaMatcher {
	return &timelineMatcher{
		desc: fmt.Sprintf("have a %s impact window whose duration matches", component),
		check: func(s *timeline.Snapshot) verdict {
			if u, bad := unknownComponent(s, component); bad {
				return u
			}
			p := s.Phase(component)
			v := verdict{components: []string{component}, moments: []time.Time{p.ImpactStart, p.ImpactEnd, p.FirstSymptom}, why: describe(s, p)}
			d, closed := p.Duration()
			if !closed {
				if p.Impacted() {
					v.moments = append(v.moments, s.End)
					v.why += "\n-> the impact is still open, its duration is unknown"
				}
				return v
			}
			ok, err := duration.Match(d)
			if err != nil {
				v.why += "\n-> duration matcher: " + err.Error()
				return v
			}
			if !ok {
				v.why += "\n-> " + duration.FailureMessage(d)
			}
			v.ok = ok
			return v
		},
	}
}

// BetweenMinutes matches a time.Duration within [lo, hi] minutes.
func BetweenMinutes(lo, hi float64) types.GomegaMatcher {
	min := time.Duration(lo * float64(time.Minute))
	max := time.Duration(hi * float64(time.Minute))
	return gcustom.MakeMatcher(func(d time.Duration) (bool, error) {
		return d >= min && d <= max, nil
	}).WithTemplate("Expected duration {{.Actual}} {{.To}} be between {{.Data.Lo}} and {{.Data.Hi}}",
		struct{ Lo, Hi time.Duration }{min, max})
}

// StayImpairedUntil succeeds when component is impaired when the operator
// action named action is taken, in an impact window that began before it: the
// component did not recover on its own. The action must be in the ledger.
func StayImpairedUntil(component, action string) types.GomegaMatcher {
	return &timelineMatcher{
		desc: fmt.Sprintf("keep %s impaired until operator action %q", component, action),
		check: func(s *timeline.Snapshot) verdict {
			if u, bad := unknownComponent(s, component); bad {
				return u
			}
			p := s.Phase(component)
			v := verdict{components: []string{component}, moments: []time.Time{p.ImpactStart, p.ImpactEnd}, why: describe(s, p)}
			a, found := s.Action(action)
			if !found {
				v.why += fmt.Sprintf("\n-> no operator action %q in the ledger (actions: %v)", action, actionNames(s))
				return v
			}
			v.moments = append(v.moments, a.Start)
			v.why += fmt.Sprintf("\n%s at %s", action, at(s, a.Start))
			if !a.Operator {
				v.why += fmt.Sprintf("\n-> %q is a %s fault, not an operator action", action, a.Kind)
				return v
			}
			w, in := p.WindowAt(a.Start)
			switch {
			case !p.Impacted():
				v.why += "\n-> never impaired"
			case !in && p.ImpactStart.After(a.Start):
				v.why += "\n-> impaired only after the action"
			case !in:
				last := lastEndBefore(p, a.Start)
				v.moments = append(v.moments, last)
				v.why += fmt.Sprintf("\n-> recovered at %s, before the action", at(s, last))
			default:
				v.ok = true
				v.why += fmt.Sprintf("\nimpaired since %s when the action was taken", at(s, w.Start))
			}
			return v
		},
	}
}

func lastEndBefore(p timeline.Phase, t time.Time) time.Time {
	var last time.Time
	for _, w := range p.Windows {
		if !w.Open() && !w.End.After(t) {
			last = w.End
		}
	}
	return last
}

func actionNames(s *timeline.Snapshot) []string {
	var out []string
	for _, f := range s.OperatorActions() {
		out = append(out, f.Name)
	}
	return out
}

// RecoverWithin succeeds when component is impaired when action is taken and
// the impact window it is in ends no later than within after it. action is an
// operator action (or, if none has the name, any ledger entry) named action.
func RecoverWithin(component string, within time.Duration, action string) types.GomegaMatcher {
	return &timelineMatcher{
		desc: fmt.Sprintf("see %s recover within %s of %q", component, within, action),
		check: func(s *timeline.Snapshot) verdict {
			if u, bad := unknownComponent(s, component); bad {
				return u
			}
			p := s.Phase(component)
			v := verdict{components: []string{component}, moments: []time.Time{p.ImpactStart}, why: describe(s, p)}
			a, found := s.Action(action)
			if !found {
				v.why += fmt.Sprintf("\n-> no action %q in the ledger (operator actions: %v)", action, actionNames(s))
				return v
			}
			v.moments = append(v.moments, a.Start)
			v.why += fmt.Sprintf("\n%s at %s", action, at(s, a.Start))
			w, in := p.WindowAt(a.Start)
			switch {
			case !p.Impacted():
				v.why += "\n-> never impaired, so nothing to recover from"
			case !in:
				v.why += "\n-> not impaired when the action was taken"
			case w.Open():
				v.moments = append(v.moments, s.End)
				v.why += fmt.Sprintf("\n-> not recovered by the end, %s after the action", s.End.Sub(a.Start))
			default:
				took := w.End.Sub(a.Start)
				v.moments = append(v.moments, w.End)
				v.why += fmt.Sprintf("\nrecovered at %s, %s after the action (limit %s)", at(s, w.End), took, within)
				v.ok = took <= within
				if !v.ok {
					v.why += "\n-> too late"
				}
			}
			return v
		},
	}
}

// NeverEmpty succeeds when probe (a resolve probe such as "dns-resolve") has
// samples and none saw an empty record (no such host, or no addresses).
func NeverEmpty(probe string) types.GomegaMatcher {
	return &timelineMatcher{
		desc: fmt.Sprintf("never see the record of %s empty", probe),
		check: func(s *timeline.Snapshot) verdict {
			ss := s.Probe(probe)
			v := verdict{components: componentsOf(s, probe)}
			if len(ss) == 0 {
				v.why = fmt.Sprintf("-> no samples of %s (probes with samples: %v)", probe, s.ProbeNames())
				return v
			}
			var empty []timeline.Sample
			for _, x := range ss {
				if timeline.IsEmptyAnswer(x) {
					empty = append(empty, x)
				}
			}
			if len(empty) == 0 {
				v.ok = true
				v.why = fmt.Sprintf("%d samples, none empty", len(ss))
				return v
			}
			v.moments = []time.Time{empty[0].Time, empty[len(empty)-1].Time}
			v.why = fmt.Sprintf("-> %d of %d samples empty, first at %s (%s), last at %s; empty for %s in all",
				len(empty), len(ss), at(s, empty[0].Time), empty[0].Code, at(s, empty[len(empty)-1].Time), s.EmptyFor())
			return v
		},
	}
}

func componentsOf(s *timeline.Snapshot, probe string) []string {
	var out []string
	for _, c := range s.Components {
		for _, p := range c.Probes {
			if p == probe {
				out = append(out, c.Name)
				break
			}
		}
	}
	return out
}

// HaveProbeSamples succeeds when probe has at least n samples.
func HaveProbeSamples(probe string, n int) types.GomegaMatcher {
	return &timelineMatcher{
		desc: fmt.Sprintf("hold at least %d samples of %s", n, probe),
		check: func(s *timeline.Snapshot) verdict {
			got := len(s.Probe(probe))
			v := verdict{ok: got >= n, components: componentsOf(s, probe)}
			v.why = fmt.Sprintf("%d samples of %s (probes with samples: %v)", got, probe, s.ProbeNames())
			return v
		},
	}
}
