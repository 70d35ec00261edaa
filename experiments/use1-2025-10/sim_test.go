package use1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	_ "github.com/cascade-lab/cascade/harness/embedded"
)

// runSim runs one sim replay, skipping the test while harness/sim's Stack
// does not model the whole replay yet (ErrSimIncomplete).
func runSim(t testing.TB, cfg Config) *Result {
	t.Helper()
	cfg.Backend = SimBackend
	res, err := Run(context.Background(), cfg)
	if errors.Is(err, ErrSimIncomplete) {
		t.Skipf("sim backend not complete yet: %v", err)
	}
	if err != nil {
		t.Fatalf("sim replay seed %d: %v", cfg.Seed, err)
	}
	return res
}

func simJSON(t testing.TB, res *Result) []byte {
	t.Helper()
	b, err := res.WithoutWall()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// burnCPU keeps n goroutines spinning until stop: a busy machine.
func burnCPU(n int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				for i := range 100000 {
					x += i
				}
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

// TestSimReplaySameSeedSameJSON: two sim replays of one seed write the same
// result JSON byte for byte but for "wall", for several seeds and variants,
// one of the runs made beside CPU-burning goroutines; a different seed
// gives a different JSON (the seed reaches the run).
func TestSimReplaySameSeedSameJSON(t *testing.T) {
	cases := []struct {
		seed    int64
		variant string
		burn    bool
	}{{1, "aswas", false}, {2, "aswas", true}, {3, "fixed", false}}
	if testing.Short() {
		cases = cases[:1] // one seed, about 10 s on a loaded 2-core machine
	}
	var first []byte
	for i, c := range cases {
		t.Run(fmt.Sprintf("seed %d %s burn %v", c.seed, c.variant, c.burn), func(t *testing.T) {
			a := runSim(t, Config{Seed: c.seed, Variant: c.variant})
			var stop func()
			if c.burn {
				stop = burnCPU(2 * runtime.NumCPU())
			}
			b := runSim(t, Config{Seed: c.seed, Variant: c.variant})
			if stop != nil {
				stop()
			}
			ja, jb := simJSON(t, a), simJSON(t, b)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("seed %d: the two results differ outside \"wall\" (%d vs %d bytes); first difference at byte %d",
					c.seed, len(ja), len(jb), firstDiff(ja, jb))
			}
			if a.Wall.Seconds <= 0 || a.Wall.GoVersion == "" || a.Wall.Date.IsZero() {
				t.Errorf("wall facts missing: %+v", a.Wall)
			}
			if a.Format != ResultFormat || a.Backend != SimBackend {
				t.Errorf("format %q backend %q", a.Format, a.Backend)
			}
			if i == 0 {
				first = ja
			} else if bytes.Equal(first, ja) {
				t.Errorf("seed %d gave the same JSON as the first seed: the seed does not reach the run", c.seed)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkReplaySim is the whole as-was replay (23:30 to 14:20) on the sim.
func BenchmarkReplaySim(b *testing.B) {
	for b.Loop() {
		res := runSim(b, Config{Seed: 1})
		b.ReportMetric(float64(res.End.Sub(res.Start))/float64(time.Duration(res.Wall.Seconds*float64(time.Second))), "incident-s/wall-s")
	}
}

// The Lambda SQS poller needs its operator action as-was: it stays wedged
// after DynamoDB recovers until restart-lambda-pollers (the hypothesis fails
// if it recovered by itself); with lambda-lease-expiry it recovers with no
// operator action.
func TestSimLambdaPollerNeedsItsOperatorActionAsWasOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("two sim replays")
	}
	aswas := runSim(t, Config{Variant: "aswas", Seed: 1})
	h := hypothesisOf(t, aswas, HLambdaWedged)
	if !h.Passed {
		t.Fatalf("as-was: %s: %s", h.Name, h.Reason)
	}
	if !tookAction(aswas, "restart-lambda-pollers") {
		t.Fatal("as-was: no restart-lambda-pollers decision taken")
	}
	guard := runSim(t, Config{Variant: "aswas", Seed: 1, Fixes: []string{"lambda-lease-expiry"}})
	h = hypothesisOf(t, guard, HLambdaSelfRecovers)
	if !h.Passed || tookAction(guard, "restart-lambda-pollers") {
		t.Fatalf("lambda-lease-expiry: %s: %s", h.Name, h.Reason)
	}
}

func hypothesisOf(t *testing.T, res *Result, id string) Hypothesis {
	t.Helper()
	for _, h := range res.Hypotheses {
		if h.ID == id {
			return h
		}
	}
	t.Fatalf("no hypothesis %s in the result", id)
	return Hypothesis{}
}

func tookAction(res *Result, action string) bool {
	for _, d := range res.Operator {
		if d.Action == action && d.Taken {
			return true
		}
	}
	return false
}
