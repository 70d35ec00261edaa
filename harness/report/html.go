package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// Colours of the chart, shared by the legend.
const (
	colHealthy   = "#2f9e55"
	colImpaired  = "#d64541"
	colMixed     = "#eea09e" // healthy and impaired within one drawn column (flapping)
	colUnknown   = "#b8b8b8"
	colWindow    = "#8e1b17"
	colFault     = "#f0a830"
	colOperator  = "#2f5fd0"
	colGrid      = "#d9d9d9"
	colHourBand  = "#f6f6f6"
	colText      = "#222222"
	colTextFaint = "#666666"
)

// chart geometry, in SVG user units
const (
	maxSpans   = 300 // more health spans than this in a row are binned
	bins       = 500 // columns of a binned row, about two pixels each
	svgWidth   = 1200
	labelWidth = 150
	chartLeft  = 160
	chartRight = svgWidth - 24
	laneH      = 14
	rowGap     = 6
	recordH    = 16
	healthH    = 16
	windowH    = 6
	actionRowH = 13
)

// WriteHTML writes the self-contained HTML report: the SVG chart, a legend,
// the phases table, the fault ledger, the optional fidelity table, an event
// summary and the text timeline. It fetches nothing and needs no script.
func WriteHTML(w io.Writer, snap *timeline.Snapshot, opts Options) error {
	o := opts.withDefaults(snap)
	snap = view(snap, o)
	clk := func(t time.Time) string { return t.In(o.Location).Format("15:04") }
	off := func(t time.Time) string { return offset(t.Sub(o.Origin)) }
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return clk(t) + " (" + off(t) + ")"
	}

	data := htmlData{
		Title: o.Title,
		Span: fmt.Sprintf("%s .. %s %s: %s of incident time; %d samples, %d faults and operator actions, %d events",
			snap.Start.In(o.Location).Format("2006-01-02 15:04"), clk(snap.End), o.Location, human(snap.Duration()),
			len(snap.Samples), len(snap.Faults), len(snap.Events)),
		Notes: o.Notes,
		Chart: chartSVG(snap, o),
		Text:  Text(snap, o),
	}
	for _, name := range o.Components {
		p := snap.Phase(name)
		row := phaseRow{Component: name, Samples: p.Samples, Windows: len(p.Windows), Status: "healthy", Class: "ok"}
		row.FirstSymptom = at(p.FirstSymptom)
		switch {
		case p.Samples == 0:
			row.Status, row.Class = "no data", "nodata"
		case p.Impacted() && p.Recovered:
			d, _ := p.Duration()
			row.ImpactStart, row.ImpactEnd, row.Duration = at(p.ImpactStart), at(p.ImpactEnd), human(d)
			row.Status, row.Class = "recovered", "recovered"
		case p.Impacted():
			row.ImpactStart, row.ImpactEnd = at(p.ImpactStart), "still impaired"
			row.Duration = "> " + human(snap.End.Sub(p.ImpactStart))
			row.Status, row.Class = "impaired at end", "bad"
		case !p.FirstSymptom.IsZero():
			row.Status = "flakes only"
		}
		if row.ImpactStart == "" {
			row.ImpactStart, row.ImpactEnd, row.Duration = "-", "-", "-"
		}
		data.Phases = append(data.Phases, row)
	}
	for _, f := range snap.Faults {
		r := faultRow{ID: f.ID, Kind: f.Kind, Name: f.Name, Target: f.Target, Detail: f.Detail, Start: at(f.Start), Operator: f.Operator}
		switch {
		case f.End.IsZero():
			r.End, r.Duration = "still active", "-"
		case f.End.Equal(f.Start):
			r.End, r.Duration = "instant", "-"
		default:
			r.End, r.Duration = at(f.End), human(f.End.Sub(f.Start))
		}
		data.Faults = append(data.Faults, r)
	}
	for _, r := range o.Fidelity {
		e := r.Error()
		data.Fidelity = append(data.Fidelity, fidelityRow{
			Phase: r.Phase, ReplayStart: offset(r.ReplayStart), ReplayDuration: human(r.ReplayDuration),
			RealStart: offset(r.RealStart), RealDuration: human(r.RealDuration), Error: pct(e), Note: r.Note,
			StartError: offsetIf(r.Started, r.StartError()), EndError: offsetIf(r.Ended, r.EndError()), IoU: fmt.Sprintf("%.2f", r.IoU),
			Class: map[bool]string{true: "bad", false: "ok"}[e > 50 || e < -50],
		})
	}
	data.EventKinds = eventKinds(snap, at)
	if o.MaxEvents > 0 {
		for i, ev := range snap.Events {
			if i == o.MaxEvents {
				data.EventsCut = len(snap.Events) - i
				break
			}
			data.Events = append(data.Events, eventRow{At: at(ev.Time), Service: ev.Service, Kind: ev.Kind, Fields: fields(ev.Fields)})
		}
	}
	if err := writePage(w, data); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

