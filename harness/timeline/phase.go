package timeline

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Debounce decides when failing samples are an outage rather than flakes, and
// when passing samples are a recovery rather than a lull.
//
// A component's health points are grouped into failing runs. Two failing runs
// separated by a passing run that is no recovery (fewer than RecoverySamples
// passing points and shorter than RecoveryDuration) are one run: a flapping
// component stays impaired. A run is an impact window when it holds at least
// MinFailures failing points and its failing points span at least MinDuration.
type Debounce struct {
	MinFailures      int           `json:"min_failures"`
	MinDuration      time.Duration `json:"min_duration"`
	RecoverySamples  int           `json:"recovery_samples"`
	RecoveryDuration time.Duration `json:"recovery_duration,omitempty"` // 0: only RecoverySamples counts
	// SymptomLead moves a component's first symptom back from its first
	// impact window to the earliest failing point at most this long before it.
	SymptomLead time.Duration `json:"symptom_lead,omitempty"`
}

// DefaultDebounce is three failing points for an outage and two passing
// points in a row for a recovery.
func DefaultDebounce() Debounce {
	return Debounce{MinFailures: 3, RecoverySamples: 2}
}

func (d Debounce) validate() error {
	switch {
	case d.MinFailures < 1:
		return errors.New("debounce: MinFailures must be >= 1")
	case d.RecoverySamples < 1:
		return errors.New("debounce: RecoverySamples must be >= 1")
	case d.MinDuration < 0 || d.RecoveryDuration < 0 || d.SymptomLead < 0:
		return errors.New("debounce: durations must be >= 0")
	}
	return nil
}

// HealthPoint is a component's health at one sample: OK when the latest sample
// of each of its probes (per source) is OK.
type HealthPoint struct {
	Time  time.Time `json:"time"`
	OK    bool      `json:"ok"`
	Probe string    `json:"probe"` // the probe whose sample made this point
	// Code classifies a failing point: the code of its own sample when that
	// failed, else of the latest sample still failing the component (a
	// passing sample of one probe does not clear another's failure, and the
	// point must say why it fails). A passing point has its sample's code.
	Code string `json:"code,omitempty"`
}

// Window is one impact window: from the first failing point to the first point
// of the recovery (End zero while still impaired at the end of the snapshot).
type Window struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitempty"`
	LastFailure time.Time `json:"last_failure"`
	Failures    int       `json:"failures"`
}

// Open reports a window that had not recovered by the end of the snapshot.
func (w Window) Open() bool { return w.End.IsZero() }

// Contains reports whether t falls within the window (an open window extends
// forever).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && (w.Open() || t.Before(w.End))
}

// Phase is what a component went through: its first symptom, its impact
// (from the start of the first impact window to the end of the last) and
// whether it recovered.
type Phase struct {
	Component    string    `json:"component"`
	FirstSymptom time.Time `json:"first_symptom,omitempty"` // first failing point (of the impact, when there is one)
	ImpactStart  time.Time `json:"impact_start,omitempty"`
	ImpactEnd    time.Time `json:"impact_end,omitempty"` // zero if never impacted or still impaired
	Recovered    bool      `json:"recovered"`
	Windows      []Window  `json:"windows,omitempty"`
	Samples      int       `json:"samples"` // health points seen
}

// Impacted reports whether the component had at least one impact window.
func (p Phase) Impacted() bool { return len(p.Windows) > 0 }

// Duration is the impact's length; ok is false when the component was never
// impacted or is still impaired.
func (p Phase) Duration() (d time.Duration, ok bool) {
	if !p.Impacted() || !p.Recovered {
		return 0, false
	}
	return p.ImpactEnd.Sub(p.ImpactStart), true
}

// WindowAt returns the impact window containing t.
func (p Phase) WindowAt(t time.Time) (Window, bool) {
	for _, w := range p.Windows {
		if w.Contains(t) {
			return w, true
		}
	}
	return Window{}, false
}

