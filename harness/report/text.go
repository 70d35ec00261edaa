package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// Strip characters of the text report.
const (
	chHealthy  = '█'
	chImpaired = '░'
	chMixed    = '▒'
	chNoData   = '·'
	chFault    = '━'
	chAction   = '▲'
)

// Text renders the text report as a string.
func Text(snap *timeline.Snapshot, opts Options) string {
	var b strings.Builder
	_ = WriteText(&b, snap, opts)
	return b.String()
}

// WriteText writes the plain-text timeline: header, fault ledger, phases per
// component, and health strips over incident time with hour ticks.
func WriteText(w io.Writer, snap *timeline.Snapshot, opts Options) error {
	o := opts.withDefaults(snap)
	snap = view(snap, o)
	bw := bufio.NewWriter(w)
	clk := func(t time.Time) string { return t.In(o.Location).Format("15:04") }
	off := func(t time.Time) string { return offset(t.Sub(o.Origin)) }

	fmt.Fprintf(bw, "== %s ==\n", o.Title)
	fmt.Fprintf(bw, "span %s .. %s %s (%s incident time); %d samples, %d faults, %d events\n",
		snap.Start.In(o.Location).Format("2006-01-02 15:04"), clk(snap.End), o.Location,
		human(snap.Duration()), len(snap.Samples), len(snap.Faults), len(snap.Events))
	for _, n := range o.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}

	fmt.Fprintf(bw, "\nFaults and operator actions\n")
	if len(snap.Faults) == 0 {
		fmt.Fprintf(bw, "  (none)\n")
	}
	for _, f := range snap.Faults {
		mark, kind := "■", f.Kind
		if f.Operator {
			mark, kind = "▲", "operator"
		}
		var until string
		switch {
		case f.End.IsZero():
			until = "still active"
		case f.End.Equal(f.Start):
			until = "instant"
		default:
			until = fmt.Sprintf("until %s %s (%s)", clk(f.End), off(f.End), human(f.End.Sub(f.Start)))
		}
		target := ""
		if f.Target != "" {
			target = " on " + f.Target
		}
		fmt.Fprintf(bw, "  %s %s  %s %s %s%s, %s", clk(f.Start), off(f.Start), mark, kind, f.Name, target, until)
		if f.Detail != "" {
			fmt.Fprintf(bw, " [%s]", f.Detail)
		}
		fmt.Fprintln(bw)
	}

	fmt.Fprintf(bw, "\nPhases\n")
	fmt.Fprintf(bw, "  %-14s %-14s %-14s %-14s %-9s %-9s %s\n", "component", "first symptom", "impact start", "impact end", "duration", "recovered", "windows")
	for _, name := range o.Components {
		p := snap.Phase(name)
		sym, st, en, dur, rec := "-", "-", "-", "-", "-"
		if !p.FirstSymptom.IsZero() {
			sym = clk(p.FirstSymptom) + " " + off(p.FirstSymptom)
		}
		if p.Impacted() {
			st = clk(p.ImpactStart) + " " + off(p.ImpactStart)
			rec = "no"
			if p.Recovered {
				en = clk(p.ImpactEnd) + " " + off(p.ImpactEnd)
				d, _ := p.Duration()
				dur, rec = human(d), "yes"
			} else {
				en = "(impaired)"
				dur = ">" + human(snap.End.Sub(p.ImpactStart))
			}
		}
		if p.Samples == 0 {
			rec = "no data"
		}
		fmt.Fprintf(bw, "  %-14s %-14s %-14s %-14s %-9s %-9s %d\n", name, sym, st, en, dur, rec, len(p.Windows))
	}

	if rs := snap.RecordStates(); len(rs) > 0 {
		var empty []string
		for _, r := range rs {
			if r.State == timeline.RecordEmpty {
				empty = append(empty, fmt.Sprintf("%s-%s (%s)", clk(r.Start), clk(r.End), human(r.End.Sub(r.Start))))
			}
		}
		if len(empty) == 0 {
			fmt.Fprintf(bw, "  dns record never seen empty (%d resolves)\n", len(snap.Probe(timeline.ProbeDNSResolve)))
		} else {
			fmt.Fprintf(bw, "  dns record empty %s\n", strings.Join(empty, ", "))
		}
	}

	width := o.Width
	fmt.Fprintf(bw, "\nHealth over incident time (%c healthy  %c impaired  %c mixed  %c no data  %c fault  %c operator action)\n",
		chHealthy, chImpaired, chMixed, chNoData, chFault, chAction)
	label := func(s string) string { return fmt.Sprintf("  %-14.14s", s) }
	fmt.Fprintf(bw, "%s%s\n", label(""), tickLine(snap, o, width))
	fmt.Fprintf(bw, "%s%s\n", label("faults"), faultStrip(snap, width, false))
	fmt.Fprintf(bw, "%s%s\n", label("operator"), faultStrip(snap, width, true))
	if len(snap.Probe(timeline.ProbeDNSResolve)) > 0 {
		fmt.Fprintf(bw, "%s%s\n", label("dns record"), spanStrip(snap, recordSpans(snap), width, map[string]rune{
			string(timeline.RecordResolving): chHealthy, string(timeline.RecordEmpty): chImpaired, string(timeline.RecordUnknown): chMixed,
		}))
	}
	for _, name := range o.Components {
		fmt.Fprintf(bw, "%s%s\n", label(name), healthStrip(snap, name, width))
	}
	if len(o.Fidelity) > 0 {
		fmt.Fprintf(bw, "\nFidelity (replay vs real incident)\n")
		fmt.Fprintf(bw, "  %-22s %-15s %-15s %-8s %-8s %-7s %-5s %s\n", "phase", "replay", "real", "start", "end", "length", "IoU", "note")
		for _, r := range o.Fidelity {
			rp, se, ee, iou := "-", "-", "-", "-"
			if r.Started {
				rp, se = offset(r.ReplayStart)+"..", offset(r.StartError())
			}
			if r.Ended {
				rp, ee, iou = offset(r.ReplayStart)+".."+offset(r.ReplayEnd), offset(r.EndError()), fmt.Sprintf("%.2f", r.IoU)
			}
			fmt.Fprintf(bw, "  %-22s %-15s %-15s %-8s %-8s %-7s %-5s %s\n", r.Phase, rp, offset(r.RealStart)+".."+offset(r.RealEnd),
				se, ee, pct(r.Error()), iou, r.Note)
		}
	}
	return bw.Flush()
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.0f%%", v)
}