type htmlData struct {
	Title, Span string
	Notes       []string
	Chart       string // SVG markup, escaped by chartSVG
	Phases      []phaseRow
	Faults      []faultRow
	Fidelity    []fidelityRow
	EventKinds  []eventKind
	Events      []eventRow
	EventsCut   int
	Text        string
}

type phaseRow struct {
	Component, FirstSymptom, ImpactStart, ImpactEnd, Duration, Status, Class string
	Samples, Windows                                                         int
}

type faultRow struct {
	ID, Kind, Name, Target, Detail, Start, End, Duration string
	Operator                                             bool
}

type fidelityRow struct {
	Phase, ReplayStart, ReplayDuration, RealStart, RealDuration, Error, Note, Class string
	StartError, EndError, IoU                                                       string
}

func offsetIf(ok bool, d time.Duration) string {
	if !ok {
		return "-"
	}
	return offset(d)
}

type eventKind struct {
	Service, Kind, First, Last string
	Count                      int
}

type eventRow struct{ At, Service, Kind, Fields string }

func eventKinds(snap *timeline.Snapshot, at func(time.Time) string) []eventKind {
	type key struct{ s, k string }
	idx := map[key]int{}
	var out []eventKind
	var last []time.Time
	for _, ev := range snap.Events {
		k := key{ev.Service, ev.Kind}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, eventKind{Service: ev.Service, Kind: ev.Kind, First: at(ev.Time)})
			last = append(last, ev.Time)
		}
		out[i].Count++
		last[i] = ev.Time
	}
	for i := range out {
		out[i].Last = at(last[i])
	}
	return out
}

func fields(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%v", k, m[k])
	}
	return b.String()
}

// svg is a tiny builder of SVG markup; every text it is given is escaped.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func (s *svg) rect(class string, x, y, w, h float64, fill, title string, extra string) {
	if w < 0.6 {
		w = 0.6 // keep very short spans visible
	}
	s.f(`<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s>`, class, x, y, w, h, fill, extra)
	if title != "" {
		s.f(`<title>%s</title>`, esc(title))
	}
	s.f("</rect>\n")
}

func (s *svg) text(class string, x, y float64, anchor, fill, txt string) {
	s.f(`<text class="%s" x="%.1f" y="%.1f" text-anchor="%s" fill="%s">%s</text>`+"\n", class, x, y, anchor, fill, esc(txt))
}

