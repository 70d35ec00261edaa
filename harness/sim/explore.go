package sim

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// ExploreConfig is one exploration: seeds From .. From+Seeds-1 of the DNS
// race, each drawing its own schedule.
type ExploreConfig struct {
	From    int64    `json:"from"`
	Seeds   int      `json:"seeds"`
	Variant kit.Mode `json:"variant"`
	Fixes   []string `json:"fixes,omitempty"`
	For     Dur      `json:"for"`
	// Synthetic, when positive, replaces each schedule's drawn number of
	// synthetic endpoints (more endpoints: longer runs, wider windows).
	Synthetic int `json:"synthetic,omitempty"`
	// Trace receives every core's events (JSON lines); nil: none.
	Trace io.Writer `json:"-"`
}

// Worst is the run with the worst figure of one kind.
type Worst struct {
	Seed int64 `json:"seed"`
	D    Dur   `json:"duration"`
}

// ExploreSummary counts the runs' outcomes.
type ExploreSummary struct {
	Runs    int `json:"runs"`
	Emptied int `json:"emptied"`
	Stuck   int `json:"stuck"`
	// EmptyAtEnd: empty when the run ended (stuck, or a transient empty stretch still open).
	EmptyAtEnd    int   `json:"emptyAtEnd"`
	Errors        int   `json:"errors"`
	LongestEmpty  Worst `json:"longestEmpty"`  // the longest empty stretch of any run
	EarliestEmpty Worst `json:"earliestEmpty"` // the soonest first empty answer after ready
	EarliestStuck Worst `json:"earliestStuck"` // the soonest start of a stretch that never ended
}

// Failing is one failing seed and the command that replays it exactly.
type Failing struct {
	Seed    int64  `json:"seed"`
	Outcome string `json:"outcome"` // stuck, emptied, error
	Replay  string `json:"replay"`
}

// ExploreResult is an exploration's result: nothing in it depends on the
// machine (the caller keeps wall-clock facts apart).
type ExploreResult struct {
	Config  ExploreConfig  `json:"config"`
	Summary ExploreSummary `json:"summary"`
	Failing []Failing      `json:"failing,omitempty"`
	Runs    []RaceResult   `json:"runs,omitempty"`
}

// modes returns the Enactors' and Route53's modes: the variant (or the
// enactor-cas fix) sets the Enactors' only, as on the other backends; Route53
// refuses dangling CNAMEs only with the route53-cname-guard guard, which AWS
// did not announce and no variant includes. Other fixes concern services
// the race does not run.
func (c ExploreConfig) modes() (enactor, route53 kit.Mode) {
	enactor, route53 = c.Variant, kit.AsWas
	for _, f := range c.Fixes {
		switch f {
		case "enactor-cas":
			enactor = kit.Fixed
		case "route53-cname-guard":
			route53 = kit.Fixed
		}
	}
	return enactor, route53
}

// Replay is the command that replays seed alone.
func (c ExploreConfig) Replay(seed int64) string {
	cmd := fmt.Sprintf("cascade explore --backend sim --seeds 1 --from %d --variant %s --for %v", seed, c.Variant, time.Duration(c.For))
	if len(c.Fixes) > 0 {
		cmd += " --fix " + strings.Join(c.Fixes, ",")
	}
	if c.Synthetic > 0 {
		cmd += fmt.Sprintf(" --synthetic %d", c.Synthetic)
	}
	return cmd
}

// Explore runs the exploration; progress (may be nil) is called after each
// seed with how many are done. keepRuns keeps every run's result. It stops
// between seeds once ctx ends (the result then counts the seeds run).
func Explore(ctx context.Context, c ExploreConfig, keepRuns bool, progress func(done int, r RaceResult)) ExploreResult {
	out := ExploreResult{Config: c}
	enactor, r53 := c.modes()
	for i := range c.Seeds {
		if ctx.Err() != nil {
			break
		}
		seed := c.From + int64(i)
		s := New(seed, kit.IncidentStart)
		cfg := DrawRace(s.Rand(), seed, enactor, time.Duration(c.For))
		cfg.Route53Mode = r53
		if c.Synthetic > 0 {
			cfg.Synthetic = c.Synthetic
		}
		r, err := runRace(s, cfg, c.Trace)
		out.add(r, err)
		if keepRuns {
			out.Runs = append(out.Runs, r)
		}
		if progress != nil {
			progress(i+1, r)
		}
	}
	sort.Slice(out.Failing, func(i, j int) bool { return out.Failing[i].Seed < out.Failing[j].Seed })
	return out
}

func (out *ExploreResult) add(r RaceResult, err error) {
	s := &out.Summary
	s.Runs++
	outcome := ""
	switch {
	case err != nil:
		s.Errors++
		outcome = "error"
	case r.Stuck:
		outcome = "stuck"
	case r.Emptied:
		outcome = "emptied"
	}
	if r.Emptied {
		s.Emptied++
		if s.EarliestEmpty.Seed == 0 || r.FirstEmpty < s.EarliestEmpty.D {
			s.EarliestEmpty = Worst{Seed: r.Seed, D: r.FirstEmpty}
		}
	}
	if r.EmptyAtEnd {
		s.EmptyAtEnd++
	}
	if r.Stuck {
		s.Stuck++
		if s.EarliestStuck.Seed == 0 || r.StuckSince < s.EarliestStuck.D {
			s.EarliestStuck = Worst{Seed: r.Seed, D: r.StuckSince}
		}
	}
	if r.LongestEmpty > s.LongestEmpty.D {
		s.LongestEmpty = Worst{Seed: r.Seed, D: r.LongestEmpty}
	}
	// A failing seed: the regional endpoint answered empty (or the run failed).
	if outcome != "" {
		out.Failing = append(out.Failing, Failing{Seed: r.Seed, Outcome: outcome, Replay: out.Config.Replay(r.Seed)})
	}
}
