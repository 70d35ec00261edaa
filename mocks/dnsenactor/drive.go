package dnsenactor

import (
	"context"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
)

// Waiter waits an incident duration (or until ctx ends): the driver's side
// of a Step's Wait. The server waits on the incident clock; unit tests
// advance a fake clock; the sim schedules the next step instead.
type Waiter interface {
	Wait(ctx context.Context, d time.Duration) error
}

// IO is a Store and a Waiter: what the blocking drivers (RunAll, Run.Apply) need.
type IO interface {
	dnsplan.Store
	Waiter
}

// Apply applies the run's generation to eps, driving Start and Step to the
// end and waiting each Step's Wait with w.
func (r *Run) Apply(ctx context.Context, eps []dnsplan.Endpoint, w Waiter) []Outcome {
	a := r.Start(eps)
	for st := a.Step(ctx); !st.Done; st = a.Step(ctx) {
		if st.Wait > 0 {
			// A failed wait (ctx ended) is seen by the next Step.
			_ = w.Wait(ctx, st.Wait)
		}
	}
	return a.Outcomes()
}

// Pauses are what a driver does between a run's steps: the server's
// failpoints, the sim's failpoint counterparts. A nil pause passes. An error
// from BeforeApply fails that group's endpoints with code "failpoint"; one
// from BeforeCleanup skips the clean-up; AfterApply's is ignored.
type Pauses struct {
	BeforeApply, AfterApply, BeforeCleanup func(ctx context.Context) error
}

func pass(ctx context.Context, f func(context.Context) error) error {
	if f == nil {
		return nil
	}
	return f(ctx)
}

// Drive makes one whole run through st: Begin, each group of endpoints
// between its pauses (waiting each retry's backoff with w), Cleanup and
// Finish. The server drives its runs with it, the sim too.
func (c *Core) Drive(ctx context.Context, st dnsplan.Store, w Waiter, p Pauses) (Summary, error) {
	r, err := c.Begin(ctx, st)
	if err != nil {
		c.events.Emit("run-error", "error", err.Error())
		return Summary{Err: err.Error()}, err
	}
	for eps := r.Next(); eps != nil; eps = r.Next() {
		if err := pass(ctx, p.BeforeApply); err != nil {
			for _, ep := range eps {
				o := Outcome{Endpoint: ep, Code: "failpoint"}
				r.record(&o)
			}
			continue
		}
		if ctx.Err() != nil {
			return r.Finish(ctx.Err()), ctx.Err()
		}
		r.Apply(ctx, eps, w)
		_ = pass(ctx, p.AfterApply)
	}
	var cerr error
	if err := pass(ctx, p.BeforeCleanup); err == nil && ctx.Err() == nil {
		cerr = r.Cleanup(ctx)
	}
	return r.Finish(cerr), cerr
}

// RunAll drives a whole run without pauses between the steps (tests and
// callers without failpoints).
func (c *Core) RunAll(ctx context.Context, io IO) (Summary, error) {
	return c.Drive(ctx, io, io, Pauses{})
}