// chartSVG draws the timeline chart.
//
//	  ▼restore-dns        ▼restart-dwfm          operator actions (labels staggered)
//	  |06    |07    |08    |09 ...                 hour ticks (report zone)
//	faults      ━━━━━━━━━                          fault lanes (bands also shade the chart)
//	dns record  ████░░░░░░░████                    resolving / empty / unknown
//	dynamodb    ████░░░░░░████   + impact bar      health per component
//	            +00:00 +01:00 ...                  offsets from the start
func chartSVG(snap *timeline.Snapshot, o Options) string {
	var s svg
	dur := snap.Duration()
	xOf := func(t time.Time) float64 {
		if dur <= 0 {
			return chartLeft
		}
		f := float64(t.Sub(snap.Start)) / float64(dur)
		return chartLeft + min(max(f, 0), 1)*(chartRight-chartLeft)
	}
	clk := func(t time.Time) string { return t.In(o.Location).Format("15:04") }

	// operator actions: labels staggered over up to three levels
	actions := snap.OperatorActions()
	levels := min(len(actions), 3)
	top := float64(levels*actionRowH) + 6
	axisY := top + 14
	y := axisY + 6

	// fault lanes: a greedy interval colouring so overlapping faults stack
	var faults []timeline.Fault
	for _, f := range snap.Faults {
		if !f.Operator {
			faults = append(faults, f)
		}
	}
	lane := make([]int, len(faults))
	var laneEnd []time.Time
	for i, f := range faults {
		l := 0
		for l < len(laneEnd) && laneEnd[l].After(f.Start) {
			l++
		}
		if l == len(laneEnd) {
			laneEnd = append(laneEnd, time.Time{})
		}
		laneEnd[l] = snap.FaultEnd(f).Add(time.Nanosecond)
		lane[i] = l
	}
	lanes := max(len(laneEnd), 1)
	faultsY := y
	y += float64(lanes*laneH) + rowGap
	hasRecord := len(snap.Probe(timeline.ProbeDNSResolve)) > 0
	recordY := y
	if hasRecord {
		y += recordH + rowGap
	}
	compY := y
	rowH := float64(healthH + windowH + 3 + rowGap)
	y += rowH * float64(len(o.Components))
	bottom := y
	height := bottom + 22

	s.f(`<svg id="timeline-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %.0f" width="%d" height="%.0f" role="img" aria-label="%s" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, height, svgWidth, height, esc(o.Title))
	s.f(`<title>%s</title>`+"\n", esc(o.Title))
	s.rect("bg", 0, 0, svgWidth, height, "#ffffff", "", "")

	// hour bands and ticks
	ticks := hourTicks(snap.Start, snap.End, o.Location, 40)
	s.f(`<g class="axis">` + "\n")
	for i, t := range ticks {
		x := xOf(t)
		if i%2 == 0 {
			end := snap.End
			if i+1 < len(ticks) {
				end = ticks[i+1]
			}
			s.rect("hour-band", x, axisY+2, xOf(end)-x, bottom-axisY-2, colHourBand, "", "")
		}
		s.f(`<line class="tick" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x, axisY-4, x, bottom, colGrid)
		s.text("tick-label", x, axisY-2, "middle", colTextFaint, t.In(o.Location).Format("15:04"))
		s.text("offset-label", x, bottom+14, "middle", colTextFaint, offset(t.Sub(o.Origin)))
	}
	s.f(`<line class="axis-line" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", chartLeft, axisY+2, chartRight, axisY+2, colTextFaint)
	s.f("</g>\n")

	// fault bands: shaded over the whole chart, solid in their lane
	s.f(`<g class="faults">` + "\n")
	s.text("row-label", labelWidth, faultsY+laneH-3, "end", colText, "faults")
	for i, f := range faults {
		x0, x1 := xOf(f.Start), xOf(snap.FaultEnd(f))
		title := fmt.Sprintf("%s %s on %s: %s-%s", f.Kind, f.Name, f.Target, clk(f.Start), clk(snap.FaultEnd(f)))
		if f.End.IsZero() {
			title += " (still active)"
		}
		s.rect("fault-shade", x0, axisY+2, x1-x0, bottom-axisY-2, colFault, "", ` fill-opacity="0.12"`)
		ly := faultsY + float64(lane[i]*laneH)
		s.rect("fault-band", x0, ly+1, x1-x0, laneH-2, colFault, title, ` data-fault="`+esc(f.ID)+`"`)
		if x1-x0 > 40 {
			s.f(`<text class="fault-label" x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x0+3, ly+laneH-4, colText, esc(f.Name+" "+f.Target))
		}
	}
	s.f("</g>\n")

	// DNS record state
	if hasRecord {
		s.f(`<g class="record" data-probe="%s" shape-rendering="crispEdges">`+"\n", timeline.ProbeDNSResolve)
		s.text("row-label", labelWidth, recordY+recordH-4, "end", colText, "dns record")
		for _, sp := range recordSpans(snap) {
			if !sp.end.After(snap.Start) || sp.start.After(snap.End) {
				continue
			}
			fill := map[string]string{string(timeline.RecordResolving): colHealthy, string(timeline.RecordEmpty): colImpaired}[sp.state]
			if fill == "" {
				fill = colUnknown
			}
			x0, x1 := xOf(sp.start), xOf(sp.end)
			s.rect("record-"+sp.state, x0, recordY, x1-x0, recordH, fill, fmt.Sprintf("record %s %s-%s", sp.state, clk(sp.start), clk(sp.end)), "")
		}
		s.f("</g>\n")
	}

	// components: raw health on top, debounced impact windows beneath
	for i, name := range o.Components {
		ry := compY + rowH*float64(i)
		s.f(`<g class="component" data-component="%s" shape-rendering="crispEdges">`+"\n", esc(name))
		s.text("row-label", labelWidth, ry+healthH-4, "end", colText, name)
		spans := healthSpans(snap, name)
		if len(spans) > maxSpans {
			spans = binSpans(spans, snap.Start, snap.End, bins)
		}
		if len(spans) == 0 {
			s.rect("nodata", chartLeft, ry, chartRight-chartLeft, healthH, colUnknown, name+": no samples", ` fill-opacity="0.35"`)
		}
		for _, sp := range spans {
			if !sp.end.After(snap.Start) || sp.start.After(snap.End) {
				continue
			}
			fill := map[string]string{stHealthy: colHealthy, stImpaired: colImpaired, stMixed: colMixed}[sp.state]
			x0, x1 := xOf(sp.start), xOf(sp.end)
			s.rect("health-"+sp.state, x0, ry, x1-x0, healthH, fill, fmt.Sprintf("%s %s %s-%s", name, sp.state, clk(sp.start), clk(sp.end)), "")
		}
		p := snap.Phase(name)
		for _, w := range p.Windows {
			if (!w.Open() && w.End.Before(snap.Start)) || w.Start.After(snap.End) {
				continue
			}
			end := w.End
			label := clk(end)
			if w.Open() {
				end, label = snap.End, "not recovered"
			}
			x0, x1 := xOf(w.Start), xOf(end)
			s.rect("impact-window", x0, ry+healthH+2, x1-x0, windowH, colWindow,
				fmt.Sprintf("%s impact %s-%s (%d failing samples)", name, clk(w.Start), label, w.Failures), "")
		}
		s.f("</g>\n")
	}

	// operator actions last, so their lines cross every row
	s.f(`<g class="operator-actions">` + "\n")
	for i, a := range actions {
		x := xOf(a.Start)
		ly := float64((i%max(levels, 1))*actionRowH) + 10
		s.f(`<line class="operator-line" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="4 3"/>`+"\n", x, ly+2, x, bottom, colOperator)
		s.f(`<path class="operator-marker" d="M%.1f %.1f l-5 -8 h10 z" fill="%s"><title>%s</title></path>`+"\n",
			x, axisY+2, colOperator, esc(fmt.Sprintf("operator action %s at %s (%s)", a.Name, clk(a.Start), offset(a.Start.Sub(o.Origin)))))
		anchor := "start"
		lx := x + 4
		if x > chartRight-120 {
			anchor, lx = "end", x-4
		}
		s.text("operator-label", lx, ly, anchor, colOperator, a.Name+" "+clk(a.Start))
	}
	s.f("</g>\n")
	s.f("</svg>\n")
	return s.b.String()
}

