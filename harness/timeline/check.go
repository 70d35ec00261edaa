package timeline

import (
	"fmt"
	"strings"
	"time"
)

// Check is the verdict of one check over a snapshot: whether it held, why
// (a line per finding), and which part of the timeline explains it. It is a
// plain value so that experiments and the cascade CLI decide verdicts
// without a test framework; harness/matchers wraps each check as a Gomega
// matcher for suites.
type Check struct {
	OK  bool   `json:"ok"`
	Why string `json:"why"`
	// Components and Moments are where to look: the components involved and
	// the instants that decided the check (zero times are ignored).
	Components []string    `json:"components,omitempty"`
	Moments    []time.Time `json:"moments,omitempty"`
}

// CheckZone is the zone checks show clock times in.
var CheckZone = time.UTC

func (s *Snapshot) at(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := t.Sub(s.Start)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s (%s%s)", t.In(CheckZone).Format("15:04:05"), sign, d.Round(time.Second))
}

// Describe is a one-line account of p: never impaired, impaired from/to, or
// still open.
func (s *Snapshot) Describe(p Phase) string {
	switch {
	case p.Samples == 0:
		var probes []string
		if c, ok := s.Component(p.Component); ok {
			probes = c.Probes
		}
		return fmt.Sprintf("%s has no samples (probes %v)", p.Component, probes)
	case !p.Impacted() && p.FirstSymptom.IsZero():
		return fmt.Sprintf("%s was never impaired (%d samples)", p.Component, p.Samples)
	case !p.Impacted():
		return fmt.Sprintf("%s had only flakes (first at %s), no impact window", p.Component, s.at(p.FirstSymptom))
	case !p.Recovered:
		return fmt.Sprintf("%s impaired from %s, not recovered by the end (%s); %d window(s)", p.Component, s.at(p.ImpactStart), s.at(s.End), len(p.Windows))
	default:
		d, _ := p.Duration()
		return fmt.Sprintf("%s impaired %s to %s (%s); %d window(s)", p.Component, s.at(p.ImpactStart), s.at(p.ImpactEnd), d, len(p.Windows))
	}
}

func (s *Snapshot) unknown(c string) (Check, bool) {
	if _, ok := s.Component(c); ok {
		return Check{}, false
	}
	return Check{Why: fmt.Sprintf("no component %q; components are %v", c, s.ComponentNames())}, true
}

// CheckSymptomOrder holds when every component was impacted (a debounced
// impact window) and their first symptoms come in the given order, each
// strictly before the next: a component that never failed proves no order.
func CheckSymptomOrder(s *Snapshot, components ...string) Check {
	v := Check{Components: components}
	if len(components) < 2 {
		v.Why = "a symptom order needs at least two components"
		return v
	}
	var lines []string
	var prev Phase
	ok := true
	for i, c := range components {
		if u, bad := s.unknown(c); bad {
			u.Components = components
			return u
		}
		p := s.Phase(c)
		lines = append(lines, s.Describe(p))
		if !p.Impacted() {
			ok = false
			lines = append(lines, fmt.Sprintf("-> %s has no impact window, so no first symptom to order", c))
			continue
		}
		v.Moments = append(v.Moments, p.FirstSymptom)
		if i > 0 && prev.Impacted() && !prev.FirstSymptom.Before(p.FirstSymptom) {
			ok = false
			lines = append(lines, fmt.Sprintf("-> %s's first symptom %s is not after %s's %s",
				c, s.at(p.FirstSymptom), prev.Component, s.at(prev.FirstSymptom)))
		}
		prev = p
	}
	v.OK, v.Why = ok, strings.Join(lines, "\n")
	return v
}

// CheckImpactDuration holds when component was impacted and recovered and
// its impact (first window's start to last window's end) lasted between lo
// and hi. An impact still open at the end fails: its duration is unknown.
func CheckImpactDuration(s *Snapshot, component string, lo, hi time.Duration) Check {
	if u, bad := s.unknown(component); bad {
		return u
	}
	p := s.Phase(component)
	v := Check{Components: []string{component}, Moments: []time.Time{p.ImpactStart, p.ImpactEnd, p.FirstSymptom}, Why: s.Describe(p)}
	d, closed := p.Duration()
	if !closed {
		if p.Impacted() {
			v.Moments = append(v.Moments, s.End)
			v.Why += "\n-> the impact is still open, its duration is unknown"
		}
		return v
	}
	v.OK = d >= lo && d <= hi
	if !v.OK {
		v.Why += fmt.Sprintf("\n-> duration %s is not between %s and %s", d, lo, hi)
	}
	return v
}

