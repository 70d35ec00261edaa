package cascadetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/experiments/use1-2025-10"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// PDT is the incident's zone: the public summary's times are PDT.
var PDT = time.FixedZone("PDT", -7*3600)

// IncidentTime is the incident time of a PDT clock reading: 12:00 to 23:59
// on 19 October 2025, 00:00 to 11:59 on the 20th (the outage ran from
// 23:48 on the 19th to 14:20 on the 20th; use time.Date for afternoons of
// the 20th).
func IncidentTime(hour, minute int) time.Time {
	day := 20
	if hour >= 12 {
		day = 19
	}
	return time.Date(2025, 10, day, hour, minute, 0, 0, PDT)
}

// Times of the real incident a suite may bound its replay by.
var (
	// RecordEmptied is when the regional record was emptied (23:48 PDT).
	RecordEmptied = use1.RecordEmptied
	// DNSRestoredByHand is when the operators restored it (02:25 PDT).
	DNSRestoredByHand = use1.DNSRestoredByHand
	// EventOver is when AWS declared every service normal (14:20 PDT).
	EventOver = use1.EventOver
)

// ReplayOption configures Replay.
type ReplayOption func(*replayOptions) error

type replayOptions struct {
	until        time.Time
	through      bool // ThroughDNSRestore
	afterRestore time.Duration
	probes       []Probe
	every        time.Duration
	progress     func(use1.Progress)
}

// Until ends the replay at incident time t (default the replay's end, 14:30
// PDT on the 20th: about 45 s of wall time at speed 20).
func Until(t time.Time) ReplayOption {
	return func(o *replayOptions) error { o.until = t; return nil }
}

// ThroughDNSRestore ends the replay `after` incident time after DynamoDB
// answers by name again following the operators' hand restore of the
// regional record (cascade's dns-resolve and GetItem probes; an
// emergent moment: the operator model acts on what its probes show, some
// 2 h 40 min after the record emptied, as the real operators restored it at
// 02:25 PDT) or at Until, whichever comes first. The record empties when
// the Enactors' race first succeeds, which may take more than one attempt,
// so a window that follows the restore is steadier than a fixed Until.
func ThroughDNSRestore(after time.Duration) ReplayOption {
	return func(o *replayOptions) error {
		if after < 0 {
			return fmt.Errorf("through DNS restore: %s must not be negative", after)
		}
		o.through, o.afterRestore = true, after
		return nil
	}
}

// WithProbes adds the user's probes.
func WithProbes(ps ...Probe) ReplayOption {
	return func(o *replayOptions) error { o.probes = append(o.probes, ps...); return nil }
}

// ProbeEvery sets the user's probes' period in incident time (default 1
// min: at speed 20, three samples a wall second).
func ProbeEvery(d time.Duration) ReplayOption {
	return func(o *replayOptions) error {
		if d < 10*time.Second {
			return fmt.Errorf("probe period %s: must be at least 10s of incident time", d)
		}
		o.every = d
		return nil
	}
}

// WithProgress calls f with the replay's state about ten times a wall
// second (for a live display).
func WithProgress(f func(use1.Progress)) ReplayOption {
	return func(o *replayOptions) error { o.progress = f; return nil }
}

// Result is what a replay against the user's service showed.
type Result struct {
	// Start and End are the replay's span in incident time.
	Start, End time.Time
	// RecordEmpty are the stretches in which the regional DynamoDB record
	// resolved to nothing (as cascade's dns-resolve probe saw it).
	RecordEmpty []timeline.RecordSpan
	// DNSRestored is when the regional record resolved again after the
	// operators' hand restore (cascade's dns-resolve probe saw it: the
	// restore's Route53 changes take incident minutes to land); zero if the
	// replay ended before.
	DNSRestored time.Time
	// Components are the user's components and their probes.
	Components map[string][]string
	// Replay is the replay's own result: its verdict (Passed, Hypotheses:
	// a partial replay fails those it did not reach), phases and operator
	// actions.
	Replay *use1.Result
	// Timeline holds every sample, cascade's and the user's.
	Timeline *timeline.Snapshot
}

// Samples are the samples of the user's component (or probe), in incident
// time order; nil for an unknown name.
func (r *Result) Samples(name string) []timeline.Sample {
	probesOf, ok := r.Components[name]
	if !ok {
		for _, ps := range r.Components {
			if slices.Contains(ps, name) {
				probesOf, ok = []string{name}, true
			}
		}
	}
	if !ok || r.Timeline == nil {
		return nil
	}
	var out []timeline.Sample
	for _, s := range r.Timeline.Samples {
		if slices.Contains(probesOf, s.Probe) {
			out = append(out, s)
		}
	}
	return out
}

