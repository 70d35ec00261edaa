package engine

import (
	"slices"
	"testing"
)

// TestReapableLeavesAWatchedRunToItsReaper: a dead owner's run whose reaper
// still runs is the reaper's (it keeps the run for its grace period); the
// second line removes a dead owner's run only once no reaper watches it, and
// --all removes everything.
func TestReapableLeavesAWatchedRunToItsReaper(t *testing.T) {
	const self, live, dead = "vm/1/1", "vm/2/2", "vm/3/3"
	all := []Leftover{
		{Kind: "container", Name: "watched-dynamodb", Run: "watched", Owner: dead},
		{Kind: "container", Name: "watched-reaper", Run: "watched", Owner: dead, Reaper: true},
		{Kind: "network", Name: "watched", Run: "watched", Owner: dead},
		{Kind: "container", Name: "orphan-dynamodb", Run: "orphan", Owner: dead},
		{Kind: "container", Name: "orphan-reaper", Run: "orphan", Owner: dead}, // exited
		{Kind: "network", Name: "orphan", Run: "orphan", Owner: dead},
		{Kind: "container", Name: "alive-dynamodb", Run: "alive", Owner: live},
		{Kind: "container", Name: "own-dynamodb", Run: "own", Owner: self},
	}
	alive := func(owner string) bool { return owner == live || owner == self }
	removed := func(opts ReapOptions) []string {
		want := reapable(all, self, opts, alive)
		var out []string
		for _, l := range all {
			if want(l) {
				out = append(out, l.Name)
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		opts ReapOptions
		want []string
	}{
		{"a run's start", ReapOptions{}, []string{"orphan-dynamodb", "orphan-reaper", "orphan"}},
		{"clean --run watched", ReapOptions{Runs: []string{"watched"}}, nil},
		{"clean --all", ReapOptions{All: true}, []string{"watched-dynamodb", "watched-reaper", "watched",
			"orphan-dynamodb", "orphan-reaper", "orphan", "alive-dynamodb", "own-dynamodb"}},
		{"clean --all --run watched", ReapOptions{All: true, Runs: []string{"watched"}}, []string{"watched-dynamodb", "watched-reaper", "watched"}},
		{"a start that spares the orphan", ReapOptions{Except: []string{"orphan"}}, nil},
	} {
		if got := removed(c.opts); !slices.Equal(got, c.want) {
			t.Errorf("%s removes %v, want %v", c.name, got, c.want)
		}
	}
}
