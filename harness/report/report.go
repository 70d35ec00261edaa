package report

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// Options shapes a report. The zero value is usable.
type Options struct {
	// Title heads the report; default "cascade timeline: <snapshot name>".
	Title string
	// Location is the zone clock times are shown in (the incident's PDT, say);
	// default UTC.
	Location *time.Location
	// Width is the number of columns of the text health strips; default 72.
	Width int
	// Components selects and orders the components shown; default every
	// component of the table that has samples (all of them if none has).
	Components []string
	// Fidelity, when set, adds the replay-versus-real table.
	Fidelity []FidelityRow
	// Notes are free lines shown under the title.
	Notes []string
	// From and To narrow the report to a part of the run (phases are still
	// derived from the whole run, strips carry state in from before From);
	// zero means the snapshot's Start and End.
	From, To time.Time
	// Origin is the instant offsets (+HH:MM) are measured from; default the
	// snapshot's Start. Set it when rendering a slice of a longer run.
	Origin time.Time
	// MaxEvents caps the events listed in the HTML event log; default 200,
	// negative for none.
	MaxEvents int
}

// FidelityRow compares one phase of a replay with the real incident, as
// whole intervals. Starts and ends are offsets from one origin (the real
// trigger's instant on the incident clock, say), so the replay's and the
// real boundaries compare directly.
type FidelityRow struct {
	Phase          string        `json:"phase"`
	ReplayStart    time.Duration `json:"replay_start"`
	ReplayEnd      time.Duration `json:"replay_end,omitempty"`
	ReplayDuration time.Duration `json:"replay_duration"`
	RealStart      time.Duration `json:"real_start"`
	RealEnd        time.Duration `json:"real_end"`
	RealDuration   time.Duration `json:"real_duration"`
	// Started and Ended report whether the replay had the phase at all and
	// whether it ended within the run.
	Started bool `json:"started"`
	Ended   bool `json:"ended"`
	// ErrorPct is the replay's duration error in percent of the real one;
	// NaN (or use Error) to have it computed.
	ErrorPct float64 `json:"error_pct"`
	// IoU is the intervals' overlap: |intersection| / |union| of
	// [ReplayStart, ReplayEnd] and [RealStart, RealEnd] (0 disjoint, 1 the
	// same interval; 0 when the replay's phase never started or never ended).
	IoU  float64 `json:"iou"`
	Note string  `json:"note,omitempty"`
}

// StartError and EndError are the replay's boundary minus the real one
// (negative: early).
func (r FidelityRow) StartError() time.Duration { return r.ReplayStart - r.RealStart }

// EndError is the replay's end minus the real end (meaningful when Ended).
func (r FidelityRow) EndError() time.Duration { return r.ReplayEnd - r.RealEnd }

// NewFidelityRow compares a replayed phase with the real one: the replay's
// impact against the real phase [realStart, realEnd], both as offsets from
// origin (one instant on the incident clock). An impact that never started
// or never ended has no duration, and the row says so in its Note.
func NewFidelityRow(name string, replay timeline.Phase, origin, realStart, realEnd time.Time) FidelityRow {
	r := FidelityRow{Phase: name, RealStart: realStart.Sub(origin), RealEnd: realEnd.Sub(origin), RealDuration: realEnd.Sub(realStart), ErrorPct: math.NaN()}
	switch {
	case !replay.Impacted():
		r.Note = "no impact in the replay"
	case !replay.Recovered:
		r.Started = true
		r.ReplayStart = replay.ImpactStart.Sub(origin)
		r.Note = "replay did not recover"
	default:
		d, _ := replay.Duration()
		r.Started, r.Ended = true, true
		r.ReplayStart, r.ReplayEnd, r.ReplayDuration = replay.ImpactStart.Sub(origin), replay.ImpactEnd.Sub(origin), d
		r.IoU = IoU(r.ReplayStart, r.ReplayEnd, r.RealStart, r.RealEnd)
	}
	return r
}

// IoU is the intersection over union of the intervals [a0, a1] and [b0, b1]
// (0 when either is empty or they are disjoint).
func IoU(a0, a1, b0, b1 time.Duration) float64 {
	if a1 <= a0 || b1 <= b0 {
		return 0
	}
	inter := min(a1, b1) - max(a0, b0)
	if inter <= 0 {
		return 0
	}
	union := max(a1, b1) - min(a0, b0)
	return float64(inter) / float64(union)
}

// Error is ErrorPct, or when that is NaN or zero, the duration error
// 100*(replay-real)/real (NaN when the real duration is zero).
func (r FidelityRow) Error() float64 {
	if r.ErrorPct != 0 && !math.IsNaN(r.ErrorPct) {
		return r.ErrorPct
	}
	if r.ReplayDuration == 0 && r.Note != "" {
		return math.NaN() // the replay has no duration to compare
	}
	return DurationErrorPct(r.ReplayDuration, r.RealDuration)
}

// DurationErrorPct is 100*(replay-real)/real, NaN when real is zero.
func DurationErrorPct(replay, real time.Duration) float64 {
	if real == 0 {
		return math.NaN()
	}
	return 100 * float64(replay-real) / float64(real)
}

func (o Options) withDefaults(s *timeline.Snapshot) Options {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Width <= 0 {
		o.Width = 72
	}
	if o.From.IsZero() {
		o.From = s.Start
	}
	if o.To.IsZero() {
		o.To = s.End
	}
	if o.To.Before(o.From) {
		o.To = o.From
	}
	if o.Origin.IsZero() {
		o.Origin = s.Start
	}
	if o.MaxEvents == 0 {
		o.MaxEvents = 200
	}
	if o.Title == "" {
		o.Title = "cascade timeline"
		if s.Name != "" {
			o.Title += ": " + s.Name
		}
	}
	if len(o.Components) == 0 {
		o.Components = s.ObservedComponents()
		if len(o.Components) == 0 {
			o.Components = s.ComponentNames()
		}
	}
	return o
}