// componentNames are the user's components, sorted.
func (r *Result) componentNames() []string {
	out := make([]string, 0, len(r.Components))
	for c := range r.Components {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Report is the replay's timeline as text: cascade's components and the
// user's, one health strip each, with the phases and operator actions.
func (r *Result) Report() string {
	if r.Timeline == nil {
		return ""
	}
	comps := append(append([]string{}, use1ComponentNames()...), r.componentNames()...)
	var notes []string
	if r.Replay != nil {
		notes = append(notes, r.Replay.StallNote())
		if len(r.RecordEmpty) == 0 {
			// the race is emergent: when it did not empty the record, say why
			for _, l := range r.Replay.Trigger.Log {
				notes = append(notes, "trigger "+l)
			}
		}
	}
	return report.Text(r.Timeline, report.Options{Location: PDT, Components: comps, Width: 72, Notes: notes})
}

func use1ComponentNames() []string {
	var out []string
	for _, c := range use1.Components() {
		out = append(out, c.Name)
	}
	return out
}

// Replay runs the incident against the running stack from its clock's
// present (at least 5 incident minutes before the trigger, 23:40 PDT) to
// Until, with the user's probes sampled on the incident clock. The replay's
// faults are reverted when it returns; the stack stays up for more
// assertions until Close. A stack replays once: its clock has passed the
// trigger.
func (s *Stack) Replay(ctx context.Context, opts ...ReplayOption) (*Result, error) {
	o := replayOptions{every: time.Minute}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("cascadetest: replay: %w", err)
		}
	}
	ps, comps, err := userProbes(o.probes)
	if err != nil {
		return nil, fmt.Errorf("cascadetest: replay: %w", err)
	}
	s.mu.Lock()
	again := s.replayed
	s.replayed = true
	s.mu.Unlock()
	if again {
		return nil, fmt.Errorf("cascadetest: replay: stack %s has replayed already (its clock is past the trigger): start a new stack", s.Name())
	}
	done := make(chan struct{})
	ext := &use1.External{Stack: s.h, Probes: ps, ProbePeriod: o.every, Done: done}
	for name, pp := range comps {
		ext.Components = append(ext.Components, timeline.Component{Name: name, Probes: pp})
	}
	sort.Slice(ext.Components, func(i, j int) bool { return ext.Components[i].Name < ext.Components[j].Name })
	cfg := use1.Config{Seed: s.seed, Fixes: s.fixes, End: o.until, External: ext}
	cfg.Progress = progressWatch(o, done)
	res, err := use1.Run(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cascadetest: %w", err)
	}
	out := &Result{Start: res.Start, End: res.Timeline.End, Components: comps, Replay: res, Timeline: res.Timeline}
	for _, sp := range res.Timeline.RecordStates() {
		if sp.State == timeline.RecordEmpty {
			out.RecordEmpty = append(out.RecordEmpty, sp)
		}
	}
	out.DNSRestored = restoredAt(res.Timeline)
	return out, nil
}

// restoredAt is the first time the record resolved after the operators
// began restoring it; zero if it did not in the snapshot.
func restoredAt(snap *timeline.Snapshot) time.Time {
	a, ok := snap.Action("restore-dns")
	if !ok {
		return time.Time{}
	}
	for _, sp := range snap.RecordStates() {
		if sp.State == timeline.RecordResolving && !sp.Start.Before(a.Start) {
			return sp.Start
		}
	}
	return time.Time{}
}

// progressWatch is the replay's progress hook: it forwards to the user's
// and, with ThroughDNSRestore, closes done once the operators restored the
// record and the extra time has passed.
func progressWatch(o replayOptions, done chan struct{}) func(use1.Progress) {
	var once sync.Once
	var resolvedAt time.Time
	sawEmpty := false
	return func(p use1.Progress) {
		if o.progress != nil {
			o.progress(p)
		}
		if !o.through {
			return
		}
		// restored: the record was empty and DynamoDB answers by name again
		// (the operators' phase is not waited for: the ledger shows the
		// restore only once both records' changes returned, minutes later)
		state := p.Services[use1.CompDynamoDB]
		if state == "EMPTY" {
			sawEmpty = true
		}
		if resolvedAt.IsZero() && sawEmpty && state == "ok" {
			resolvedAt = p.Now
		}
		if !resolvedAt.IsZero() && !p.Now.Before(resolvedAt.Add(o.afterRestore)) {
			once.Do(func() { close(done) })
		}
	}
}

// userProbes checks the user's probes (unique names, not cascade's, not in
// cascade's components) and maps components to probe names.
func userProbes(ps []Probe) ([]probes.Probe, map[string][]string, error) {
	reserved := map[string]bool{}
	for _, c := range use1.Components() {
		reserved[c.Name] = true
		for _, p := range c.Probes {
			reserved[p] = true
		}
	}
	seen := map[string]bool{}
	comps := map[string][]string{}
	var out []probes.Probe
	for _, p := range ps {
		switch {
		case p.name == "" || p.sample == nil:
			return nil, nil, fmt.Errorf("probe %q: build probes with HTTPProbe, CommandProbe or MetricProbe", p.name)
		case reserved[p.name]:
			return nil, nil, fmt.Errorf("probe %q: the name is one of cascade's probes or components", p.name)
		case reserved[p.component]:
			return nil, nil, fmt.Errorf("probe %q: component %q is one of cascade's (%v): choose another with InComponent", p.name, p.component, use1ComponentNames())
		case seen[p.name]:
			return nil, nil, fmt.Errorf("probe %q: two probes have that name", p.name)
		}
		seen[p.name] = true
		comps[p.component] = append(comps[p.component], p.name)
		out = append(out, p)
	}
	return out, comps, nil
}
