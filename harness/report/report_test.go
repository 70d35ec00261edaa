package report

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/harness/timeline/timelinetest"
)

var fidelity = []FidelityRow{
	{Phase: "dynamodb", ReplayStart: 18 * time.Minute, ReplayEnd: 188 * time.Minute, ReplayDuration: 170 * time.Minute, RealStart: 18 * time.Minute,
		RealEnd: 190 * time.Minute, RealDuration: 172 * time.Minute, Started: true, Ended: true, IoU: 170.0 / 172},
	{Phase: "ec2 <launch>", ReplayStart: 60 * time.Minute, ReplayEnd: 21 * time.Hour, ReplayDuration: 20 * time.Hour, RealStart: 175 * time.Minute,
		RealEnd: 666 * time.Minute, RealDuration: 491 * time.Minute, Started: true, Ended: true, IoU: 491.0 / 1200, Note: "too long"},
}

func incidentOpts() Options {
	return Options{Location: timelinetest.Zone(), Fidelity: fidelity, Notes: []string{"synthetic <data>"}}
}

func TestTextReport(t *testing.T) {
	snap := timelinetest.Incident().Snapshot()
	txt := Text(snap, incidentOpts())
	for _, want := range []string{
		"== cascade timeline: use1-2025-10 synthetic ==",
		"span 2025-10-19 23:30 .. 14:30 PDT (15h incident time)",
		"note: synthetic <data>",
		"23:40 +00:10  ■ failpoint dnsenactor-a/before-apply-endpoint on dnsenactor-a, until 23:48 +00:18 (8m) [sleep(4m)]",
		"02:25 +02:55  ▲ operator restore-dns on dynamodb.us-east-1.amazonaws.com, instant",
		"dynamodb       23:48 +00:18   23:48 +00:18   02:40 +03:10   2h52m     yes       1",
		"ec2            00:30 +01:00   00:30 +01:00   10:36 +11:06   10h06m    yes       1",
		"|00  |01  |02",
		"dynamodb      █",
		"dynamodb               +00:18..+03:08  +00:18..+03:10  +00:00   -00:02   -1%     0.99",
		"ec2 <launch>           +01:00..+21:00  +02:55..+11:06  -01:55   +09:54   +144%   0.41  too long",
		"dns record empty 23:48-02:25 (2h37m)",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("text report lacks %q:\n%s", want, txt)
		}
	}
	// the strips: one line per component, each exactly Width columns, with
	// impaired stretches where the phases say
	strips := map[string]string{}
	for _, line := range strings.Split(txt, "\n") {
		for _, c := range []string{"dns record", "dynamodb", "ec2", "connectivity", "nlb"} {
			if strings.HasPrefix(line, "  "+c+strings.Repeat(" ", 14-len(c))) && strings.ContainsAny(line, "█░▒") {
				strips[c] = string([]rune(line)[16:])
			}
		}
	}
	if len(strips) != 5 {
		t.Fatalf("strips %v, want 5:\n%s", strips, txt)
	}
	for c, s := range strips {
		if n := len([]rune(s)); n != 72 {
			t.Errorf("%s strip has %d columns, want 72: %q", c, n, s)
		}
	}
	// dynamodb is impaired from +00:18 to +03:10 of 15h: columns ~1..15
	dd := []rune(strips["dynamodb"])
	if dd[0] != chHealthy || dd[8] != chImpaired || dd[40] != chHealthy {
		t.Errorf("dynamodb strip %q: want healthy, impaired around column 8, healthy at 40", strips["dynamodb"])
	}
	if r := []rune(strips["dns record"]); r[8] != chImpaired || r[60] != chHealthy {
		t.Errorf("dns record strip %q", strips["dns record"])
	}
	if !strings.ContainsRune(strips["nlb"], chMixed) {
		t.Errorf("flapping nlb strip shows no mixed columns: %q", strips["nlb"])
	}
}

