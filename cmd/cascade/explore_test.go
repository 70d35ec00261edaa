package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exploreCmd returns the registered explore command with fresh output buffers.
func exploreCmd(t *testing.T) (*cobra.Command, *bytes.Buffer) {
	t.Helper()
	for _, c := range subcommands {
		if c.Name() == "explore" {
			var out bytes.Buffer
			c.SetOut(&out)
			c.SetErr(&out)
			c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
			c.Flags().VisitAll(func(f *pflag.Flag) { _ = f.Value.Set(f.DefValue); f.Changed = false })
			return c, &out
		}
	}
	t.Fatal("explore is not registered")
	return nil, nil
}

// TestExploreBadInputIsUsageError: bad input exits 2 naming the valid choices.
func TestExploreBadInputIsUsageError(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--backend", "embedded"}, "valid: sim"},
		{[]string{"--variant", "sometimes"}, "valid variants are aswas, fixed"},
		{[]string{"--fix", "nope"}, `unknown fix "nope"`},
		{[]string{"--seeds", "0"}, "at least 1"},
		{[]string{"--for", "-1m"}, "positive"},
		{[]string{"--synthetic", "-2"}, "negative"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			cmd, _ := exploreCmd(t)
			cmd.SetArgs(c.args)
			err := cmd.Execute()
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v: want a usage error saying %q", err, c.want)
			}
		})
	}
}

// TestExploreReplayCommandReplays: an exploration prints, for a failing seed,
// a command; running that command writes the same run (the JSON equal
// but for the wall object). It fails if the replay command lost a setting
// or a run depended on anything but its seed.
func TestExploreReplayCommandReplays(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) map[string]json.RawMessage {
		t.Helper()
		out := filepath.Join(dir, "out.json")
		cmd, buf := exploreCmd(t)
		cmd.SetArgs(append(args, "--out", out, "--runs"))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, buf)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["wall"]; !ok {
			t.Fatal("no wall object")
		}
		delete(m, "wall")
		return m
	}
	all := run("--seeds", "4", "--from", "3", "--for", "40m")
	var failing []struct {
		Seed   int64  `json:"seed"`
		Replay string `json:"replay"`
	}
	if err := json.Unmarshal(all["failing"], &failing); err != nil || len(failing) == 0 {
		t.Fatalf("no failing seed among 3..6 (%v): %s", err, all["summary"])
	}
	args := strings.Fields(failing[0].Replay)
	if args[0] != "cascade" || args[1] != "explore" {
		t.Fatalf("replay command %q", failing[0].Replay)
	}
	one := run(args[2:]...)
	var runs []json.RawMessage
	if err := json.Unmarshal(all["runs"], &runs); err != nil {
		t.Fatal(err)
	}
	var replayed []json.RawMessage
	if err := json.Unmarshal(one["runs"], &replayed); err != nil || len(replayed) != 1 {
		t.Fatalf("replay ran %d seeds (%v)", len(replayed), err)
	}
	if !bytes.Equal(runs[failing[0].Seed-3], replayed[0]) {
		t.Fatalf("seed %d replayed differently:\n%s\n%s", failing[0].Seed, runs[failing[0].Seed-3], replayed[0])
	}
}
