package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// replayCmd returns the registered replay command with fresh output buffers.
func replayCmd(t *testing.T) (*cobra.Command, *bytes.Buffer) {
	t.Helper()
	for _, c := range subcommands {
		if c.Name() == "replay" {
			var out bytes.Buffer
			c.SetOut(&out)
			c.SetErr(&out)
			c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if sv, ok := f.Value.(pflag.SliceValue); ok {
					_ = sv.Replace(nil) // Set would append the default's text
				} else {
					_ = f.Value.Set(f.DefValue)
				}
				f.Changed = false
			})
			return c, &out
		}
	}
	t.Fatal("replay is not registered")
	return nil, nil
}

// TestReplayBadInputIsUsageError checks that every kind of bad input ends in
// a usage error (exit status 2) naming the valid choices, before any stack
// starts.
func TestReplayBadInputIsUsageError(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--variant", "sometimes"}, "valid variants are aswas, fixed"},
		{[]string{"--fix", "dns-magic"}, "valid fixes are enactor-cas, dwfm-admission, netmgr-throttle, nlb-velocity"},
		{[]string{"--fix", "enactor-cas,nope"}, `unknown fix "nope"`},
		{[]string{"--backend", "kubernetes"}, "valid backends are"},
		{[]string{"--backend", "simulator"}, "compose, containers, embedded, sim"},
		{[]string{"--speed", "0"}, "bad --speed"},
		{[]string{"--speed", "-3"}, "bad --speed"},
		{[]string{"--speed", "fast"}, "invalid argument"},
		{[]string{"--no-such-flag"}, "unknown flag"},
		{[]string{"--set", "netmgr-speed=3"}, "valid settings are keep-generations, synthetic-endpoints, enactor-period, netmgr-rate"},
		{[]string{"--set", "netmgr-rate=fast"}, "want a non-negative number (default 80)"},
		{[]string{"--set", "netmgr-rate"}, "want NAME=VALUE"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			cmd, _ := replayCmd(t)
			cmd.SetArgs(c.args)
			err := cmd.Execute()
			if err == nil {
				t.Fatal("bad input accepted")
			}
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("error %v (%T) is not a usage error: cascade would exit 1, not 2", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestReplayFlagsParse checks that good flags become the replay's config.
func TestReplayFlagsParse(t *testing.T) {
	f := replayFlags{variant: "aswas", fixes: "dwfm-admission,nlb-velocity", backend: "embedded", speed: 25, seed: 7}
	cfg, err := f.parse()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Label(); got != "aswas+dwfm-admission+nlb-velocity" {
		t.Fatalf("label %q", got)
	}
	if cfg.Seed != 7 || cfg.Speed != 25 || cfg.Backend != "embedded" {
		t.Fatalf("config %+v", cfg)
	}
	f.variant, f.fixes = "fixed", ""
	if cfg, err = f.parse(); err != nil || cfg.Label() != "fixed" {
		t.Fatalf("fixed: %v %q", err, cfg.Label())
	}
	f.sets = []string{"netmgr-rate=300", "connectivity-grace=45m"}
	if cfg, err = f.parse(); err != nil || cfg.Calibration.NetMgrRatePerMinute != 300 || cfg.Calibration.ConnectivityGrace.Minutes() != 45 {
		t.Fatalf("--set: %v %+v", err, cfg.Calibration)
	}
}

func TestReplayListSettings(t *testing.T) {
	cmd, out := replayCmd(t)
	cmd.SetArgs([]string{"--list-settings"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "dwfm-throttle-per-minute") || !strings.Contains(out.String(), "FITTED") {
		t.Fatalf("--list-settings:\n%s", out.String())
	}
}

// TestReplayFarCalibrationExitsOne runs the replay live on the sim backend
// (deterministic: the seed alone decides the run) with one calibration value
// far from its default: the operators' DWFM intake throttle at 0.2
// droplets/min instead of 0.8. Re-leasing then takes hours longer, so the
// end of DWFM's recovery, an emergent boundary timed from restart-dwfm, moves
// beyond its 30 min tolerance: cascade must exit 1 with a verdict naming the
// phase and the boundary. The same run with the default calibration is the
// control: it exits 0 and names no moved boundary of that phase, so the
// failure is the setting's.
func TestReplayFarCalibrationExitsOne(t *testing.T) {
	if testing.Short() {
		t.Skip("two sim replays (~1 s each)")
	}
	run := func(t *testing.T, sets ...string) (string, error) {
		cmd, out := replayCmd(t)
		args := []string{"--backend", "sim", "--seed", "1", "--quiet", "--no-timeline", "--report-dir", t.TempDir()}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	const moved = "-> dwfm-recovery end moved: replay"
	t.Run("default calibration exits 0", func(t *testing.T) {
		out, err := run(t)
		if err != nil {
			t.Fatalf("as-was on the sim with the default calibration: %v\n%s", err, out)
		}
		if strings.Contains(out, moved) || !strings.Contains(out, "verdict: PASS") {
			t.Fatalf("the control run's verdict names a moved DWFM recovery or is not PASS:\n%s", out)
		}
	})
	t.Run("dwfm-throttle-per-minute=0.2 exits 1 naming the boundary", func(t *testing.T) {
		out, err := run(t, "dwfm-throttle-per-minute=0.2")
		var code exitCode
		if !errors.As(err, &code) || code != 1 {
			t.Fatalf("want exit status 1 (a failed hypothesis), got %v\n%s", err, out)
		}
		for _, want := range []string{
			"verdict: FAIL",
			"FAIL [dwfm-recovery] dwfm-recovery end within 0h30 of the real 05:28",
			moved,
			"real 05:28, off by +",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("the verdict does not say %q:\n%s", want, out)
			}
		}
	})
}