func TestTextReportView(t *testing.T) {
	snap := timelinetest.Incident().Snapshot()
	o := incidentOpts()
	o.From, o.To = timelinetest.PDT(2, 0), timelinetest.PDT(3, 0)
	o.Components = []string{"dynamodb"}
	txt := Text(snap, o)
	if strings.Contains(txt, "failpoint") || !strings.Contains(txt, "restore-dns") {
		t.Errorf("view lists the wrong faults:\n%s", txt)
	}
	if strings.Contains(txt, "\n  ec2           ") {
		t.Errorf("view shows unselected components:\n%s", txt)
	}
	// health carries in from before the view: the strip starts impaired, not blank
	if !strings.Contains(txt, "dynamodb      ░") {
		t.Errorf("view strip does not carry the impaired state in:\n%s", txt)
	}
	// phases come from the whole run
	if !strings.Contains(txt, "23:48 +00:18") {
		t.Errorf("view phases not derived from the whole run:\n%s", txt)
	}
}

func TestTextReportEmpty(t *testing.T) {
	snap := timeline.MustNew().Snapshot()
	txt := Text(snap, Options{})
	if !strings.Contains(txt, "(none)") || !strings.Contains(txt, "no data") {
		t.Errorf("empty report:\n%s", txt)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, snap, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestHTMLReport(t *testing.T) {
	snap := timelinetest.Incident().Snapshot()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, snap, incidentOpts()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<!DOCTYPE html>", "<style>", `<svg id="timeline-chart"`,
		`class="fault-band"`, `data-fault="fp-1"`, `class="fault-shade"`,
		`class="operator-marker"`, `class="operator-line"`, "restore-dns 02:25", "restart-dwfm 04:14",
		`class="record-empty"`, `class="record-resolving"`,
		`data-component="dynamodb"`, `data-component="ec2"`, `data-component="connectivity"`, `data-component="nlb"`,
		`class="health-impaired"`, `class="health-healthy"`, `class="impact-window"`,
		`class="tick-label"`, ">00:00<", ">+00:30<",
		`id="legend"`, "impact window (debounced)",
		`id="phases"`, "<td>dynamodb</td><td>23:48 (&#43;00:18)</td><td>23:48 (&#43;00:18)</td><td>02:40 (&#43;03:10)</td><td class=\"num\">2h52m</td>",
		`id="fidelity"`, "ec2 &lt;launch&gt;", "&#43;144%", `class="num bad"`,
		`id="events"`, "record-emptied",
		"synthetic &lt;data&gt;",
		"<pre>== cascade timeline",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	// self-contained: no script, no external fetches (the SVG namespace is
	// an identifier, not a fetch)
	if strings.Contains(page, "<script") {
		t.Error("HTML report has a script")
	}
	for _, m := range regexp.MustCompile(`(?:src|href|url\()\s*=?\s*["']?[a-z]+://[^"' )]*`).FindAllString(page, -1) {
		t.Errorf("HTML report fetches %s", m)
	}
	if n := strings.Count(page, "http"); n != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("HTML report mentions http %d times beyond the SVG namespace", n)
	}
	// the SVG is well-formed XML
	svg := page[strings.Index(page, "<svg"):]
	svg = svg[:strings.Index(svg, "</svg>")+len("</svg>")]
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG not well-formed: %v", err)
			}
			break
		}
	}
	// without fidelity rows the section is absent
	buf.Reset()
	_ = WriteHTML(&buf, snap, Options{})
	if strings.Contains(buf.String(), `id="fidelity"`) {
		t.Error("fidelity section without rows")
	}
}

