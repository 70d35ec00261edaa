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

// RunAll drives a whole run without pauses between the steps (tests and
// callers without failpoints).
func (c *Core) RunAll(ctx context.Context, io IO) (Summary, error) {
	r, err := c.Begin(ctx, io)
	if err != nil {
		return Summary{Err: err.Error()}, err
	}
	for eps := r.Next(); eps != nil; eps = r.Next() {
		r.Apply(ctx, eps, io)
	}
	err = r.Cleanup(ctx)
	return r.Finish(err), err
}
