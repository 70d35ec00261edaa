package use1

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// WriteMitigationTable writes, as a markdown table, each run's phase
// durations (incident time) side by side: which mitigation shortens which
// phase. The first run is the baseline (as-was).
func WriteMitigationTable(w io.Writer, results []*Result) {
	cols := []struct{ title, comp string }{
		{"DNS empty", ""}, {"DynamoDB impact", CompDynamoDB}, {"lease loss", CompDWFM}, {"EC2 launches failing", CompEC2},
		{"netmgr backlog", CompNetMgr}, {"no connectivity", CompConnectivity}, {"NLB impact", CompNLB},
	}
	fmt.Fprint(w, "| variant | kind |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c.title)
	}
	fmt.Fprint(w, " NLB AZ removals | operator actions | hypotheses |\n|---|---|")
	for range cols {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprint(w, "---|---|---|\n")
	for _, r := range results {
		snap := r.Timeline
		fmt.Fprintf(w, "| %s | %s |", r.Label, variantKind(r.Fixes))
		for _, c := range cols {
			if c.comp == "" {
				fmt.Fprintf(w, " %s |", dur(snap.EmptyFor()))
				continue
			}
			ph := snap.Phase(c.comp)
			if c.comp == CompNetMgr {
				ph = BacklogPhase(snap) // dated as the real one (see BacklogPhase)
			}
			fmt.Fprintf(w, " %s |", impact(ph))
		}
		var acts []string
		for _, f := range snap.OperatorActions() {
			if len(acts) == 0 || acts[len(acts)-1] != f.Name {
				acts = append(acts, f.Name)
			}
		}
		fmt.Fprintf(w, " %d | %s | %d/%d |\n", r.NLB.Removals, orNone(strings.Join(acts, ", ")), r.held(), len(r.Hypotheses))
	}
}

// variantKind says what a row's fixes are: the baseline, announced
// mitigations, or guards AWS did not announce.
func variantKind(fixes []string) string {
	guards, announced := 0, 0
	for _, f := range fixes {
		if slices.Contains(harness.AllGuards, f) {
			guards++
		} else {
			announced++
		}
	}
	switch {
	case len(fixes) == 0:
		return "baseline"
	case guards > 0 && announced == 0:
		return "guard (not announced)"
	case guards > 0:
		return "announced + guard"
	case allAnnounced(fixes):
		return "all announced"
	}
	return "announced"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func impact(p timeline.Phase) string {
	switch {
	case !p.Impacted():
		return "none"
	case !p.Recovered:
		return "not recovered"
	}
	d, _ := p.Duration()
	return dur(d)
}

func dur(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02d", int(d.Hours()), int(d.Minutes())%60)
}
