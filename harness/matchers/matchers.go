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

// verdict is what a timeline check found (timeline.Check: the plain
// function every matcher wraps).
type verdict = timeline.Check

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
	return m.last.OK, nil
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
	if m.last.Why != "" {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(m.last.Why, "\n", "\n  "))
	}
	b.WriteString("\n")
	b.WriteString(Slice(m.snap, m.last.Components, m.last.Moments...))
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

// HaveSymptomBefore succeeds when cause shows its first symptom strictly
// before effect does. Both must have been impacted (a debounced impact
// window): a component that never failed proves no order.
func HaveSymptomBefore(cause, effect string) types.GomegaMatcher {
	return SymptomOrder(cause, effect)
}

// SymptomOrder succeeds when every component was impacted and their first
// symptoms come in the given order, each strictly before the next
// (timeline.CheckSymptomOrder).
func SymptomOrder(components ...string) types.GomegaMatcher {
	return &timelineMatcher{
		desc:  "show symptoms in the order " + strings.Join(components, " -> "),
		check: func(s *timeline.Snapshot) verdict { return timeline.CheckSymptomOrder(s, components...) },
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
			// the whole range: the duration matcher decides
			v := timeline.CheckImpactDuration(s, component, 0, 1<<62)
			if !v.OK {
				return v
			}
			d, _ := s.Phase(component).Duration()
			ok, err := duration.Match(d)
			if err != nil {
				v.OK, v.Why = false, v.Why+"\n-> duration matcher: "+err.Error()
				return v
			}
			if !ok {
				v.Why += "\n-> " + duration.FailureMessage(d)
			}
			v.OK = ok
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
// component did not recover on its own (timeline.CheckStayImpairedUntil).
func StayImpairedUntil(component, action string) types.GomegaMatcher {
	return &timelineMatcher{
		desc:  fmt.Sprintf("keep %s impaired until operator action %q", component, action),
		check: func(s *timeline.Snapshot) verdict { return timeline.CheckStayImpairedUntil(s, component, action) },
	}
}

// RecoverWithin succeeds when component is impaired when action is taken and
// the impact window it is in ends no later than within after it
// (timeline.CheckRecoverWithin).
func RecoverWithin(component string, within time.Duration, action string) types.GomegaMatcher {
	return &timelineMatcher{
		desc:  fmt.Sprintf("see %s recover within %s of %q", component, within, action),
		check: func(s *timeline.Snapshot) verdict { return timeline.CheckRecoverWithin(s, component, within, action) },
	}
}

// NeverEmpty succeeds when probe (a resolve probe such as "dns-resolve") has
// samples and none saw an empty record (timeline.CheckNeverEmpty).
func NeverEmpty(probe string) types.GomegaMatcher {
	return &timelineMatcher{
		desc:  fmt.Sprintf("never see the record of %s empty", probe),
		check: func(s *timeline.Snapshot) verdict { return timeline.CheckNeverEmpty(s, probe) },
	}
}

// HaveProbeSamples succeeds when probe has at least n samples.
func HaveProbeSamples(probe string, n int) types.GomegaMatcher {
	return &timelineMatcher{
		desc:  fmt.Sprintf("hold at least %d samples of %s", n, probe),
		check: func(s *timeline.Snapshot) verdict { return timeline.CheckProbeSamples(s, probe, n) },
	}
}
