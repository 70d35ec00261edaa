package timeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Format names the JSON layout of a saved timeline.
const Format = "cascade-timeline/1"

// Snapshot is an immutable, time-sorted view of a Timeline: what matchers and
// reports read. Treat its slices as read-only; they are not shared with the
// Timeline, but a Snapshot may be shared between goroutines.
type Snapshot struct {
	Format string `json:"format"`
	Name   string `json:"name,omitempty"`
	// Start and End are the incident-time span of the run: the ones given to
	// the Timeline, or else the earliest and latest thing recorded.
	Start             time.Time           `json:"start"`
	End               time.Time           `json:"end"`
	Components        []Component         `json:"components"`
	Debounce          Debounce            `json:"debounce"`
	ComponentDebounce map[string]Debounce `json:"component_debounce,omitempty"`
	Samples           []Sample            `json:"samples"`          // sorted by Time
	Faults            []Fault             `json:"faults"`           // sorted by Start
	Events            []Event             `json:"events,omitempty"` // sorted by Time
}

// normalize sorts everything by time and derives a missing span.
func (s *Snapshot) normalize() {
	s.Format = Format
	slices.SortStableFunc(s.Samples, func(a, b Sample) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(s.Events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(s.Faults, func(a, b Fault) int { return a.Start.Compare(b.Start) })
	var lo, hi time.Time
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	for _, x := range s.Samples {
		see(x.Time)
	}
	for _, x := range s.Events {
		see(x.Time)
	}
	for _, f := range s.Faults {
		see(f.Start)
		see(f.End)
	}
	if s.Start.IsZero() {
		s.Start = lo
	}
	if s.End.IsZero() {
		s.End = hi
	}
	if s.End.Before(s.Start) {
		s.End = s.Start
	}
}

// Duration is the incident time the snapshot spans.
func (s *Snapshot) Duration() time.Duration { return s.End.Sub(s.Start) }

// Offset is t as incident time since the snapshot's Start.
func (s *Snapshot) Offset(t time.Time) time.Duration { return t.Sub(s.Start) }

// Probe returns the samples of probe, oldest first.
func (s *Snapshot) Probe(name string) []Sample {
	var out []Sample
	for _, x := range s.Samples {
		if x.Probe == name {
			out = append(out, x)
		}
	}
	return out
}

// ProbeNames lists the probes that have samples, sorted.
func (s *Snapshot) ProbeNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s.Samples {
		if !seen[x.Probe] {
			seen[x.Probe] = true
			out = append(out, x.Probe)
		}
	}
	slices.Sort(out)
	return out
}

// Component returns the named component of the table.
func (s *Snapshot) Component(name string) (Component, bool) {
	for _, c := range s.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// ComponentNames lists the table's components in table order.
func (s *Snapshot) ComponentNames() []string {
	out := make([]string, len(s.Components))
	for i, c := range s.Components {
		out[i] = c.Name
	}
	return out
}

// ObservedComponents lists, in table order, the components that have samples.
func (s *Snapshot) ObservedComponents() []string {
	var out []string
	for _, c := range s.Components {
		if len(s.Health(c.Name)) > 0 {
			out = append(out, c.Name)
		}
	}
	return out
}

// FaultsNamed returns the ledger entries named name (a fault may be applied
// more than once), by start time.
func (s *Snapshot) FaultsNamed(name string) []Fault {
	var out []Fault
	for _, f := range s.Faults {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out
}

// Action returns the first operator action named name, or, when no operator
// action has that name, the first fault named name.
func (s *Snapshot) Action(name string) (Fault, bool) {
	fs := s.FaultsNamed(name)
	for _, f := range fs {
		if f.Operator {
			return f, true
		}
	}
	if len(fs) > 0 {
		return fs[0], true
	}
	return Fault{}, false
}

// OperatorActions returns the ledger entries that are operator actions.
func (s *Snapshot) OperatorActions() []Fault {
	var out []Fault
	for _, f := range s.Faults {
		if f.Operator {
			out = append(out, f)
		}
	}
	return out
}

// Between returns the part of the snapshot within [from, to]: samples and
// events in it and faults overlapping it, with the span set to it.
func (s *Snapshot) Between(from, to time.Time) *Snapshot {
	out := *s
	out.Start, out.End = from, to
	in := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }
	out.Samples = nil
	for _, x := range s.Samples {
		if in(x.Time) {
			out.Samples = append(out.Samples, x)
		}
	}
	out.Events = nil
	for _, x := range s.Events {
		if in(x.Time) {
			out.Events = append(out.Events, x)
		}
	}
	out.Faults = nil
	for _, f := range s.Faults {
		if !f.Start.After(to) && (f.End.IsZero() || !f.End.Before(from)) {
			out.Faults = append(out.Faults, f)
		}
	}
	return &out
}

// Encode writes the snapshot as indented JSON.
func (s *Snapshot) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode timeline: %w", err)
	}
	return nil
}

// Decode reads a snapshot written by Encode.
func Decode(r io.Reader) (*Snapshot, error) {
	var s Snapshot
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode timeline: %w", err)
	}
	if s.Format != "" && s.Format != Format {
		return nil, fmt.Errorf("decode timeline: format %q, want %q", s.Format, Format)
	}
	if err := s.Debounce.validate(); err != nil {
		return nil, fmt.Errorf("decode timeline: %w", err)
	}
	s.normalize()
	return &s, nil
}

// Save writes the snapshot to path as JSON.
func (s *Snapshot) Save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save timeline: %w", err)
	}
	if err := s.Encode(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save timeline: %w", err)
	}
	return nil
}

// Load reads a snapshot saved with Save.
func Load(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load timeline: %w", err)
	}
	defer f.Close()
	return Decode(f)
}

// FaultEnd is when f stops being active within the snapshot: its End, or the
// snapshot's End while it is still active.
func (s *Snapshot) FaultEnd(f Fault) time.Time {
	if f.End.IsZero() {
		return cmp.Or(s.End, f.Start)
	}
	return f.End
}