// pageHead is the report's head, up to <body>; {{.Title}} is replaced by
// the escaped title.
const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222; margin: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 24px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
.meta, .note { color: #555; font-size: 13px; margin: 2px 0; }
.chart { overflow-x: auto; border: 1px solid #e3e3e3; padding: 6px 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td.status, td.bad { color: #a11; font-weight: 600; }
tr.recovered td.status { color: #1d6d39; }
tr.operator td { background: #eef2fd; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; margin-top: 6px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.swatch { display: inline-block; width: 14px; height: 10px; border: 1px solid #999; }
pre { font-size: 12px; line-height: 1.2; background: #fafafa; border: 1px solid #eee; padding: 8px; overflow-x: auto; }
details summary { cursor: pointer; font-size: 13px; }
</style>
</head>
<body>
`

// pageLegend is the chart's legend (the colours are the chart's).
const pageLegend = `<div class="legend" id="legend">
<span><i class="swatch" style="background:#2f9e55"></i>healthy / record resolving</span>
<span><i class="swatch" style="background:#d64541"></i>impaired / record empty</span>
<span><i class="swatch" style="background:#eea09e"></i>flapping (both within a column)</span>
<span><i class="swatch" style="background:#b8b8b8"></i>unknown / no data</span>
<span><i class="swatch" style="background:#8e1b17;height:4px"></i>impact window (debounced)</span>
<span><i class="swatch" style="background:#f0a830"></i>injected fault</span>
<span><i class="swatch" style="background:#2f5fd0;width:3px"></i>operator action</span>
</div>
`

// writePage renders the page. It is plain Go, not html/template: executing
// a text/template makes the linker keep every exported method of every
// reachable type (reflect.Value.MethodByName), which tripled the cascade
// binary (docs/measurements-install.md). Every string of data goes through
// htmlText, html/template's escaping of text and quoted attributes; Chart
// is the chart's SVG markup, whose texts chartSVG escaped.
func writePage(w io.Writer, d htmlData) error {
	var b strings.Builder
	h := htmlText
	b.WriteString(strings.Replace(pageHead, "{{.Title}}", h(d.Title), 1))
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"meta\">%s</p>\n", h(d.Title), h(d.Span))
	for _, n := range d.Notes {
		fmt.Fprintf(&b, "<p class=\"note\">%s</p>\n", h(n))
	}
	b.WriteString("\n<section id=\"chart\">\n<h2>Timeline</h2>\n<div class=\"chart\">\n")
	b.WriteString(d.Chart)
	b.WriteString("\n</div>\n")
	b.WriteString(pageLegend)
	b.WriteString("</section>\n<section id=\"phases\">\n<h2>Phases</h2>\n<table>\n" +
		"<thead><tr><th>component</th><th>first symptom</th><th>impact start</th><th>impact end</th><th>duration</th><th>status</th><th>windows</th><th>samples</th></tr></thead>\n<tbody>\n")
	for _, r := range d.Phases {
		fmt.Fprintf(&b, "<tr class=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"num\">%s</td><td class=\"status\">%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td></tr>\n",
			h(r.Class), h(r.Component), h(r.FirstSymptom), h(r.ImpactStart), h(r.ImpactEnd), h(r.Duration), h(r.Status), r.Windows, r.Samples)
	}
	b.WriteString("</tbody>\n</table>\n</section>\n<section id=\"faults\">\n<h2>Faults and operator actions</h2>\n")
	if len(d.Faults) > 0 {
		b.WriteString("<table>\n<thead><tr><th>start</th><th>end</th><th>duration</th><th>kind</th><th>name</th><th>target</th><th>detail</th><th>id</th></tr></thead>\n<tbody>\n")
		for _, r := range d.Faults {
			class, kind := "", h(r.Kind)
			if r.Operator {
				class, kind = ` class="operator"`, "operator"
			}
			fmt.Fprintf(&b, "<tr%s><td>%s</td><td>%s</td><td class=\"num\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				class, h(r.Start), h(r.End), h(r.Duration), kind, h(r.Name), h(r.Target), h(r.Detail), h(r.ID))
		}
		b.WriteString("</tbody>\n</table>")
	} else {
		b.WriteString(`<p class="note">none</p>`)
	}
	b.WriteString("\n</section>\n")
	if len(d.Fidelity) > 0 {
		b.WriteString("<section id=\"fidelity\">\n<h2>Fidelity: replay against the real incident</h2>\n<table>\n" +
			"<thead><tr><th>phase</th><th>replay start</th><th>replay duration</th><th>real start</th><th>real duration</th><th>start error</th><th>end error</th><th>duration error</th><th>IoU</th><th>note</th></tr></thead>\n<tbody>\n")
		for _, r := range d.Fidelity {
			fmt.Fprintf(&b, "<tr><td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num %s\">%s</td><td class=\"num\">%s</td><td>%s</td></tr>\n",
				h(r.Phase), h(r.ReplayStart), h(r.ReplayDuration), h(r.RealStart), h(r.RealDuration), h(r.StartError), h(r.EndError), h(r.Class), h(r.Error), h(r.IoU), h(r.Note))
		}
		b.WriteString("</tbody>\n</table>\n</section>\n")
	}
	if len(d.EventKinds) > 0 {
		b.WriteString("<section id=\"events\">\n<h2>Service events</h2>\n<table>\n" +
			"<thead><tr><th>service</th><th>kind</th><th>count</th><th>first</th><th>last</th></tr></thead>\n<tbody>\n")
		for _, k := range d.EventKinds {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td class=\"num\">%d</td><td>%s</td><td>%s</td></tr>\n",
				h(k.Service), h(k.Kind), k.Count, h(k.First), h(k.Last))
		}
		b.WriteString("</tbody>\n</table>\n")
		if len(d.Events) > 0 {
			b.WriteString("<details><summary>event log")
			if d.EventsCut != 0 {
				fmt.Fprintf(&b, " (first %d; %d more in the JSON)", len(d.Events), d.EventsCut)
			}
			b.WriteString("</summary>\n<table>\n<tbody>\n")
			for _, e := range d.Events {
				fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", h(e.At), h(e.Service), h(e.Kind), h(e.Fields))
			}
			b.WriteString("</tbody>\n</table>\n</details>")
		}
		b.WriteString("\n</section>\n")
	}
	fmt.Fprintf(&b, "<section id=\"text\">\n<h2>Text timeline</h2>\n<details><summary>as printed in the terminal</summary>\n<pre>%s</pre>\n</details>\n</section>\n</body>\n</html>\n", h(d.Text))
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlText escapes s as html/template does in text and quoted attribute
// values (its htmlEscaper): NUL " & ' + < >.
func htmlText(s string) string { return htmlTextReplacer.Replace(s) }

var htmlTextReplacer = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// esc escapes the chart's texts (as template.HTMLEscapeString does).
func esc(s string) string { return escReplacer.Replace(s) }

var escReplacer = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "'", "&#39;", "&", "&amp;", "<", "&lt;", ">", "&gt;")
