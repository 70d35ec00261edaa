package use1

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// External is a replay against a stack its caller started and keeps: a
// user's suite (package cascadetest) starts the stack with StackOptions, runs
// its own service against it, and replays the incident with its own probes
// sampled beside the replay's.
type External struct {
	// Stack is the running stack, started with the Config's StackOptions
	// (the replay's calibration reaches the services only through them).
	// The replay reverts its faults but does not close it.
	Stack harness.Stack
	// Probes are the caller's probes, sampled every ProbePeriod of
	// incident time (1 min when zero) on the stack's clock; their samples
	// go to the replay's timeline.
	Probes      []probes.Probe
	ProbePeriod time.Duration
	// Components map the caller's probes to timeline components, so the
	// report shows them beside cascade's own.
	Components []timeline.Component
	// Done, when closed, ends the replay before Config.End: its timeline
	// then ends at the incident time it was closed.
	Done <-chan struct{}
}

// TriggerMargin is how much incident time before TriggerAt a replay on an
// external stack must begin: the replay launches the customer's fleet and
// starts its probes before the trigger.
const TriggerMargin = 5 * time.Minute

// StackOptions are the options the replay starts its stack with (backend,
// speed, seed, incident start, fixes, event output and the calibration's
// tunes): a caller that starts the stack itself passes them to
// harness.Start, after its own.
func (c Config) StackOptions() ([]harness.Option, error) {
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	return []harness.Option{
		harness.WithBackend(c.Backend), harness.WithSpeed(c.Speed), harness.WithSeed(c.Seed),
		harness.WithIncidentStart(c.Start), harness.WithFixes(c.FixSet()...),
		harness.WithEventOutput(c.EventOutput), harness.WithTune(c.Calibration.tune),
	}, nil
}

// normalizeExternal takes speed, backend and (when unset) start from the
// external stack and checks that its clock has not passed the trigger.
func (c *Config) normalizeExternal() error {
	if c.External == nil || c.External.Stack == nil {
		return nil
	}
	ep := c.External.Stack.Endpoints()
	if ep.Clock.Speed > 0 {
		c.Speed = ep.Clock.Speed
	}
	if ep.Backend != "" {
		c.Backend = ep.Backend
	}
	now := c.External.Stack.Clock().Now()
	if c.Start.IsZero() {
		c.Start = now.Truncate(time.Minute)
	}
	if latest := TriggerAt.Add(-TriggerMargin); now.After(latest) {
		return fmt.Errorf("replay on stack %s: its clock reads %s, past %s (the trigger at %s less %s): start the stack closer to the replay or with more lead time",
			ep.Name, now.In(pdt).Format("15:04 MST"), latest.In(pdt).Format("15:04"), TriggerAt.In(pdt).Format("15:04"), TriggerMargin)
	}
	return nil
}

// startStack starts the replay's stack, or returns the external one.
func (c Config) startStack(ctx context.Context, opts []harness.Option) (harness.Stack, error) {
	if c.External != nil && c.External.Stack != nil {
		return c.External.Stack, nil
	}
	return harness.Start(ctx, opts...)
}

// closeStack closes a stack the replay started; an external one stays up.
func (c Config) closeStack(ctx context.Context, s harness.Stack) error {
	if c.External != nil && c.External.Stack != nil {
		return nil
	}
	return s.Close(ctx)
}

// start registers the caller's components and samples its probes until
// the returned function (idempotent) is called or ctx ends.
func (e *External) start(ctx context.Context, clock kit.Clock, tl *timeline.Timeline) (stop func()) {
	if e == nil || len(e.Probes) == 0 {
		return func() {}
	}
	for _, c := range e.Components {
		tl.RegisterComponent(c.Name, c.Probes...)
	}
	period := e.ProbePeriod
	if period <= 0 {
		period = time.Minute
	}
	r := probes.NewRunner(clock, period, tl.AddSample, e.Probes...)
	r.Start(ctx)
	var once sync.Once
	return func() { once.Do(r.Stop) }
}

// waitEnd waits (on the incident clock) until the replay's end or the
// external Done; false if ctx ended first. Ended by Done, the timeline's
// span ends at the incident time it was closed.
func (r *runner) waitEnd(ctx context.Context, tl *timeline.Timeline) bool {
	ext := r.cfg.External
	if ext == nil || ext.Done == nil {
		return r.waitUntil(ctx, r.cfg.End)
	}
	endCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ext.Done:
			cancel()
		case <-endCtx.Done():
		}
	}()
	if r.waitUntil(endCtx, r.cfg.End) {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if now := r.w.Clock().Now(); now.Before(r.cfg.End) {
		tl.SetSpan(r.cfg.Start, now)
	}
	return true
}