func (p Phase) String() string {
	switch {
	case p.Samples == 0:
		return p.Component + ": no samples"
	case !p.Impacted() && p.FirstSymptom.IsZero():
		return p.Component + ": healthy"
	case !p.Impacted():
		return fmt.Sprintf("%s: flakes only, first at %s", p.Component, clock(p.FirstSymptom))
	case !p.Recovered:
		return fmt.Sprintf("%s: impaired from %s, not recovered (%d windows)", p.Component, clock(p.ImpactStart), len(p.Windows))
	default:
		d, _ := p.Duration()
		return fmt.Sprintf("%s: impaired %s-%s (%s, %d windows)", p.Component, clock(p.ImpactStart), clock(p.ImpactEnd), d, len(p.Windows))
	}
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// DebounceOf is the debouncing used for component.
func (s *Snapshot) DebounceOf(component string) Debounce {
	if d, ok := s.ComponentDebounce[component]; ok {
		return d
	}
	if s.Debounce.validate() != nil {
		return DefaultDebounce()
	}
	return s.Debounce
}

// Health is the health series of component: one point per sample of its
// probes, OK when the latest sample of every probe (and, for samples with a
// Source, of every source of the probe) seen so far is OK. A probe not yet
// sampled does not count. A failing point carries the code of the failure
// (HealthPoint.Code). An unknown component has no points.
func (s *Snapshot) Health(component string) []HealthPoint {
	c, ok := s.Component(component)
	if !ok {
		return nil
	}
	member := map[string]bool{}
	for _, p := range c.Probes {
		member[p] = true
	}
	type key struct{ probe, source string }
	latest := map[key]bool{}
	failing := 0
	// the failing keys' samples, newest last: a passing sample's point takes
	// the code of the newest still failing
	var fails []Sample
	var out []HealthPoint
	for _, x := range s.Samples {
		if !member[x.Probe] {
			continue
		}
		k := key{x.Probe, x.Source}
		prev, seen := latest[k]
		if seen && !prev {
			failing--
			fails = slices.DeleteFunc(fails, func(f Sample) bool { return f.Probe == k.probe && f.Source == k.source })
		}
		latest[k] = x.OK
		if !x.OK {
			failing++
			fails = append(fails, x)
		}
		pt := HealthPoint{Time: x.Time, OK: failing == 0, Probe: x.Probe, Code: x.Code}
		if !pt.OK && x.OK {
			pt.Code = fails[len(fails)-1].Code
		}
		out = append(out, pt)
	}
	return out
}

// Windows derives the impact windows of a health series with debouncing d.
func Windows(points []HealthPoint, d Debounce) []Window {
	if d.validate() != nil {
		d = DefaultDebounce()
	}
	type run struct {
		first, last int // indices of the first and last failing point
		fails       int
		end         int // index of the first point of the recovery, -1 if none
	}
	var runs []run
	i := 0
	for i < len(points) {
		if points[i].OK {
			i++
			continue
		}
		r := run{first: i, end: -1}
		for i < len(points) {
			if !points[i].OK {
				r.last = i
				r.fails++
				i++
				continue
			}
			// a passing run: a recovery, or a lull inside the outage?
			j := i
			for j < len(points) && points[j].OK {
				j++
			}
			n := j - i
			var lasted time.Duration
			if j < len(points) {
				lasted = points[j].Time.Sub(points[i].Time)
			} else {
				lasted = points[j-1].Time.Sub(points[i].Time)
			}
			if n >= d.RecoverySamples || (d.RecoveryDuration > 0 && lasted >= d.RecoveryDuration) {
				r.end = i
				i = j
				break
			}
			i = j // a lull: the outage goes on
		}
		runs = append(runs, r)
	}
	var out []Window
	for _, r := range runs {
		if r.fails < d.MinFailures || points[r.last].Time.Sub(points[r.first].Time) < d.MinDuration {
			continue
		}
		w := Window{Start: points[r.first].Time, LastFailure: points[r.last].Time, Failures: r.fails}
		if r.end >= 0 {
			w.End = points[r.end].Time
		}
		out = append(out, w)
	}
	return out
}

// Phase derives the phase of component.
func (s *Snapshot) Phase(component string) Phase {
	pts := s.Health(component)
	d := s.DebounceOf(component)
	p := Phase{Component: component, Samples: len(pts), Windows: Windows(pts, d)}
	if !p.Impacted() {
		for _, pt := range pts {
			if !pt.OK {
				p.FirstSymptom = pt.Time
				break
			}
		}
		return p
	}
	p.ImpactStart = p.Windows[0].Start
	p.FirstSymptom = p.ImpactStart
	for _, pt := range pts {
		if !pt.OK && !pt.Time.Before(p.ImpactStart.Add(-d.SymptomLead)) {
			p.FirstSymptom = pt.Time
			break
		}
	}
	last := p.Windows[len(p.Windows)-1]
	p.Recovered = !last.Open()
	p.ImpactEnd = last.End
	return p
}

// Phases derives the phase of every component of the table, in table order.
func (s *Snapshot) Phases() []Phase {
	out := make([]Phase, 0, len(s.Components))
	for _, c := range s.Components {
		out = append(out, s.Phase(c.Name))
	}
	return out
}
