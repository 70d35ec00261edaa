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
			fmt.Sprintf("verdict %s: %d of %d hypotheses held%s", verdict, r.held(), len(r.Hypotheses), r.knownMissNote()),
			r.runNote(),
			"times are PDT; fidelity offsets are incident time from 23:48 PDT (the real record emptied), for the replay and the real night alike",
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

// runNote says how the run was clocked: seed, speed and wall time.
func (r *Result) runNote() string {
	if r.Backend == SimBackend {
		return fmt.Sprintf("seed %d, sim backend (virtual clock: the seed alone decides the run), %.1f s wall", r.Seed, r.Wall.Seconds)
	}
	return fmt.Sprintf("seed %d, speed %g incident min per wall second, %.1f s wall", r.Seed, float64(r.Speed), r.Wall.Seconds)
}

// StallNote describes how busy the machine was during the replay.
func (r *Result) StallNote() string {
	st := r.Wall.Stalls
	if r.Backend == SimBackend {
		return fmt.Sprintf("machine: load %.1f -> %.1f, CPU pressure %.0f%%; on the sim backend the machine changes only the wall time, never the run",
			st.LoadStart, st.LoadEnd, 100*max(st.CPUPressure, 0))
	}
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

// MachineBusy says why the machine may have failed the run ("" if it was
// not busy enough to, and always on the sim).
func (r *Result) MachineBusy() string { return r.machineBusy() }

// machineBusy says why the machine may have failed the run ("" if it was
// not busy enough to).
func (r *Result) machineBusy() string {
	if r.Backend == SimBackend {
		return "" // the virtual clock does not see the machine
	}
	switch st := r.Wall.Stalls; {
	case st.CPUPressure >= PressureWarning:
		return fmt.Sprintf("some task waited for a CPU %.0f%% of the time (idle replays: ~15%%)", 100*st.CPUPressure)
	case r.Speed.ToIncident(st.Max) >= StallWarning:
		return fmt.Sprintf("a stall of %v is %v of incident time at speed %g", st.Max.Round(time.Millisecond),
			r.Speed.ToIncident(st.Max).Round(time.Second), float64(r.Speed))
	}
	return ""
}

// knownMissNote counts the known misses that missed (", 3 known misses").
func (r *Result) knownMissNote() string {
	n := 0
	for _, h := range r.Hypotheses {
		if h.IsKnownMiss() {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d known misses (KnownMisses, each where it was measured; they do not fail the verdict)", n)
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
	fmt.Fprintf(w, "\nverdict: %s (%d of %d hypotheses held%s) - %s, seed %d, speed %g, %s backend, %.1f s wall\n",
		verdict, r.held(), len(r.Hypotheses), r.knownMissNote(), r.Label, r.Seed, float64(r.Speed), r.Backend, r.Wall.Seconds)
	fmt.Fprintf(w, "  %s\n", r.StallNote())
	if why := r.machineBusy(); !r.Passed && why != "" {
		fmt.Fprintf(w, "  the machine, not a mechanism, may have failed this run: %s;\n"+
			"  every call takes longer in incident time on a busy machine. Rerun on an idle one or at a lower --speed (10)\n", why)
	}
	fmt.Fprintln(w)
	for _, h := range r.Hypotheses {
		mark := "ok  "
		switch {
		case h.Counts():
			mark = "FAIL"
		case !h.Passed:
			mark = "miss"
		}
		fmt.Fprintf(w, "  %s [%s] %s\n", mark, h.Phase, h.Name)
		if !h.Passed {
			fmt.Fprintf(w, "         %s\n", strings.ReplaceAll(h.Reason, "\n", "\n         "))
		}
		if h.IsKnownMiss() {
			fmt.Fprintf(w, "         known miss of the model: %s\n", h.KnownMiss)
		} else if !h.Passed && h.KnownMiss != "" {
			fmt.Fprintf(w, "         a known miss of the model that moved (it counts): %s\n", h.KnownMiss)
		}
	}
	fmt.Fprintf(w, "\noperator actions (each provoked by a signal; delays drawn from the seed, FITTED to the real times):\n")
	for _, d := range r.Operator {
		taken := ""
		if !d.Taken {
			taken = " - not taken: the signal had cleared"
		}
		if d.Error != "" {
			taken += " - error: " + d.Error
		}
		fmt.Fprintf(w, "  %-26s fired %s  seen %s, held to %s, delay %s: %s%s\n", d.Action, clockPDT(d.FiredAt), clockPDT(d.SeenAt),
			clockPDT(d.Confirmed), hm(d.Delay)[1:], d.Signal, taken)
	}
	fmt.Fprintf(w, "\nphases (PDT, replay vs real):\n")
	for _, m := range r.Phases {
		at := "absent"
		if m.Present {
			at = clockPDT(m.At)
		}
		fmt.Fprintf(w, "  %-22s %-6s real %s   (%s)\n", m.Name, at, clockPDT(m.Real), m.How)
	}
	fmt.Fprintf(w, "\nfidelity (incident time from 23:48 PDT; IoU = intersection over union of the replay's and the real interval):\n")
	WriteFidelityTable(w, r.Fidelity)
	if withTimeline && r.Timeline != nil {
		fmt.Fprintln(w)
		_ = report.WriteText(w, r.Timeline, r.ReportOptions())
	}
}

// WriteFidelityTable writes the fidelity rows as a markdown table: each
// row's replay and real interval (offsets from 23:48 PDT, the real record's
// emptying, on the incident clock), the start, end and duration errors, the
// intervals' intersection over union, and per boundary who sets it and,
// for a scored emergent boundary, whether it is within its tolerance (and,
// for one that follows an operator action, its miss timed from that action).
func WriteFidelityTable(w io.Writer, rows []FidelityRow) {
	fmt.Fprintf(w, "| phase | replay | real | start error | end error | duration error | IoU | start boundary | end boundary | reference |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range rows {
		rp, se, ee, de, iou := "-", "-", "-", "n/a", "-"
		if f.Started {
			rp, se = hm(f.ReplayStart)+"..(open)", hm(f.StartError())
		}
		if f.Ended {
			rp, ee, iou = hm(f.ReplayStart)+".."+hm(f.ReplayEnd), hm(f.EndError()), fmt.Sprintf("%.2f", f.IoU)
		}
		if e := f.Error(); !math.IsNaN(e) && f.Ended {
			de = fmt.Sprintf("%+.0f%%", e)
		}
		ref := f.Source
		if !f.Scored {
			ref += ", not scored"
		}
		if f.Note != "" {
			ref += "; " + f.Note
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Phase, rp, hm(f.RealStart)+".."+hm(f.RealEnd),
			se, ee, de, iou, boundaryLabel(f.Start, f.Scored, f.Started, f.StartWithin, f.StartMiss), boundaryLabel(f.End, f.Scored, f.Ended, f.EndWithin, f.EndMiss), ref)
	}
}

// boundaryLabel says who sets a boundary and, when it is scored, whether the
// replay is within its tolerance.
func boundaryLabel(b Boundary, scored, reached, within bool, miss time.Duration) string {
	l := b.SetBy
	if b.After != "" {
		l += " after " + b.After
	}
	if b.Note != "" {
		l += " (" + b.Note + ")"
	}
	if b.SetBy != SetByEmergent || !scored {
		return l
	}
	scoredMiss := ""
	if b.After != "" {
		scoredMiss = ", " + hm(miss) + " from " + b.After
	}
	switch {
	case !reached:
		return l + ": NOT REACHED"
	case within:
		return l + ": within " + hm(b.Tolerance)[1:] + scoredMiss
	}
	return l + ": OUTSIDE " + hm(b.Tolerance)[1:] + scoredMiss
}

func hm(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%s%dh%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}