// view returns snap seen through the options' From and To: a shallow copy
// with that span and only the faults overlapping it. Samples and events stay
// whole, so health carries in from before the view.
func view(snap *timeline.Snapshot, o Options) *timeline.Snapshot {
	if o.From.Equal(snap.Start) && o.To.Equal(snap.End) {
		return snap
	}
	v := *snap
	v.Start, v.End = o.From, o.To
	v.Faults = nil
	for _, f := range snap.Faults {
		if !f.Start.After(o.To) && !snap.FaultEnd(f).Before(o.From) {
			v.Faults = append(v.Faults, f)
		}
	}
	return &v
}

// Files are the paths WriteDir wrote.
type Files struct {
	Text, HTML, JSON string
}

// WriteDir writes <name>.txt, <name>.html and <name>.json (the snapshot) into
// dir, creating it. name is sanitised into a file name.
func WriteDir(dir, name string, snap *timeline.Snapshot, opts ...Options) (Files, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("write report: %w", err)
	}
	base := filepath.Join(dir, FileName(name))
	files := Files{Text: base + ".txt", HTML: base + ".html", JSON: base + ".json"}
	write := func(path string, fn func(f *os.File) error) error {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := fn(f); err != nil {
			_ = f.Close()
			return fmt.Errorf("write report %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	}
	if err := write(files.Text, func(f *os.File) error { return WriteText(f, snap, o) }); err != nil {
		return files, err
	}
	if err := write(files.HTML, func(f *os.File) error { return WriteHTML(f, snap, o) }); err != nil {
		return files, err
	}
	if err := write(files.JSON, func(f *os.File) error { return snap.Encode(f) }); err != nil {
		return files, err
	}
	return files, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName turns a spec or run name into a file name; a long name is cut
// and given a hash of the whole, so specs sharing a long prefix do not
// overwrite each other's reports.
func FileName(name string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if len(n) > 100 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(name))
		n = fmt.Sprintf("%s-%08x", strings.TrimRight(n[:91], "-."), h.Sum32())
	}
	return cmp.Or(n, "timeline")
}

// offset formats an incident duration since the start as +HH:MM.
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%s%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}

// human formats a duration compactly: 2h52m, 15m, 40s.
func human(d time.Duration) string {
	if d < 0 {
		return "-" + human(-d)
	}
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%dh%02dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		d = d.Round(time.Second)
		if s := int(d.Seconds()) % 60; s != 0 {
			return fmt.Sprintf("%dm%02ds", int(d.Minutes()), s)
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.String()
	}
}

// span is a stretch of time in one state.
type span struct {
	start, end time.Time
	state      string
}

// Health states of a span.
const (
	stHealthy  = "healthy"
	stImpaired = "impaired"
	stMixed    = "mixed" // a drawn column holding both
)

// binSpans resamples spans onto n equal columns of [start, end): a column
// takes the state of the spans covering it, or stMixed if they differ; equal
// neighbours merge. It keeps dense, flapping series legible.
func binSpans(spans []span, start, end time.Time, n int) []span {
	d := end.Sub(start)
	if d <= 0 || n <= 0 {
		return spans
	}
	var out []span
	j := 0
	for c := range n {
		lo := start.Add(time.Duration(float64(d) * float64(c) / float64(n)))
		hi := start.Add(time.Duration(float64(d) * float64(c+1) / float64(n)))
		for j < len(spans) && !spans[j].end.After(lo) {
			j++
		}
		st := ""
		for k := j; k < len(spans) && spans[k].start.Before(hi); k++ {
			if !spans[k].end.After(lo) {
				continue
			}
			switch {
			case st == "":
				st = spans[k].state
			case st != spans[k].state:
				st = stMixed
			}
		}
		if st == "" {
			continue
		}
		if m := len(out); m > 0 && out[m-1].state == st && out[m-1].end.Equal(lo) {
			out[m-1].end = hi
			continue
		}
		out = append(out, span{start: lo, end: hi, state: st})
	}
	return out
}

// healthSpans merges a component's health points into spans, each lasting
// until the next point of another state (the last until the snapshot's end).
func healthSpans(s *timeline.Snapshot, component string) []span {
	var out []span
	for _, p := range s.Health(component) {
		st := stHealthy
		if !p.OK {
			st = stImpaired
		}
		if n := len(out); n > 0 {
			if out[n-1].state == st {
				continue
			}
			out[n-1].end = p.Time
		}
		out = append(out, span{start: p.Time, state: st})
	}
	if n := len(out); n > 0 {
		out[n-1].end = s.End
		if out[n-1].end.Before(out[n-1].start) {
			out[n-1].end = out[n-1].start
		}
	}
	return out
}

func recordSpans(s *timeline.Snapshot) []span {
	var out []span
	for _, r := range s.RecordStates() {
		out = append(out, span{start: r.Start, end: r.End, state: string(r.State)})
	}
	return out
}

// hourTicks returns the whole hours (in loc) within [start, end], thinned to
// at most max ticks.
func hourTicks(start, end time.Time, loc *time.Location, max int) []time.Time {
	if !end.After(start) {
		return nil
	}
	first := start.In(loc).Truncate(time.Hour)
	if first.Before(start) {
		first = first.Add(time.Hour)
	}
	hours := int(end.Sub(first)/time.Hour) + 1
	step := 1
	for max > 0 && hours/step > max {
		step++
	}
	var out []time.Time
	for t := first; !t.After(end); t = t.Add(time.Duration(step) * time.Hour) {
		out = append(out, t)
	}
	return out
}
