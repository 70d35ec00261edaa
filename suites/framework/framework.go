// Package framework is what every Ginkgo suite's fixture shares (as
// Kubernetes' test/e2e/framework): a stack per spec (or per Ordered
// container) on the backend CASCADE_BACKEND names, the checks that nothing
// from an earlier run is left, a timeline fed by the stack's events and the
// suite's probes, a fault ledger reverted by DeferCleanup, and the
// timeline's report attached to a failed spec. A suite's fixture keeps only
// what is its own: its services, tunes, probes and drivers.
//
// Call Start from a BeforeEach, BeforeAll or It: every part it creates is
// undone by DeferCleanup in the right order (the report first, then the
// probes, the faults, the timeline and the stack last). A spec that starts
// stacks in a loop calls Open and Close instead.
//
// The backends a suite can run on are those harness/backends registers: a
// new backend (the coming sim) is one more import there and a value of
// CASCADE_BACKEND, nothing in a suite.
package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the framework is Ginkgo's
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/backends" // every backend CASCADE_BACKEND may name
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/report/specreport"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Run is one started stack and what observes and faults it.
type Run struct {
	Stack harness.Stack
	// Timeline holds the stack's events, the probes' samples and the
	// ledger's faults (nil with WithoutTimeline).
	Timeline *timeline.Timeline
	// Ledger records every fault; DeferCleanup reverts them all.
	Ledger *faults.Ledger
	// Runners are the probe runners, in WithProbes order.
	Runners []*probes.Runner

	cleanups []func() error
}

type config struct {
	stack       []harness.Option
	timeline    []timeline.Option
	noTimeline  bool
	sweep       bool
	buffer      int
	probes      []probeSet
	attachEnv   string
	onTimeline  []func(*timeline.Timeline)
	description string
}

type probeSet struct {
	period time.Duration
	probes func(harness.Stack) []probes.Probe
}

// Option configures Start.
type Option func(*config)

// WithStack passes options to harness.Start (services, tunes, speed, seed,
// fixes); the backend comes from CASCADE_BACKEND unless one names it.
func WithStack(opts ...harness.Option) Option {
	return func(c *config) { c.stack = append(c.stack, opts...) }
}

// WithTimeline passes options to the timeline (its components); setup runs
// on it before events flow (registering event probes).
func WithTimeline(setup func(*timeline.Timeline), opts ...timeline.Option) Option {
	return func(c *config) {
		c.timeline = append(c.timeline, opts...)
		if setup != nil {
			c.onTimeline = append(c.onTimeline, setup)
		}
	}
}

// WithoutTimeline: no timeline, no report (a suite that reads events its
// own way).
func WithoutTimeline() Option { return func(c *config) { c.noTimeline = true } }

// WithSweep checks, right after the start, that nothing from an earlier run
// is left (toxics, containers, networks): DESIGN's sixth principle.
func WithSweep() Option { return func(c *config) { c.sweep = true } }

// WithEventBuffer sizes the timeline's event subscription (default 4096).
func WithEventBuffer(n int) Option { return func(c *config) { c.buffer = n } }

// WithProbes runs the probes built from the stack every period (incident
// time), their samples into the timeline, from the start to the cleanup.
func WithProbes(period time.Duration, build func(harness.Stack) []probes.Probe) Option {
	return func(c *config) { c.probes = append(c.probes, probeSet{period, build}) }
}

// AttachAlwaysWhen attaches the timeline's report to every spec, not only a
// failed one, when the environment variable env is "always".
func AttachAlwaysWhen(env string) Option { return func(c *config) { c.attachEnv = env } }

// Describing narrates the start with By("starting <what> on the <backend>
// backend").
func Describing(what string) Option { return func(c *config) { c.description = what } }

