package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/harness/stall"
	"github.com/cascade-lab/cascade/mocks/kit"
)

type exploreFlags struct {
	backend, variant, fixes, out string
	seeds, synthetic             int
	from                         int64
	dur                          time.Duration
	runs                         bool
	trace                        string
}

// exploreOutput is what --out writes: the exploration, which depends only on
// the code and the seeds, and the wall-clock facts apart from it.
type exploreOutput struct {
	sim.ExploreResult
	Wall exploreWall `json:"wall"`
}

// exploreWall holds every fact of the machine the exploration ran on.
type exploreWall struct {
	Date        time.Time `json:"date"`
	WallTime    string    `json:"wallTime"`
	SeedsPerSec float64   `json:"seedsPerSecond"`
	Host        string    `json:"host"`
	CPUs        int       `json:"cpus"`
	GoVersion   string    `json:"goVersion"`
	CPUPressure float64   `json:"cpuPressure"` // share of the wall time some task waited for a CPU (-1: unknown)
	LoadStart   float64   `json:"loadStart"`
}

func init() {
	f := &exploreFlags{}
	cmd := &cobra.Command{
		Use:   "explore",
		Short: "run the DNS race under N seeded schedules on the deterministic sim and count the outcomes",
		Long: `explore runs the DNS Enactor race (Route53, the planner and three Enactors; the
DynamoDB load balancers as health-checked sim endpoints) on the deterministic
simulation backend, once per seed. Each seed draws its own schedule from its own
random source: the Enactors' periods, one Enactor's slow link to Route53, link
latencies, load balancers turning slow or dead (plan churn). Nothing is
choreographed. A seed is one exact run: the replay command printed for a failing
seed reproduces it event for event, on any machine.`,
		Example: `  cascade explore --backend sim --seeds 1000
  cascade explore --backend sim --seeds 10000 --variant fixed --out fixed.json
  cascade explore --backend sim --seeds 1 --from 4242   # replay one seed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExplore(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.backend, "backend", "sim", "backend: only sim explores (the others replay one schedule at a time)")
	fl.IntVar(&f.seeds, "seeds", 100, "how many seeds to run")
	fl.Int64Var(&f.from, "from", 1, "the first seed")
	fl.StringVar(&f.variant, "variant", "aswas", "aswas or fixed")
	fl.StringVar(&f.fixes, "fix", "", "comma-separated mitigations on top of the variant: "+strings.Join(harness.AllFixes, ", ")+" (only enactor-cas changes the race), or the guard route53-cname-guard")
	fl.DurationVar(&f.dur, "for", time.Hour, "incident time each schedule runs once every endpoint resolves")
	fl.StringVar(&f.out, "out", "", "write the result JSON to this file (- for stdout)")
	fl.BoolVar(&f.runs, "runs", false, "include every run's result and schedule in the JSON (with one seed, always)")
	fl.IntVar(&f.synthetic, "synthetic", 0, "synthetic endpoints in every schedule (0: each schedule draws 2-8)")
	fl.StringVar(&f.trace, "trace", "", "write every service's events (JSON lines, incident time) to this file: for replaying one seed")
	register(cmd)
}

func runExplore(cmd *cobra.Command, f *exploreFlags) error {
	if f.backend != "sim" {
		return usagef("--backend %q: explore runs only on the sim backend (valid: sim)", f.backend)
	}
	mode, err := kit.ParseMode(f.variant)
	if err != nil || f.variant == "" {
		return usagef("unknown variant %q: valid variants are aswas, fixed", f.variant)
	}
	fixes, err := harness.ParseFixes(f.fixes)
	if err != nil {
		return usagef("--fix: %v", err)
	}
	if f.seeds < 1 {
		return usagef("--seeds %d: want at least 1", f.seeds)
	}
	if f.synthetic < 0 {
		return usagef("--synthetic %d: must not be negative", f.synthetic)
	}
	if f.dur <= 0 {
		return usagef("--for %v: want a positive incident duration", f.dur)
	}
	cfg := sim.ExploreConfig{From: f.from, Seeds: f.seeds, Variant: mode, Fixes: fixes, For: sim.Dur(f.dur), Synthetic: f.synthetic}
	if f.trace != "" {
		tf, err := os.Create(f.trace)
		if err != nil {
			return fmt.Errorf("trace: %w", err)
		}
		defer tf.Close()
		cfg.Trace = tf
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	mon := stall.Start()
	start := time.Now()
	bar := newProgress(stderr, f.seeds)
	res := sim.Explore(cmd.Context(), cfg, f.runs || f.seeds == 1, func(done int, r sim.RaceResult) { bar.update(done, r) })
	bar.finish()
	rep := mon.Stop()
	host, _ := os.Hostname()
	wall := time.Since(start)
	out := exploreOutput{ExploreResult: res, Wall: exploreWall{Date: start.UTC(), WallTime: wall.Round(time.Millisecond).String(),
		SeedsPerSec: float64(f.seeds) / wall.Seconds(), Host: host, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		CPUPressure: rep.CPUPressure, LoadStart: rep.LoadStart}}
	printExplore(stdout, out)
	if res.Summary.Runs < f.seeds {
		fmt.Fprintf(stderr, "interrupted after %d of %d seeds\n", res.Summary.Runs, f.seeds)
	}
	if f.out != "" {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if f.out == "-" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(f.out, b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.out, err)
		}
	}
	return nil
}

// progress is a one-line progress bar redrawn on stderr.
type progress struct {
	w              io.Writer
	n, last        int
	emptied, stuck int
}

func newProgress(w io.Writer, n int) *progress { return &progress{w: w, n: n, last: -1} }

func (p *progress) update(done int, r sim.RaceResult) {
	if r.Emptied {
		p.emptied++
	}
	if r.Stuck {
		p.stuck++
	}
	pct := done * 100 / p.n
	if pct == p.last && done != p.n {
		return
	}
	p.last = pct
	const width = 30
	fill := done * width / p.n
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d seeds  emptied %d  stuck %d", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pct, done, p.n, p.emptied, p.stuck)
}

func (p *progress) finish() { fmt.Fprintln(p.w) }

// maxReplays bounds the replay commands printed (the JSON has them all).
const maxReplays = 20

func printExplore(w io.Writer, out exploreOutput) {
	s, c := out.Summary, out.Config
	pct := func(n int) string { return fmt.Sprintf("%d (%.2f%%)", n, 100*float64(n)/float64(max(1, s.Runs))) }
	worst := func(x sim.Worst) string {
		if x.Seed == 0 {
			return "-"
		}
		return fmt.Sprintf("%v (seed %d)", time.Duration(x.D).Round(time.Second), x.Seed)
	}
	fmt.Fprintf(w, "DNS race on the sim: seeds %d..%d, variant %s", c.From, c.From+int64(c.Seeds)-1, c.Variant)
	if len(c.Fixes) > 0 {
		fmt.Fprintf(w, " + %s", strings.Join(c.Fixes, ","))
	}
	fmt.Fprintf(w, ", %v of incident time each\n\n", time.Duration(c.For))
	rows := [][2]string{
		{"runs", fmt.Sprint(s.Runs)},
		{"emptied the regional record", pct(s.Emptied)},
		{"left it stuck (empty, claim gone)", pct(s.Stuck)},
		{"empty at the end", pct(s.EmptyAtEnd)},
		{"errors", fmt.Sprint(s.Errors)},
		{"longest empty stretch", worst(s.LongestEmpty)},
		{"earliest first empty answer", worst(s.EarliestEmpty)},
		{"earliest stuck", worst(s.EarliestStuck)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-36s %s\n", r[0], r[1])
	}
	fmt.Fprintf(w, "\nwall time %s (%.1f seeds/s), CPU pressure %s\n", out.Wall.WallTime, out.Wall.SeedsPerSec, pressureText(out.Wall.CPUPressure))
	if len(out.Failing) > 0 {
		fmt.Fprintf(w, "\n%d failing seeds; replay each with:\n", len(out.Failing))
		for i, f := range out.Failing {
			if i == maxReplays {
				fmt.Fprintf(w, "  ... %d more in the JSON (--out)\n", len(out.Failing)-maxReplays)
				break
			}
			fmt.Fprintf(w, "  %-8s %s\n", f.Outcome, f.Replay)
		}
	}
}

func pressureText(p float64) string {
	if p < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f%%", 100*p)
}