func TestHTMLEscapesNames(t *testing.T) {
	tl := timeline.MustNew()
	tl.RegisterComponent(`<img src=x onerror=alert(1)>`, "evil")
	tl.AddSample(timelinetest.Series("evil", timelinetest.PDT(23, 30), time.Minute, "oxxxoo")...)
	tl.AddFault(timeline.Fault{ID: `"><script>`, Name: "<b>", Start: timelinetest.PDT(23, 31), Operator: true})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, tl.Snapshot(), Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<img") || strings.Contains(buf.String(), "<script") || strings.Contains(buf.String(), "<b>") {
		t.Fatal("names reach the page unescaped")
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	snap := timelinetest.Incident().Snapshot()
	files, err := WriteDir(dir+"/sub", "DNS race / leaves the endpoint empty!", snap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(files.HTML, "/DNS-race-leaves-the-endpoint-empty.html") {
		t.Errorf("html path %s", files.HTML)
	}
	for _, p := range []string{files.Text, files.HTML, files.JSON} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	back, err := timeline.Load(files.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := back.Phase("dynamodb"), snap.Phase("dynamodb"); !got.ImpactEnd.Equal(want.ImpactEnd) {
		t.Errorf("saved timeline phase %v, want %v", got, want)
	}
}

func TestFidelityError(t *testing.T) {
	r := FidelityRow{ReplayDuration: 90 * time.Minute, RealDuration: 60 * time.Minute}
	if e := r.Error(); e != 50 {
		t.Errorf("Error = %v, want 50", e)
	}
	r.ErrorPct = 7
	if e := r.Error(); e != 7 {
		t.Errorf("Error with ErrorPct = %v, want 7", e)
	}
	if e := DurationErrorPct(time.Minute, 0); !math.IsNaN(e) {
		t.Errorf("error against zero = %v, want NaN", e)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		172 * time.Minute: "2h52m", 2 * time.Hour: "2h", 15 * time.Minute: "15m", 90 * time.Second: "1m30s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
	if got := offset(-90 * time.Minute); got != "-01:30" {
		t.Errorf("offset = %q", got)
	}
}

func TestBinSpans(t *testing.T) {
	start := timelinetest.PDT(23, 30)
	m := func(a, b int) (time.Time, time.Time) {
		return start.Add(time.Duration(a) * time.Minute), start.Add(time.Duration(b) * time.Minute)
	}
	var spans []span
	add := func(a, b int, st string) {
		s, e := m(a, b)
		spans = append(spans, span{start: s, end: e, state: st})
	}
	add(0, 10, stHealthy)
	for i := 10; i < 20; i++ { // flapping every minute
		add(i, i+1, map[bool]string{true: stHealthy, false: stImpaired}[i%2 == 0])
	}
	add(20, 40, stImpaired)
	s, e := m(0, 40)
	got := binSpans(spans, s, e, 8) // 5-minute columns
	want := []string{stHealthy, stMixed, stImpaired}
	if len(got) != len(want) {
		t.Fatalf("binned %+v, want states %v", got, want)
	}
	for i, g := range got {
		if g.state != want[i] {
			t.Errorf("bin %d state %s, want %s", i, g.state, want[i])
		}
	}
	if a, b := m(10, 20); !got[1].start.Equal(a) || !got[1].end.Equal(b) {
		t.Errorf("mixed bin %v..%v, want minutes 10..20", got[1].start, got[1].end)
	}
}

func TestNewFidelityRow(t *testing.T) {
	snap := timelinetest.Incident().Snapshot()
	origin := timelinetest.PDT(23, 30)
	realStart, realEnd := timelinetest.PDT(23, 48), timelinetest.PDT(2, 40)
	r := NewFidelityRow("dynamodb", snap.Phase("dynamodb"), origin, realStart, realEnd)
	if r.ReplayStart != 18*time.Minute || r.ReplayDuration != 172*time.Minute || r.RealDuration != 172*time.Minute || r.Error() != 0 {
		t.Errorf("row %+v error %v", r, r.Error())
	}
	if r.StartError() != 0 || r.EndError() != 0 || r.IoU != 1 || !r.Started || !r.Ended {
		t.Errorf("same interval: start error %v end error %v IoU %v", r.StartError(), r.EndError(), r.IoU)
	}
	// the same phase an hour later: right duration, but only partly overlapping
	late := snap.Phase("dynamodb")
	late.ImpactStart, late.ImpactEnd = late.ImpactStart.Add(time.Hour), late.ImpactEnd.Add(time.Hour)
	r = NewFidelityRow("dynamodb", late, origin, realStart, realEnd)
	if r.Error() != 0 || r.StartError() != time.Hour || r.EndError() != time.Hour || math.Abs(r.IoU-112.0/232) > 1e-9 {
		t.Errorf("shifted by an hour: duration error %v start %v end %v IoU %v, want 0, 1h, 1h, 112/232", r.Error(), r.StartError(), r.EndError(), r.IoU)
	}
	r = NewFidelityRow("nlb", timeline.Phase{}, origin, realStart, realEnd)
	if !math.IsNaN(r.Error()) || r.Note == "" {
		t.Errorf("row without replay impact: %+v error %v", r, r.Error())
	}
	if txt := Text(snap, Options{Fidelity: []FidelityRow{r}}); !strings.Contains(txt, "no impact in the replay") {
		t.Errorf("text lacks the row:\n%s", txt)
	}
}