// Start starts a stack as the options say and registers its Close with
// DeferCleanup; a start that fails fails the spec.
func Start(ctx context.Context, opts ...Option) *Run {
	GinkgoHelper()
	r, err := Open(ctx, opts...)
	if r != nil {
		DeferCleanup(r.Close)
	}
	Expect(err).NotTo(HaveOccurred())
	return r
}

// Open starts a stack as the options say, for a spec that starts and closes
// stacks in a loop: Close undoes everything, in reverse order. On error the
// Run (when not nil) holds what was started and must be closed.
func Open(ctx context.Context, opts ...Option) (*Run, error) {
	c := config{buffer: 4096, description: "the stack"}
	for _, o := range opts {
		o(&c)
	}
	By("starting " + c.description + " on the " + Backend() + " backend")
	stack, err := harness.Start(ctx, c.stack...)
	if err != nil {
		return nil, err
	}
	r := &Run{Stack: stack}
	r.defer_(func() error { return stack.Close(context.Background()) })
	AddReportEntry("backend", stack.Endpoints().Backend)
	GinkgoWriter.Printf("stack %s on the %s backend\n", stack.Name(), stack.Endpoints().Backend)
	if c.sweep {
		left, err := faults.Sweep(ctx, stack)
		if err != nil {
			return r, err
		}
		if !left.Empty() {
			return r, fmt.Errorf("leftovers of an earlier run: %s", left)
		}
	}
	var ledgerOpts []faults.LedgerOption
	if !c.noTimeline {
		r.Timeline = timeline.MustNew(append([]timeline.Option{timeline.WithName(stack.Name())}, c.timeline...)...)
		for _, setup := range c.onTimeline {
			setup(r.Timeline)
		}
		events, unsubscribe := stack.Events(c.buffer)
		consumeCtx, stopConsuming := context.WithCancel(context.Background())
		go r.Timeline.Consume(consumeCtx, events)
		r.defer_(func() error { stopConsuming(); unsubscribe(); return nil })
		ledgerOpts = append(ledgerOpts, faults.WithTimeline(r.Timeline))
	}
	r.Ledger = faults.NewLedger(stack, ledgerOpts...)
	// Every fault is undone, also when the spec failed or panicked.
	r.defer_(func() error { return r.Ledger.RevertAll(context.Background()) })
	for _, ps := range c.probes {
		sink := func(...timeline.Sample) {}
		if r.Timeline != nil {
			sink = r.Timeline.AddSample
		}
		runner := probes.NewRunner(stack.Clock(), ps.period, sink, ps.probes(stack)...)
		runner.Start(context.Background())
		r.defer_(func() error { runner.Stop(); return nil })
		r.Runners = append(r.Runners, runner)
	}
	if r.Timeline != nil {
		// Last so it runs first: the timeline of a failed spec.
		r.defer_(func() error {
			if CurrentSpecReport().Failed() || (c.attachEnv != "" && os.Getenv(c.attachEnv) == "always") {
				specreport.Attach(r.Timeline.Snapshot())
			}
			return nil
		})
	}
	return r, nil
}

func (r *Run) defer_(f func() error) { r.cleanups = append(r.cleanups, f) }

// Close undoes everything Open did, last first: the report, the probes,
// the faults, the timeline, the stack. It runs every step even when one
// fails and returns their errors (a fault it could not revert fails the
// spec that DeferCleanup'd it). It may be called more than once.
func (r *Run) Close() error {
	var errs []error
	for len(r.cleanups) > 0 {
		f := r.cleanups[len(r.cleanups)-1]
		r.cleanups = r.cleanups[:len(r.cleanups)-1]
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// Backend is the backend a suite runs on: CASCADE_BACKEND, else the
// default.
func Backend() string {
	if b := os.Getenv(harness.BackendEnv); b != "" {
		return b
	}
	return harness.DefaultBackend
}

// OnContainers reports whether the suite runs on a backend of containers
// (containers, compose): what a suite that scales its timeouts asks.
func OnContainers() bool { return Backend() == "containers" || Backend() == "compose" }
