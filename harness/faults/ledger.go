package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Sink receives the ledger's entries; *timeline.Timeline is one.
type Sink interface {
	AddFault(f timeline.Fault) string
	EndFault(id string, end time.Time) error
}

// Ledger applies faults to a stack, records each one (a timeline.Fault with
// its incident start and end), and reverts whatever is still active on
// RevertAll, newest first. Safe for concurrent use.
type Ledger struct {
	stack harness.Stack
	sim   *sim.Stack // a sim ledger's stack (NewSimLedger); stack is nil then
	sinks []Sink

	mu      sync.Mutex
	seq     int
	entries []*entry
}

type entry struct {
	rec    timeline.Fault
	fault  Fault
	active bool
}

// LedgerOption configures a Ledger.
type LedgerOption func(*Ledger)

// WithTimeline sends every entry to sink as well.
func WithTimeline(sink Sink) LedgerOption {
	return func(l *Ledger) {
		if sink != nil {
			l.sinks = append(l.sinks, sink)
		}
	}
}

// NewLedger returns an empty ledger for stack.
func NewLedger(stack harness.Stack, opts ...LedgerOption) *Ledger {
	l := &Ledger{stack: stack}
	for _, o := range opts {
		o(l)
	}
	return l
}

// RevertTimeout bounds a revert whose context has already ended (a spec
// that timed out still gets its faults reverted).
var RevertTimeout = 10 * time.Second

// Apply applies f, records it, and returns the function that reverts it
// (idempotent; pass it to DeferCleanup). A failed Apply is reverted at once
// (a fault may have been half applied) and recorded as ended.
func (l *Ledger) Apply(ctx context.Context, f Fault) (undo func(context.Context) error, err error) {
	rec := Describe(f)
	l.mu.Lock()
	l.seq++
	rec.ID = fmt.Sprintf("%s-%d", l.name(), l.seq)
	l.mu.Unlock()
	rec.Start = l.now()
	e := &entry{rec: rec, fault: f, active: true}
	if err := l.applyFault(ctx, f); err != nil {
		rerr := l.revertFault(liveContext(ctx), f)
		e.active = false
		e.rec.End = l.now()
		e.rec.Detail = joinDetail(e.rec.Detail, "failed: "+err.Error())
		l.record(e)
		return func(context.Context) error { return nil }, errors.Join(fmt.Errorf("apply %s %s: %w", rec.Name, rec.Target, err), rerr)
	}
	if in, ok := f.(Instant); ok && in.Instant() {
		e.active = false
		e.rec.End = e.rec.Start
	}
	l.record(e)
	return func(ctx context.Context) error { return l.revert(ctx, e) }, nil
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (l *Ledger) record(e *entry) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	rec := e.rec
	l.mu.Unlock()
	for _, s := range l.sinks {
		s.AddFault(rec)
	}
}

func (l *Ledger) revert(ctx context.Context, e *entry) error {
	l.mu.Lock()
	if !e.active {
		l.mu.Unlock()
		return nil
	}
	e.active = false
	l.mu.Unlock()
	err := l.revertFault(liveContext(ctx), e.fault)
	end := l.now()
	l.mu.Lock()
	e.rec.End = end
	if err != nil {
		e.rec.Detail = joinDetail(e.rec.Detail, "revert failed: "+err.Error())
	}
	l.mu.Unlock()
	for _, s := range l.sinks {
		_ = s.EndFault(e.rec.ID, end)
	}
	if err != nil {
		return fmt.Errorf("revert %s %s: %w", e.rec.Name, e.rec.Target, err)
	}
	return nil
}

// liveContext is ctx, or a fresh bounded one when ctx has already ended.
func liveContext(ctx context.Context) context.Context {
	if ctx.Err() == nil {
		return ctx
	}
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), RevertTimeout)
	context.AfterFunc(c, cancel)
	return c
}

// RevertAll reverts every active fault, newest first, and returns every
// error joined. Pass it to DeferCleanup right after creating the ledger.
func (l *Ledger) RevertAll(ctx context.Context) error {
	l.mu.Lock()
	entries := append([]*entry(nil), l.entries...)
	l.mu.Unlock()
	// A host still restarting would miss its revert (and race the close).
	var errs []error
	if l.stack != nil {
		errs = append(errs, WaitRestarts(liveContext(ctx), l.stack))
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if err := l.revert(ctx, entries[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Faults returns every entry, in the order applied.
func (l *Ledger) Faults() []timeline.Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]timeline.Fault, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.rec)
	}
	return out
}

// Active returns the entries not yet reverted.
func (l *Ledger) Active() []timeline.Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []timeline.Fault
	for _, e := range l.entries {
		if e.active {
			out = append(out, e.rec)
		}
	}
	return out
}