// column returns the column of t in a strip of width over the snapshot.
func column(snap *timeline.Snapshot, t time.Time, width int) int {
	d := snap.Duration()
	if d <= 0 {
		return 0
	}
	c := int(float64(t.Sub(snap.Start)) / float64(d) * float64(width))
	return min(max(c, 0), width-1)
}

// tickLine labels whole hours (two digits, in the report's zone) at their
// columns, skipping labels that would overlap.
func tickLine(snap *timeline.Snapshot, o Options, width int) string {
	line := []rune(strings.Repeat(" ", width+2))
	next := 0
	for _, t := range hourTicks(snap.Start, snap.End, o.Location, width/3) {
		c := column(snap, t, width)
		if c < next {
			continue
		}
		lbl := []rune("|" + t.In(o.Location).Format("15"))
		if c+len(lbl) > len(line) {
			break
		}
		copy(line[c:], lbl)
		next = c + len(lbl) + 1
	}
	return strings.TrimRight(string(line), " ")
}

// healthStrip shows a component's health points per column: all passing,
// all failing, both, or (no point in the column) the state carried over.
func healthStrip(snap *timeline.Snapshot, component string, width int) string {
	ok := make([]int, width)
	bad := make([]int, width)
	last := make([]rune, width) // state of the column's last point
	carry := chNoData
	for _, p := range snap.Health(component) {
		if p.Time.Before(snap.Start) {
			carry = map[bool]rune{true: chHealthy, false: chImpaired}[p.OK]
			continue
		}
		if p.Time.After(snap.End) {
			break
		}
		c := column(snap, p.Time, width)
		if p.OK {
			ok[c]++
			last[c] = chHealthy
		} else {
			bad[c]++
			last[c] = chImpaired
		}
	}
	out := make([]rune, width)
	for c := range width {
		switch {
		case ok[c] > 0 && bad[c] > 0:
			out[c] = chMixed
		case ok[c] > 0:
			out[c] = chHealthy
		case bad[c] > 0:
			out[c] = chImpaired
		default:
			out[c] = carry
		}
		if last[c] != 0 {
			carry = last[c]
		}
	}
	return string(out)
}

// spanStrip draws spans, a column showing the state that covers most of it.
func spanStrip(snap *timeline.Snapshot, spans []span, width int, chars map[string]rune) string {
	out := []rune(strings.Repeat(string(chNoData), width))
	d := snap.Duration()
	if d <= 0 || len(spans) == 0 {
		return string(out)
	}
	for c := range width {
		from := snap.Start.Add(time.Duration(float64(d) * float64(c) / float64(width)))
		to := snap.Start.Add(time.Duration(float64(d) * float64(c+1) / float64(width)))
		cover := map[string]time.Duration{}
		for _, sp := range spans {
			lo, hi := later(sp.start, from), earlier(sp.end, to)
			if hi.After(lo) {
				cover[sp.state] += hi.Sub(lo)
			}
		}
		var best string
		var bestD time.Duration
		for st, cd := range cover {
			if cd > bestD || (cd == bestD && st < best) {
				best, bestD = st, cd
			}
		}
		if best != "" {
			out[c] = chars[best]
		}
	}
	return string(out)
}

// faultStrip marks the columns where an injected fault was active (or, with
// operator, where an operator action was taken).
func faultStrip(snap *timeline.Snapshot, width int, operator bool) string {
	out := []rune(strings.Repeat(" ", width))
	for _, f := range snap.Faults {
		if f.Operator != operator {
			continue
		}
		if operator {
			out[column(snap, f.Start, width)] = chAction
			continue
		}
		for c := column(snap, f.Start, width); c <= column(snap, snap.FaultEnd(f), width); c++ {
			out[c] = chFault
		}
	}
	return strings.TrimRight(string(out), " ")
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
