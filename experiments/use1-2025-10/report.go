package use1

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/report"
)

// Zone is the incident's zone (PDT), for reports.
func Zone() *time.Location { return pdt }

// ReportOptions are the report options of a result: PDT clock, the fidelity
// table, notes on the run.
func (r *Result) ReportOptions() report.Options {
	rows := make([]report.FidelityRow, 0, len(r.Fidelity))
	for _, f := range r.Fidelity {
		rows = append(rows, f.FidelityRow)
	}
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	return report.Options{
		Title:    fmt.Sprintf("cascade replay: us-east-1, 19-20 October 2025 (%s, %s backend)", r.Label, r.Backend),
		Location: pdt,
		Fidelity: rows,
		Notes: []string{
			fmt.Sprintf("verdict %s: %d of %d hypotheses held", verdict, r.held(), len(r.Hypotheses)),
			fmt.Sprintf("seed %d, speed %g incident min per wall second, %.1f s wall", r.Seed, float64(r.Speed), r.WallSeconds),
			"times are PDT; phase starts in the fidelity table are offsets from the trigger (23:48 in the real night)",
			r.StallNote(),
		},
	}
}

// StallWarning is the incident time a single stall of the machine must
// reach for a failed verdict to say the machine may be the cause: five
// incident minutes times out a DWFM host's in-flight DynamoDB calls.
const StallWarning = 5 * time.Minute

// PressureWarning is the CPU pressure (share of wall time in which some task
// waited for a CPU) from which a failed verdict says the machine may be the
// cause. Idle as-was replays on the 2-core machines measured ~0.15 and
// passed; beside two busy loops ~0.9, failing at speed 20 and passing at
// speed 10 (~0.7).
const PressureWarning = 0.4

// StallNote describes how busy the machine was during the replay.
func (r *Result) StallNote() string {
	st := r.Stalls
	note := fmt.Sprintf("machine: load %.1f -> %.1f", st.LoadStart, st.LoadEnd)
	if st.CPUPressure >= 0 {
		note += fmt.Sprintf(", CPU pressure %.0f%% (some task waiting for a CPU)", 100*st.CPUPressure)
	}
	if st.Count == 0 {
		return fmt.Sprintf("%s; no stall of %v or more (the latest wake-up %v late)", note, st.Threshold, st.Max.Round(time.Millisecond))
	}
	worst := st.Longest[0]
	return fmt.Sprintf("%s; %d stalls of %v or more (%v in all), the longest %v = %v of incident time at %s",
		note, st.Count, st.Threshold, st.Total.Round(time.Millisecond), worst.Length.Round(time.Millisecond),
		r.Speed.ToIncident(worst.Length).Round(time.Second), clockPDT(worst.At))
}

// machineBusy says why the machine may have failed the run ("" if it was
// not busy enough to).
func (r *Result) machineBusy() string {
	switch st := r.Stalls; {
	case st.CPUPressure >= PressureWarning:
		return fmt.Sprintf("some task waited for a CPU %.0f%% of the time (idle replays: ~15%%)", 100*st.CPUPressure)
	case r.Speed.ToIncident(st.Max) >= StallWarning:
		return fmt.Sprintf("a stall of %v is %v of incident time at speed %g", st.Max.Round(time.Millisecond),
			r.Speed.ToIncident(st.Max).Round(time.Second), float64(r.Speed))
	}
	return ""
}

func (r *Result) held() int {
	n := 0
	for _, h := range r.Hypotheses {
		if h.Passed {
			n++
		}
	}
	return n
}

// Files are what WriteReports wrote.
type Files struct {
	report.Files
	Result string `json:"result"`
}

// WriteReports writes the text, HTML and timeline JSON reports and the
// result JSON into dir.
func (r *Result) WriteReports(dir string) (Files, error) {
	name := "replay-" + r.Label
	f, err := report.WriteDir(dir, name, r.Timeline, r.ReportOptions())
	out := Files{Files: f}
	if err != nil {
		return out, err
	}
	out.Result = filepath.Join(dir, report.FileName(name)+".result.json")
	return out, r.Save(out.Result)
}

// WriteSummary writes the verdict, the hypotheses, the phases, the fidelity
// table and the text timeline.
func (r *Result) WriteSummary(w io.Writer, withTimeline bool) {
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\nverdict: %s (%d of %d hypotheses held) - %s, seed %d, speed %g, %s backend, %.1f s wall\n",
		verdict, r.held(), len(r.Hypotheses), r.Label, r.Seed, float64(r.Speed), r.Backend, r.WallSeconds)
	fmt.Fprintf(w, "  %s\n", r.StallNote())
	if why := r.machineBusy(); !r.Passed && why != "" {
		fmt.Fprintf(w, "  the machine, not a mechanism, may have failed this run: %s;\n"+
			"  every call takes longer in incident time on a busy machine. Rerun on an idle one or at a lower --speed (10)\n", why)
	}
	fmt.Fprintln(w)
	for _, h := range r.Hypotheses {
		mark := "ok  "
		if !h.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s [%s] %s\n", mark, h.Phase, h.Name)
		if !h.Passed {
			fmt.Fprintf(w, "         %s\n", strings.ReplaceAll(h.Reason, "\n", "\n         "))
		}
	}
	fmt.Fprintf(w, "\nphases (PDT, replay vs real):\n")
	for _, m := range r.Phases {
		at := "absent"
		if m.Present {
			at = clockPDT(m.At)
		}
		fmt.Fprintf(w, "  %-22s %-6s real %s   (%s)\n", m.Name, at, clockPDT(m.Real), m.How)
	}
	fmt.Fprintf(w, "\nfidelity (incident time, starts from the trigger):\n")
	WriteFidelityTable(w, r.Fidelity)
	if withTimeline && r.Timeline != nil {
		fmt.Fprintln(w)
		_ = report.WriteText(w, r.Timeline, r.ReportOptions())
	}
}

// WriteFidelityTable writes the fidelity rows as a markdown table.
func WriteFidelityTable(w io.Writer, rows []FidelityRow) {
	fmt.Fprintf(w, "| phase | replay start | replay duration | real start | real duration | error | |\n|---|---|---|---|---|---|---|\n")
	for _, f := range rows {
		e := f.Error()
		es := "n/a"
		if !math.IsNaN(e) {
			es = fmt.Sprintf("%+.0f%%", e)
		}
		flag := ""
		switch {
		case f.Emergent && f.Within:
			flag = "emergent, within 25%"
		case f.Emergent:
			flag = "emergent, OUTSIDE 25%"
		default:
			flag = "set by an operator action"
		}
		if f.Note != "" {
			flag += "; " + f.Note
		}
		rs, rd := "-", "-"
		if f.ReplayDuration > 0 || f.ReplayStart != 0 {
			rs = hm(f.ReplayStart)
		}
		if f.ReplayDuration > 0 {
			rd = hm(f.ReplayDuration)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", f.Phase, rs, rd, hm(f.RealStart), hm(f.RealDuration), es, flag)
	}
}

func hm(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%s%dh%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}
