package sim

import (
	"container/heap"
	"context"
	"errors"
	"iter"
	"math/rand"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Sim is one simulated run: a virtual incident clock, an event queue and the
// run's one random source. Not safe for concurrent use: everything happens
// in the goroutine that calls Run (processes included, one at a time).
type Sim struct {
	clock  *clockwork.FakeClock
	now    time.Time
	rng    *rand.Rand
	queue  events
	seq    uint64
	steps  uint64
	stop   bool
	procs  []*Proc
	cur    *Proc
	maxRun time.Time
}

// New returns a run seeded with seed whose clock reads start.
func New(seed int64, start time.Time) *Sim {
	return &Sim{clock: clockwork.NewFakeClockAt(start), now: start, rng: rand.New(rand.NewSource(seed))}
}

// Now is the virtual incident time.
func (s *Sim) Now() time.Time { return s.now }

// Clock is the incident clock the cores take: a fake clock the scheduler
// advances to each event's time before running it.
func (s *Sim) Clock() kit.Clock { return s.clock }

// Rand is the run's one random source.
func (s *Sim) Rand() *rand.Rand { return s.rng }

// Events is how many events the run has processed.
func (s *Sim) Events() uint64 { return s.steps }

type event struct {
	at  time.Time
	tie uint64 // drawn from the run's random source: orders events at the same instant
	seq uint64 // then scheduling order (ties of the tie-break itself)
	fn  func()
}

type events []*event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	if q[i].tie != q[j].tie {
		return q[i].tie < q[j].tie
	}
	return q[i].seq < q[j].seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// At runs fn at t (at once if t is past).
func (s *Sim) At(t time.Time, fn func()) {
	if t.Before(s.now) {
		t = s.now
	}
	s.seq++
	heap.Push(&s.queue, &event{at: t, tie: s.rng.Uint64(), seq: s.seq, fn: fn})
}

// After runs fn d from now.
func (s *Sim) After(d time.Duration, fn func()) { s.At(s.now.Add(d), fn) }

// Run processes events until the queue is empty, Stop is called, or the
// next event is after until. The clock ends at until (or where Stop left it).
func (s *Sim) Run(until time.Time) {
	s.stop = false
	for len(s.queue) > 0 && !s.stop {
		if s.queue[0].at.After(until) {
			break
		}
		e := heap.Pop(&s.queue).(*event)
		s.advance(e.at)
		s.steps++
		e.fn()
	}
	if !s.stop && until.After(s.now) {
		s.advance(until)
	}
}

func (s *Sim) advance(t time.Time) {
	if t.After(s.now) {
		s.clock.Advance(t.Sub(s.now))
		s.now = t
	}
}

// Stop ends Run after the current event.
func (s *Sim) Stop() { s.stop = true }

// Close ends every process still parked (their deferred calls run).
func (s *Sim) Close() {
	for _, p := range s.procs {
		p.kill()
	}
	s.procs = nil
}

// Kill ends the processes named name (a node whose process is gone: a
// restart starts new ones). Called from outside them: a process does not
// kill itself.
func (s *Sim) Kill(name string) {
	kept := s.procs[:0]
	for _, p := range s.procs {
		if p.name == name && p != s.cur {
			p.kill()
			continue
		}
		kept = append(kept, p)
	}
	clear(s.procs[len(kept):])
	s.procs = kept
}

// errKilled unwinds a process whose run was closed.
var errKilled = errors.New("sim: process killed")

// Proc is a process: a service's sequential code (its loop) that runs only
// when the scheduler resumes it, and parks whenever it waits. Its methods
// are called from its own code only.
type Proc struct {
	s      *Sim
	name   string
	next   func() (struct{}, bool)
	cancel func()
	yield  func(struct{}) bool
	done   bool
	ctx    context.Context
	// frozen: its node is paused or stopped; woken: a resume came while
	// frozen (run when it thaws).
	frozen, woken bool
}

// Go starts a process named name running body, at the current instant.
func (s *Sim) Go(name string, body func(p *Proc)) *Proc {
	p := &Proc{s: s, name: name, ctx: context.Background()}
	p.next, p.cancel = iter.Pull(func(yield func(struct{}) bool) {
		p.yield = yield
		defer func() {
			if r := recover(); r != nil && r != errKilled { //nolint:errorlint // sentinel panic value
				panic(r)
			}
		}()
		body(p)
	})
	s.procs = append(s.procs, p)
	s.At(s.now, p.resume)
	return p
}

// Name is the process's name.
func (p *Proc) Name() string { return p.name }

// Context is the context the process's core calls take (never cancelled:
// a closed run unwinds its processes instead).
func (p *Proc) Context() context.Context { return p.ctx }

// Sim is the run the process belongs to.
func (p *Proc) Sim() *Sim { return p.s }

func (p *Proc) resume() {
	if p.done {
		return
	}
	if p.frozen {
		p.woken = true
		return
	}
	prev := p.s.cur
	p.s.cur = p
	if _, ok := p.next(); !ok {
		p.done = true
	}
	p.s.cur = prev
}

func (p *Proc) kill() {
	if !p.done {
		p.done = true
		p.cancel()
	}
}

// park gives control back to the scheduler until something resumes p.
func (p *Proc) park() {
	if !p.yield(struct{}{}) {
		panic(errKilled)
	}
}

// Sleep parks the process for d of incident time.
func (p *Proc) Sleep(d time.Duration) {
	p.s.After(d, p.resume)
	p.park()
}

// Wait implements the Enactor's Waiter: the retry's backoff is incident
// time during which the process is parked.
func (p *Proc) Wait(_ context.Context, d time.Duration) error {
	p.Sleep(d)
	return nil
}

// Signal is a one-shot wake-up: a process parks on it until it fires.
type Signal struct {
	p       *Proc
	fired   bool
	waiting bool
}

// NewSignal returns a signal for p.
func (p *Proc) NewSignal() *Signal { return &Signal{p: p} }

// Fire wakes the process parked on the signal, at the current instant
// (once; a signal fired before anyone awaits it is remembered).
func (g *Signal) Fire() {
	if g.fired {
		return
	}
	g.fired = true
	if g.waiting {
		g.p.s.At(g.p.s.now, g.p.resume)
	}
}

// Await parks until the signal fired (returns at once if it has).
func (g *Signal) Await() {
	if g.fired {
		return
	}
	g.waiting = true
	g.p.park()
	g.waiting = false
}

// freeze freezes (on) or thaws the processes named name; a thawed process
// woken while frozen runs now.
func (s *Sim) freeze(name string, on bool) {
	for _, p := range s.procs {
		if p.name != name || p.frozen == on {
			continue
		}
		p.frozen = on
		if !on && p.woken {
			p.woken = false
			s.At(s.now, p.resume)
		}
	}
}

// ctx is the context of calls made outside any process (checks at the end).
func (s *Sim) ctx() context.Context { return context.Background() }
