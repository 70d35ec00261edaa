package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	use1 "github.com/cascade-lab/cascade/experiments/use1-2025-10"
	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// replayFlags are the flags of cascade replay.
type replayFlags struct {
	variant, fixes, backend, reportDir string
	speed                              float64
	seed                               int64
	compareFixes, quiet, noTimeline    bool
	listSettings                       bool
	// sets are the --set NAME=VALUE overrides of the calibration, in order.
	sets []string
}

// replayBackends are the backends a replay runs on: the registered harness
// backends and the sim (use1.RunSim), sorted.
func replayBackends() []string {
	bs := append(harness.Backends(), use1.SimBackend)
	slices.Sort(bs)
	return slices.Compact(bs)
}

// parse checks the flags; its errors are usage errors naming the valid
// choices.
func (f replayFlags) parse() (use1.Config, error) {
	cfg := use1.Config{Variant: f.variant, Backend: f.backend, Seed: f.seed, Speed: kit.Speed(f.speed)}
	if !slices.Contains(use1.Variants, f.variant) {
		return cfg, usagef("unknown variant %q: valid variants are %s", f.variant, strings.Join(use1.Variants, ", "))
	}
	fixes, err := harness.ParseFixes(f.fixes)
	if err != nil {
		return cfg, usagef("--fix: %v", err)
	}
	cfg.Fixes = fixes
	if backends := replayBackends(); !slices.Contains(backends, f.backend) {
		return cfg, usagef("unknown backend %q: valid backends are %s", f.backend, strings.Join(backends, ", "))
	}
	if err := kit.Speed(f.speed).Validate(); err != nil {
		return cfg, usagef("bad --speed %v: want incident minutes per wall second, > 0 (default %g)", f.speed, float64(use1.DefaultSpeed))
	}
	cal := use1.DefaultCalibration()
	for _, kv := range f.sets {
		if err := cal.Set(kv); err != nil {
			return cfg, usagef("--set: %v", err)
		}
	}
	cfg.Calibration = &cal
	if err := cfg.Normalize(); err != nil {
		return cfg, usagef("%v", err)
	}
	return cfg, nil
}

