package dwfm

import (
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// leaseItem is the fake table's view of one lease item.
type leaseItem struct {
	owner  string
	epoch  int64
	expiry time.Time
}

// fakeTable is DynamoDB reduced to the lease table and an availability
// input: up decides, from the incident time, whether calls get through.
type fakeTable struct {
	items map[string]leaseItem
	up    func(now time.Time) bool
	calls int
}

func (t *fakeTable) do(now time.Time, op Op) Result {
	t.calls++
	if !t.up(now) {
		return Result{Outcome: Failed}
	}
	it, ok := t.items[op.Droplet]
	switch op.Kind {
	case OpRenew:
		if ok && (it.owner != op.Owner || it.epoch != op.Epoch) {
			return Result{Outcome: Conflict}
		}
		t.items[op.Droplet] = leaseItem{owner: op.Owner, epoch: op.Epoch, expiry: op.Expiry}
	case OpRead:
		return Result{Outcome: OK, Exists: ok, Epoch: it.epoch}
	case OpWrite:
		if (ok && it.epoch != op.Epoch) || (!ok && op.Epoch != 0) {
			return Result{Outcome: Conflict}
		}
		t.items[op.Droplet] = leaseItem{owner: op.Owner, epoch: op.NewEpoch, expiry: op.Expiry}
	}
	return Result{Outcome: OK}
}

// sim drives one Core on a fake clock against a fakeTable, performing every
// operation at once.
type sim struct {
	t     testing.TB
	clock *clockwork.FakeClock
	core  *Core
	table *fakeTable
	step  time.Duration
	start time.Time
	// outages are [from, to) windows of incident time, relative to start
	outages [][2]time.Duration
	trace   bool
}

func newSim(t testing.TB, cfg CoreConfig, p Policy) *sim {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	s := &sim{t: t, clock: clock, step: 10 * time.Second, start: clock.Now()}
	s.table = &fakeTable{items: map[string]leaseItem{}, up: func(now time.Time) bool {
		el := now.Sub(s.start)
		for _, o := range s.outages {
			if el >= o[0] && el < o[1] {
				return false
			}
		}
		return true
	}}
	core, err := NewCore(cfg, p, clock, rand.New(rand.NewSource(7)), kit.NewEvents("dwfm-test", clock, nil))
	if err != nil {
		t.Fatal(err)
	}
	s.core = core
	return s
}

func (s *sim) elapsed() time.Duration { return s.clock.Now().Sub(s.start) }

// run advances d of incident time; every is called each minute.
func (s *sim) run(d time.Duration, every func(st Stats)) {
	end := s.clock.Now().Add(d)
	lastMin := s.elapsed().Truncate(time.Minute)
	for s.clock.Now().Before(end) {
		s.clock.Advance(s.step)
		for _, op := range s.core.Tick() {
			s.core.OpDone(op.ID, s.table.do(s.clock.Now(), op))
		}
		if m := s.elapsed().Truncate(time.Minute); m != lastMin {
			lastMin = m
			st := s.core.Stats()
			if s.trace && m%(10*time.Minute) == 0 {
				s.t.Logf("t+%4.0fm held=%3d queue=%5d delayed=%3d goodput=%.2f timedOut=%d wasted=%d rejected=%d calls=%d",
					m.Minutes(), st.LeasesHeld, st.QueueDepth, st.Delayed, st.GoodputPerMinute, st.TimedOut, st.Wasted, st.Rejected, s.table.calls)
			}
			if every != nil {
				every(st)
			}
		}
	}
}

// incident is the shape of the real night, relative to the sim's start: the
// record empties at +30m and is restored 157 minutes later.
var (
	outageStart = 30 * time.Minute
	outageLen   = 157 * time.Minute
	restoredAt  = outageStart + outageLen
)
