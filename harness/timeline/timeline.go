package timeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrUnknownFault is returned by EndFault for an id the ledger never saw.
var ErrUnknownFault = errors.New("unknown fault")

// Timeline collects what a run observed, all in incident time: probe samples,
// fault-ledger entries and service events. It is safe for concurrent use: the
// probes, the fault ledger and the event relays all write to it while the run
// goes on, and matchers and reports read immutable Snapshots of it.
type Timeline struct {
	mu          sync.Mutex
	name        string
	start, end  time.Time
	samples     []Sample
	faults      []Fault
	faultIndex  map[string]int
	events      []Event
	components  []Component
	eventProbes []namedEventProbe
	debounce    Debounce
	perComp     map[string]Debounce
}

type namedEventProbe struct {
	probe string
	fn    EventProbe
}

// Option configures a Timeline.
type Option func(*Timeline) error

// WithName names the run (the report's title and the saved file's name).
func WithName(name string) Option {
	return func(t *Timeline) error { t.name = name; return nil }
}

// WithSpan fixes the incident-time span reports draw; without it the span runs
// from the earliest to the latest thing recorded. Either bound may be zero.
func WithSpan(start, end time.Time) Option {
	return func(t *Timeline) error {
		if !start.IsZero() && !end.IsZero() && end.Before(start) {
			return fmt.Errorf("timeline span: end %s before start %s", end, start)
		}
		t.start, t.end = start, end
		return nil
	}
}

// WithDebounce sets the debouncing every component uses unless overridden by
// WithComponentDebounce.
func WithDebounce(d Debounce) Option {
	return func(t *Timeline) error {
		if err := d.validate(); err != nil {
			return err
		}
		t.debounce = d
		return nil
	}
}

// WithComponentDebounce sets the debouncing of one component.
func WithComponentDebounce(component string, d Debounce) Option {
	return func(t *Timeline) error {
		if err := d.validate(); err != nil {
			return fmt.Errorf("%s: %w", component, err)
		}
		t.perComp[component] = d
		return nil
	}
}

// WithComponents replaces the default probe -> component table.
func WithComponents(cs ...Component) Option {
	return func(t *Timeline) error {
		t.components = nil
		for _, c := range cs {
			t.registerLocked(c.Name, c.Probes...)
		}
		return nil
	}
}

// New returns an empty timeline with the default component table and
// debouncing.
func New(opts ...Option) (*Timeline, error) {
	t := &Timeline{
		faultIndex: map[string]int{},
		components: DefaultComponents(),
		debounce:   DefaultDebounce(),
		perComp:    map[string]Debounce{},
	}
	for _, o := range opts {
		if err := o(t); err != nil {
			return nil, fmt.Errorf("new timeline: %w", err)
		}
	}
	return t, nil
}

// MustNew is New for options known to be valid; it panics on a programmer error.
func MustNew(opts ...Option) *Timeline {
	t, err := New(opts...)
	if err != nil {
		panic(err)
	}
	return t
}

// SetSpan fixes the span reports draw (see WithSpan); a zero bound is derived.
func (t *Timeline) SetSpan(start, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start, t.end = start, end
}

// RegisterComponent maps probes to component, adding the component at the end
// of the table if it is new and adding the probes to it otherwise. A probe may
// belong to several components.
func (t *Timeline) RegisterComponent(name string, probes ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.registerLocked(name, probes...)
}

func (t *Timeline) registerLocked(name string, probes ...string) {
	for i := range t.components {
		if t.components[i].Name == name {
			for _, p := range probes {
				if !slices.Contains(t.components[i].Probes, p) {
					t.components[i].Probes = append(t.components[i].Probes, p)
				}
			}
			return
		}
	}
	t.components = append(t.components, Component{Name: name, Probes: slices.Clone(probes)})
}

// RegisterEventProbe derives samples of probe from events: every event added
// from now on is passed to fn, and what it returns is recorded as a sample of
// probe. Map the probe to a component with RegisterComponent.
func (t *Timeline) RegisterEventProbe(probe string, fn EventProbe) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eventProbes = append(t.eventProbes, namedEventProbe{probe: probe, fn: fn})
}

// AddSample records probe samples.
func (t *Timeline) AddSample(ss ...Sample) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples = append(t.samples, ss...)
}

// AddEvent records service events, and the samples the event probes derive
// from them.
func (t *Timeline) AddEvent(evs ...Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ev := range evs {
		t.events = append(t.events, ev)
		for _, ep := range t.eventProbes {
			s, ok := ep.fn(ev)
			if !ok {
				continue
			}
			s.Probe = ep.probe
			if s.Time.IsZero() {
				s.Time = ev.Time
			}
			t.samples = append(t.samples, s)
		}
	}
}

// Consume records the events of ch until ch closes or ctx ends; run it in a
// goroutine over a kit.Events subscription.
func (t *Timeline) Consume(ctx context.Context, ch <-chan Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			t.AddEvent(ev)
		}
	}
}

// AddFault records a ledger entry when a fault is applied (End zero) or an
// operator action is taken. An entry whose ID is already known replaces the
// earlier one (as UpsertFault). An empty ID is given one.
func (t *Timeline) AddFault(f Fault) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.upsertLocked(f)
}

// UpsertFault records f, replacing the entry with the same ID if there is one.
func (t *Timeline) UpsertFault(f Fault) string { return t.AddFault(f) }

func (t *Timeline) upsertLocked(f Fault) string {
	if f.ID == "" {
		for n := len(t.faults) + 1; ; n++ {
			f.ID = fmt.Sprintf("fault-%d", n)
			if _, taken := t.faultIndex[f.ID]; !taken {
				break
			}
		}
	}
	if i, ok := t.faultIndex[f.ID]; ok {
		t.faults[i] = f
		return f.ID
	}
	t.faultIndex[f.ID] = len(t.faults)
	t.faults = append(t.faults, f)
	return f.ID
}

// EndFault records that fault id was reverted at end.
func (t *Timeline) EndFault(id string, end time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.faultIndex[id]
	if !ok {
		return fmt.Errorf("end fault %q: %w", id, ErrUnknownFault)
	}
	t.faults[i].End = end
	return nil
}

// Snapshot returns an immutable, time-sorted copy of everything recorded so far.
func (t *Timeline) Snapshot() *Snapshot {
	t.mu.Lock()
	s := &Snapshot{
		Name:       t.name,
		Start:      t.start,
		End:        t.end,
		Samples:    slices.Clone(t.samples),
		Faults:     slices.Clone(t.faults),
		Events:     slices.Clone(t.events),
		Components: make([]Component, len(t.components)),
		Debounce:   t.debounce,
	}
	for i, c := range t.components {
		s.Components[i] = Component{Name: c.Name, Probes: slices.Clone(c.Probes)}
	}
	if len(t.perComp) > 0 {
		s.ComponentDebounce = make(map[string]Debounce, len(t.perComp))
		for k, v := range t.perComp {
			s.ComponentDebounce[k] = v
		}
	}
	t.mu.Unlock()
	s.normalize()
	return s
}