func init() {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "replay the us-east-1 outage of 19-20 October 2025 on the mock stack, with a verdict and a timeline",
		Long: `replay runs the whole outage, from the DNS Enactor race to full recovery, in
under a minute on the embedded stack: the enactor delay that lets the race empty
the regional record, then the operators, each action provoked by what they observe
and carried out after a reaction delay drawn from the seed (docs/replay.md).
It shows live progress, then the verdict (every hypothesis per phase), the
timeline and the fidelity table (each phase's start, end, duration and overlap
against the real ones; an emergent boundary outside its tolerance fails). It writes the HTML report and a JSON
result into --report-dir.

  cascade replay                          # as-was, every mechanism as in October 2025
  cascade replay --variant fixed          # every protection on: no empty record, no cascade
  cascade replay --fix dwfm-admission     # one mitigation: which phase does it shorten?
  cascade replay --compare-fixes          # as-was and each single fix: the mitigation table
  cascade replay --set netmgr-rate=300    # one calibration value moved: which boundary moves?
  cascade replay --list-settings          # every calibration value, its default and why
  cascade replay --backend sim --seed 42  # on the virtual clock: the same seed gives the same JSON

Exit status: 0 when every hypothesis held (a known miss of the model, use1.KnownMisses,
is printed and does not count), 1 when one did not, 2 on bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.listSettings {
				use1.WriteSettings(cmd.OutOrStdout())
				return nil
			}
			if !cmd.Flags().Changed("speed") && (f.backend == containers.Name || f.backend == containers.ComposeName) {
				f.speed = float64(containers.ReplaySpeed) // a container restart takes seconds: see ReplaySpeed
			}
			cfg, err := f.parse()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.compareFixes {
				return runCompare(cmd.Context(), out, cfg, f)
			}
			res, err := replayOnce(cmd.Context(), out, cfg, f)
			if err != nil {
				return err
			}
			if !res.Passed {
				return exitCode(1)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.variant, "variant", "aswas", "aswas (every mechanism as in October 2025) or fixed (every protection on)")
	fl.StringVar(&f.fixes, "fix", "", "comma-separated single mitigations on top of the variant: "+strings.Join(harness.AllFixes, ", ")+
		" (or all, the announced ones); guards AWS did not announce: "+strings.Join(harness.AllGuards, ", "))
	fl.StringVar(&f.backend, "backend", harness.DefaultBackend, "embedded, containers, compose or sim (deterministic: the seed alone decides the run; --speed is ignored)")
	fl.Float64Var(&f.speed, "speed", float64(use1.DefaultSpeed), fmt.Sprintf("incident minutes per wall second (%g on containers and compose)", float64(containers.ReplaySpeed)))
	fl.Int64Var(&f.seed, "seed", 1, "seed of every service and of the workload")
	fl.StringVar(&f.reportDir, "report-dir", "reports", "where the HTML report and the JSON result are written")
	fl.BoolVar(&f.compareFixes, "compare-fixes", false, "run as-was, each single mitigation, all of them and each guard, and print the mitigation table (markdown)")
	fl.BoolVar(&f.quiet, "quiet", false, "no live progress")
	fl.BoolVar(&f.noTimeline, "no-timeline", false, "leave the text timeline out of the summary")
	fl.StringArrayVar(&f.sets, "set", nil, "override a calibration value, NAME=VALUE (repeatable; see --list-settings)")
	fl.BoolVar(&f.listSettings, "list-settings", false, "list the calibration values --set overrides: names, defaults and why each default")
	register(cmd)
}

// replayOnce runs one replay with live progress and writes its reports.
func replayOnce(ctx context.Context, out io.Writer, cfg use1.Config, f replayFlags) (*use1.Result, error) {
	if !f.quiet {
		pr := newProgressPrinter(out)
		cfg.Progress = pr.update
		defer pr.done()
	}
	clock := fmt.Sprintf("%g incident min/s", float64(cfg.Speed))
	if cfg.Backend == use1.SimBackend {
		clock = "virtual clock"
	}
	fmt.Fprintf(out, "cascade replay: %s on the %s backend, seed %d, %s (%s to %s PDT)\n",
		cfg.Label(), cfg.Backend, cfg.Seed, clock, cfg.Start.In(use1.Zone()).Format("Jan 2 15:04"), cfg.End.In(use1.Zone()).Format("Jan 2 15:04"))
	res, err := use1.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if !f.quiet {
		cfg.Progress = nil
	}
	res.WriteSummary(out, !f.noTimeline)
	files, err := res.WriteReports(f.reportDir)
	if err != nil {
		return res, fmt.Errorf("write reports: %w", err)
	}
	fmt.Fprintf(out, "\nreport: %s\nresult: %s\n", files.HTML, files.Result)
	return res, nil
}

// progressPrinter shows the replay's progress: one updating line on a
// terminal, else one line per incident half-hour.
type progressPrinter struct {
	out      io.Writer
	tty      bool
	lastHalf time.Time
	lastLen  int
}

func newProgressPrinter(out io.Writer) *progressPrinter {
	tty := false
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progressPrinter{out: out, tty: tty}
}

func (p *progressPrinter) line(pr use1.Progress) string {
	var parts []string
	for _, c := range pr.Order {
		if s, ok := pr.Services[c]; ok {
			parts = append(parts, c+"="+s)
		}
	}
	if pr.CPUPressure >= 0 {
		parts = append(parts, fmt.Sprintf("cpu-pressure=%.0f%%", 100*pr.CPUPressure))
	}
	return fmt.Sprintf("%s PDT %3.0f%% %5.1fs  %-18s %s", pr.Now.In(use1.Zone()).Format("15:04"), 100*pr.Fraction,
		pr.Elapsed.Seconds(), pr.Phase, strings.Join(parts, " "))
}

func (p *progressPrinter) update(pr use1.Progress) {
	if p.tty {
		l := p.line(pr)
		pad := ""
		if n := p.lastLen - len(l); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(p.out, "\r%s%s", l, pad)
		p.lastLen = len(l)
		return
	}
	half := pr.Now.Truncate(30 * time.Minute)
	if half.Equal(p.lastHalf) {
		return
	}
	p.lastHalf = half
	fmt.Fprintln(p.out, p.line(pr))
}

func (p *progressPrinter) done() {
	if p.tty && p.lastLen > 0 {
		fmt.Fprintln(p.out)
	}
}

// runCompare runs as-was, each single announced mitigation, all of them,
// and each guard (a protection AWS did not announce) on its own, and prints
// the mitigation table.
func runCompare(ctx context.Context, out io.Writer, base use1.Config, f replayFlags) error {
	var results []*use1.Result
	variants := [][]string{nil}
	for _, fix := range harness.AllFixes {
		variants = append(variants, []string{fix})
	}
	variants = append(variants, harness.AllFixes)
	for _, g := range harness.AllGuards { // separate rows: not what AWS announced
		variants = append(variants, []string{g})
	}
	for _, fixes := range variants {
		cfg := base
		cfg.Variant, cfg.Fixes, cfg.Progress = "aswas", fixes, nil
		fmt.Fprintf(out, "replaying %s ...\n", cfg.Label())
		res, err := use1.Run(ctx, cfg)
		if err != nil {
			return err
		}
		if _, err := res.WriteReports(f.reportDir); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s: %d/%d hypotheses held, %.1f s\n", res.Label, countHeld(res), len(res.Hypotheses), res.Wall.Seconds)
		results = append(results, res)
	}
	fmt.Fprintln(out)
	use1.WriteMitigationTable(out, results)
	for _, r := range results {
		if !r.Passed {
			return exitCode(1)
		}
	}
	return nil
}

func countHeld(r *use1.Result) int {
	n := 0
	for _, h := range r.Hypotheses {
		if h.Passed {
			n++
		}
	}
	return n
}