// CheckStayImpairedUntil holds when component is impaired when the operator
// action named action is taken, in an impact window that began before it:
// the component did not recover on its own.
func CheckStayImpairedUntil(s *Snapshot, component, action string) Check {
	if u, bad := s.unknown(component); bad {
		return u
	}
	p := s.Phase(component)
	v := Check{Components: []string{component}, Moments: []time.Time{p.ImpactStart, p.ImpactEnd}, Why: s.Describe(p)}
	a, found := s.Action(action)
	if !found {
		v.Why += fmt.Sprintf("\n-> no operator action %q in the ledger (actions: %v)", action, s.actionNames())
		return v
	}
	v.Moments = append(v.Moments, a.Start)
	v.Why += fmt.Sprintf("\n%s at %s", action, s.at(a.Start))
	if !a.Operator {
		v.Why += fmt.Sprintf("\n-> %q is a %s fault, not an operator action", action, a.Kind)
		return v
	}
	w, in := windowAtAction(p, a.Start)
	switch {
	case !p.Impacted():
		v.Why += "\n-> never impaired"
	case !in && p.ImpactStart.After(a.Start):
		v.Why += "\n-> impaired only after the action"
	case !in:
		last := lastEndBefore(p, a.Start)
		v.Moments = append(v.Moments, last)
		v.Why += fmt.Sprintf("\n-> recovered at %s, before the action", s.at(last))
	default:
		v.OK = true
		v.Why += fmt.Sprintf("\nimpaired since %s when the action was taken", s.at(w.Start))
	}
	return v
}

// windowAtAction is the impact window an action taken at t fell in: the
// window open at t, or one whose first good sample came at t itself. A
// sample at the action's very instant was taken after it (one taken before
// it at that instant would have failed and kept the window open), so that
// window was ended by the action (the sim backend samples and acts at the
// same instants; the real backends practically never do).
func windowAtAction(p Phase, t time.Time) (Window, bool) {
	if w, in := p.WindowAt(t); in {
		return w, true
	}
	for _, w := range p.Windows {
		if !w.Open() && w.End.Equal(t) {
			return w, true
		}
	}
	return Window{}, false
}

func lastEndBefore(p Phase, t time.Time) time.Time {
	var last time.Time
	for _, w := range p.Windows {
		if !w.Open() && !w.End.After(t) {
			last = w.End
		}
	}
	return last
}

func (s *Snapshot) actionNames() []string {
	var out []string
	for _, f := range s.OperatorActions() {
		out = append(out, f.Name)
	}
	return out
}

// CheckRecoverWithin holds when component is impaired when action is taken
// and the impact window it is in ends no later than within after it.
func CheckRecoverWithin(s *Snapshot, component string, within time.Duration, action string) Check {
	if u, bad := s.unknown(component); bad {
		return u
	}
	p := s.Phase(component)
	v := Check{Components: []string{component}, Moments: []time.Time{p.ImpactStart}, Why: s.Describe(p)}
	a, found := s.Action(action)
	if !found {
		v.Why += fmt.Sprintf("\n-> no action %q in the ledger (operator actions: %v)", action, s.actionNames())
		return v
	}
	v.Moments = append(v.Moments, a.Start)
	v.Why += fmt.Sprintf("\n%s at %s", action, s.at(a.Start))
	w, in := windowAtAction(p, a.Start)
	switch {
	case !p.Impacted():
		v.Why += "\n-> never impaired, so nothing to recover from"
	case !in:
		v.Why += "\n-> not impaired when the action was taken"
	case w.Open():
		v.Moments = append(v.Moments, s.End)
		v.Why += fmt.Sprintf("\n-> not recovered by the end, %s after the action", s.End.Sub(a.Start))
	default:
		took := w.End.Sub(a.Start)
		v.Moments = append(v.Moments, w.End)
		v.Why += fmt.Sprintf("\nrecovered at %s, %s after the action (limit %s)", s.at(w.End), took, within)
		v.OK = took <= within
		if !v.OK {
			v.Why += "\n-> too late"
		}
	}
	return v
}

// CheckNeverEmpty holds when probe (a resolve probe such as dns-resolve)
// has samples and none saw an empty record.
func CheckNeverEmpty(s *Snapshot, probe string) Check {
	ss := s.Probe(probe)
	v := Check{Components: s.componentsOf(probe)}
	if len(ss) == 0 {
		v.Why = fmt.Sprintf("-> no samples of %s (probes with samples: %v)", probe, s.ProbeNames())
		return v
	}
	var empty []Sample
	for _, x := range ss {
		if IsEmptyAnswer(x) {
			empty = append(empty, x)
		}
	}
	if len(empty) == 0 {
		v.OK = true
		v.Why = fmt.Sprintf("%d samples, none empty", len(ss))
		return v
	}
	v.Moments = []time.Time{empty[0].Time, empty[len(empty)-1].Time}
	v.Why = fmt.Sprintf("-> %d of %d samples empty, first at %s (%s), last at %s; empty for %s in all",
		len(empty), len(ss), s.at(empty[0].Time), empty[0].Code, s.at(empty[len(empty)-1].Time), s.EmptyFor())
	return v
}

// CheckProbeSamples holds when probe has at least n samples.
func CheckProbeSamples(s *Snapshot, probe string, n int) Check {
	got := len(s.Probe(probe))
	return Check{OK: got >= n, Components: s.componentsOf(probe),
		Why: fmt.Sprintf("%d samples of %s (probes with samples: %v)", got, probe, s.ProbeNames())}
}

func (s *Snapshot) componentsOf(probe string) []string {
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
