package use1

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/stall"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// ResultFormat names the JSON layout of a Result.
const ResultFormat = "cascade-replay/1"

// Result is everything one replay produced: enough to compare two runs.
type Result struct {
	Format      string            `json:"format"`
	Experiment  string            `json:"experiment"`
	Variant     string            `json:"variant"`
	Label       string            `json:"label"`
	Fixes       []string          `json:"fixes"`
	Seed        int64             `json:"seed"`
	Speed       kit.Speed         `json:"speed"`
	Backend     string            `json:"backend"`
	Versions    map[string]string `json:"versions"`
	Calibration Calibration       `json:"calibration"`
	Start       time.Time         `json:"start"` // incident
	End         time.Time         `json:"end"`
	// WallSeconds is the whole replay's wall time; StartupSeconds the
	// stack's start.
	WallSeconds    float64 `json:"wall_seconds"`
	StartupSeconds float64 `json:"startup_seconds"`

	Passed     bool             `json:"passed"`
	Hypotheses []Hypothesis     `json:"hypotheses"`
	Phases     []PhaseMark      `json:"phases"`
	PhaseOrder []string         `json:"phase_order"`
	Fidelity   []FidelityRow    `json:"fidelity"`
	Components []timeline.Phase `json:"components"`
	Steps      []*Step          `json:"steps"`
	Trigger    TriggerInfo      `json:"trigger"`
	Fleet      FleetStats       `json:"fleet"`
	HandOff    HandOffStats     `json:"handoff"`
	NLB        nlbState         `json:"nlb"`
	// Stalls are the machine's stalls during the replay (wall time; see
	// Result.StallNote).
	Stalls   stall.Report       `json:"stalls"`
	Warnings []string           `json:"warnings,omitempty"`
	Timeline *timeline.Snapshot `json:"timeline"`
}

func (r *runner) result(snap *timeline.Snapshot, steps []*Step, nlbFinal nlbState, handoff HandOffStats, startup, wall time.Duration) *Result {
	r.mu.Lock()
	trig := r.triggerInfo
	r.mu.Unlock()
	res := &Result{
		Format: ResultFormat, Experiment: "use1-2025-10", Variant: r.cfg.Variant, Label: r.cfg.Label(),
		Fixes: r.cfg.FixSet(), Seed: r.cfg.Seed, Speed: r.cfg.Speed, Backend: r.cfg.Backend, Versions: versions(),
		Calibration: *r.cfg.Calibration, Start: r.cfg.Start, End: r.cfg.End,
		WallSeconds: wall.Seconds(), StartupSeconds: startup.Seconds(),
		Steps: steps, Trigger: trig, Fleet: r.fleet.stats(), HandOff: handoff, NLB: nlbFinal, Timeline: snap,
	}
	if res.Fixes == nil {
		res.Fixes = []string{}
	}
	res.Components = snap.Phases()
	res.Phases = Marks(snap)
	for _, m := range res.Phases {
		if m.Present {
			res.PhaseOrder = append(res.PhaseOrder, m.Name)
		}
	}
	sort.SliceStable(res.PhaseOrder, func(i, j int) bool {
		return markAt(res.Phases, res.PhaseOrder[i]).Before(markAt(res.Phases, res.PhaseOrder[j]))
	})
	res.Fidelity = Fidelity(snap)
	res.Hypotheses = Evaluate(snap, r.cfg.FixSet(), res)
	res.Passed = true
	for _, h := range res.Hypotheses {
		res.Passed = res.Passed && h.Passed
	}
	return res
}

func markAt(ms []PhaseMark, name string) time.Time {
	for _, m := range ms {
		if m.Name == name {
			return m.At
		}
	}
	return time.Time{}
}

func versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v["module"] = bi.Main.Path + "@" + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				v[s.Key] = s.Value
			}
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/Shopify/toxiproxy/v2", "github.com/aws/aws-sdk-go-v2", "github.com/miekg/dns":
				v[d.Path] = d.Version
			}
		}
	}
	return v
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(r)
}

// Save writes the result to path.
func (r *Result) Save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// LoadResult reads a result written by Save.
func LoadResult(path string) (*Result, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("load result %s: %w", path, err)
	}
	return &r, nil
}

// Outcome is what two replays with the same seed must agree on: the
// verdict, each hypothesis's verdict, and the order of the phases. Phases
// of one onset group (expectedOrder: the last leases, the NLB's flapping
// and the backlog, which the real night also saw within an hour) are
// unordered within the group, as CheckOrder treats them.
type Outcome struct {
	Passed     bool            `json:"passed"`
	Hypotheses map[string]bool `json:"hypotheses"`
	// Groups is the phase order as onset groups ("a" or "a/b" for a group
	// whose members are present), in the order they came.
	Groups []string `json:"groups"`
}

// Outcome is the result's outcome.
func (r *Result) Outcome() Outcome {
	o := Outcome{Passed: r.Passed, Hypotheses: map[string]bool{}}
	for _, h := range r.Hypotheses {
		o.Hypotheses[h.Phase+": "+h.Name] = h.Passed
	}
	group := map[string]int{}
	for i, g := range expectedOrder {
		for _, n := range g {
			group[n] = i
		}
	}
	seen := map[int]bool{}
	for _, n := range r.PhaseOrder {
		gi, ok := group[n]
		if !ok {
			o.Groups = append(o.Groups, n)
			continue
		}
		if seen[gi] {
			continue
		}
		seen[gi] = true
		var present []string
		for _, m := range expectedOrder[gi] {
			if slices.Contains(r.PhaseOrder, m) {
				present = append(present, m)
			}
		}
		o.Groups = append(o.Groups, strings.Join(present, "/"))
	}
	return o
}

// SameOutcome reports whether two replays agree on their Outcome, and if
// not, how they differ.
func SameOutcome(a, b *Result) (bool, string) {
	oa, ob := a.Outcome(), b.Outcome()
	var diff []string
	if oa.Passed != ob.Passed {
		diff = append(diff, fmt.Sprintf("verdict %v vs %v", oa.Passed, ob.Passed))
	}
	names := map[string]bool{}
	for n := range oa.Hypotheses {
		names[n] = true
	}
	for n := range ob.Hypotheses {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		va, oka := oa.Hypotheses[n]
		vb, okb := ob.Hypotheses[n]
		if va != vb || oka != okb {
			diff = append(diff, fmt.Sprintf("hypothesis %q: %v vs %v", n, va, vb))
		}
	}
	if !slices.Equal(oa.Groups, ob.Groups) {
		diff = append(diff, fmt.Sprintf("phase order %v vs %v", oa.Groups, ob.Groups))
	}
	if len(diff) == 0 {
		return true, "same verdict, hypotheses and phase order"
	}
	return false, strings.Join(diff, "; ")
}
