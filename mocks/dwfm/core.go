package dwfm

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// OpKind is the kind of DynamoDB operation Core asks the transport to perform.
type OpKind int

const (
	// OpRenew is a state check's conditional UpdateItem: it sets the lease's
	// expiry if the item is missing or still carries Owner and Epoch.
	OpRenew OpKind = iota + 1
	// OpRead is the GetItem that starts a re-lease.
	OpRead
	// OpWrite is the conditional UpdateItem that ends a re-lease: owner,
	// NewEpoch and Expiry, if the stored epoch is still Epoch (or the item is
	// missing and Epoch is 0).
	OpWrite
)

func (k OpKind) String() string {
	switch k {
	case OpRenew:
		return "renew"
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	}
	return fmt.Sprintf("op(%d)", int(k))
}

// Op is one DynamoDB operation on a droplet's lease item, emitted by Core.Tick
// for the transport to perform; its result comes back through Core.OpDone.
type Op struct {
	ID       uint64
	Kind     OpKind
	Droplet  string
	Owner    string
	Epoch    int64     // the epoch the condition expects
	NewEpoch int64     // OpWrite: the epoch written
	Expiry   time.Time // OpRenew, OpWrite: the expiry written
}

// Outcome is how a DynamoDB operation ended.
type Outcome int

const (
	// OK means the operation succeeded.
	OK Outcome = iota
	// Conflict means the condition failed: the item is another lease's.
	Conflict
	// Failed means the call did not complete: no such host, refused, timed
	// out, throttled, a server error.
	Failed
)

// Result is the result of an Op.
type Result struct {
	Outcome Outcome
	Exists  bool  // OpRead: the item exists
	Epoch   int64 // OpRead: the stored epoch
}

// CoreConfig is what Core is built from. Durations are incident durations.
type CoreConfig struct {
	// Owner names this DWFM host in the lease items it writes.
	Owner string `flag:"-"`
	// Droplets are the ids of the fleet, one lease each.
	Droplets []string `flag:"-"`
	// CheckPeriod is how often each droplet's state check runs.
	CheckPeriod time.Duration `flag:"check-period" usage:"state check period per droplet, incident time"`
	// LeaseTTL is how long a lease lasts without a successful check.
	LeaseTTL time.Duration `flag:"lease-ttl" usage:"lease TTL, incident time"`
	// WorkTimeout is a re-lease's deadline, counted from when it was queued.
	WorkTimeout time.Duration `flag:"work-timeout" usage:"re-lease work timeout from when it is queued, incident time"`
	// StateSync is the per-droplet service time of a re-lease, between its
	// read and its write.
	StateSync time.Duration `flag:"state-sync" usage:"per-droplet state sync time of a re-lease, incident time"`
	// Workers is how many re-leases run at once.
	Workers int `flag:"workers" usage:"re-lease workers"`
	// DispatchPerMinute bounds how many re-leases workers start per minute.
	DispatchPerMinute float64 `flag:"dispatch-rate" usage:"re-leases started per incident minute at most"`
	// BackoffBase and BackoffMax shape the fixed retry delay of failed work:
	// full jitter over min(BackoffMax, BackoffBase*2^attempt).
	BackoffBase time.Duration `flag:"backoff-base" usage:"fixed: first retry backoff ceiling, incident time"`
	BackoffMax  time.Duration `flag:"backoff-max" usage:"fixed: largest retry backoff ceiling, incident time"`
	// GoodputWindow is the window over which goodput is averaged.
	GoodputWindow time.Duration `flag:"goodput-window" usage:"window of the goodput average, incident time"`
	// SampleEvery is the period of "queue-depth" events.
	SampleEvery time.Duration `flag:"sample" usage:"queue-depth event period, incident time"`
	// NetWorkPerWrite is how many Network Manager work items one lease write
	// by a worker owes: the droplet's network configuration re-synchronised
	// at every location (0: no hand-off). See TakeNetWork.
	NetWorkPerWrite int `flag:"net-work-per-write" usage:"Network Manager work items each lease write owes"`
	// NetBackoffBase and NetBackoffMax shape the delay before owed work that
	// Network Manager refused (or could not be reached for) is posted again:
	// doubling from base up to max.
	NetBackoffBase time.Duration `flag:"net-backoff-base" usage:"first delay before refused Network Manager work is posted again, incident time"`
	NetBackoffMax  time.Duration `flag:"net-backoff-max" usage:"largest delay before refused Network Manager work is posted again, incident time"`
}

// Policy is the set of rules that decide what the queue does with work. The
// as-was rules together make the collapse; each can be switched alone, which
// is how the tests show that the collapse needs them.
type Policy struct {
	// Requeue puts timed-out and failed work back at the tail at once, with
	// a fresh deadline. Without it timed-out work is dropped (the droplet's
	// next check enqueues it again) and failed work is dropped unless Backoff.
	Requeue bool
	// DoExpired lets a worker start (and finish) expired work: work that
	// can no longer finish before its deadline, because its deadline has
	// passed or is nearer than one state sync. Without it such work is
	// dropped before it is done (and re-queued, if Requeue).
	DoExpired bool
	// Dedup keeps at most one re-lease per droplet queued or running.
	Dedup bool
	// AdmitLimit refuses new work while the queue holds this many (0: none).
	AdmitLimit int
	// AdaptiveAdmit lowers the admission limit to what the workers can
	// finish within a work timeout at the service time they measure (the
	// time from a re-lease's start to its write's result, smoothed), so a
	// slow DynamoDB shrinks the queue instead of timing its work out.
	AdaptiveAdmit bool
	// Backoff retries failed work after exponential backoff with full jitter.
	Backoff bool
}

// AsWasPolicy is October 2025: FIFO, timed-out and failed work re-queued at
// once, expired work still done, no de-duplication, no admission control.
func AsWasPolicy() Policy { return Policy{Requeue: true, DoExpired: true} }

// FixedPolicy is the protection: admission by queue size (the number of
// items the workers can finish within a work timeout), expired work dropped
// before it is done, failed work retried with backoff and jitter.
func FixedPolicy(cfg CoreConfig) Policy {
	return Policy{AdmitLimit: AdmitLimitFor(cfg), AdaptiveAdmit: true, Backoff: true}
}

// AdmitLimitFor is the queue size at which a newly queued item can still be
// finished before its deadline: Workers*(WorkTimeout-StateSync)/StateSync.
func AdmitLimitFor(cfg CoreConfig) int { return admitLimit(cfg, cfg.StateSync) }

// admitLimit is Workers*(WorkTimeout-service)/service for a service time.
func admitLimit(cfg CoreConfig, service time.Duration) int {
	if service <= 0 || cfg.WorkTimeout <= service {
		return max(1, cfg.Workers)
	}
	return max(1, int(float64(cfg.Workers)*float64(cfg.WorkTimeout-service)/float64(service)))
}

// PolicyFor returns the policy of a mode.
func PolicyFor(mode kit.Mode, cfg CoreConfig) Policy {
	if mode.IsFixed() {
		return FixedPolicy(cfg)
	}
	return AsWasPolicy()
}

// Stats is a snapshot of Core's state and counters.
type Stats struct {
	Droplets         int     `json:"droplets"`
	LeasesHeld       int     `json:"leasesHeld"`
	QueueDepth       int     `json:"queueDepth"`
	Delayed          int     `json:"delayed"`
	Busy             int     `json:"busyWorkers"`
	GoodputPerMinute float64 `json:"goodputPerMinute"`
	IntakePerMinute  float64 `json:"intakeThrottlePerMinute"`
	Established      uint64  `json:"leasesEstablished"`
	Expired          uint64  `json:"leasesExpired"`
	TimedOut         uint64  `json:"workTimedOut"`
	Wasted           uint64  `json:"workWastedExpired"`
	DroppedExpired   uint64  `json:"workDroppedExpired"`
	Rejected         uint64  `json:"workRejected"`
	Failed           uint64  `json:"workFailed"`
	Enqueued         uint64  `json:"workEnqueued"`
	ChecksOK         uint64  `json:"checksOK"`
	ChecksFailed     uint64  `json:"checksFailed"`
	Restarts         uint64  `json:"restarts"`
	// LeaseWrites counts the lease writes workers performed (honoured or,
	// after the deadline, not); each owes NetWorkPerWrite items to Network
	// Manager. NetWorkOwed is what is still to be posted; NetWorkPosted what
	// Network Manager admitted; NetWorkRefused what it refused (posted again
	// later); NetWorkDropped what a restart forgot.
	LeaseWrites    uint64 `json:"leaseWrites"`
	NetWorkOwed    int    `json:"netWorkOwed"`
	NetWorkPosted  uint64 `json:"netWorkPosted"`
	NetWorkRefused uint64 `json:"netWorkRefused"`
	NetWorkDropped uint64 `json:"netWorkDropped"`
}

type droplet struct {
	id       string
	leased   bool
	expiry   time.Time
	epoch    int64
	ver      uint64 // bumped whenever expiry changes; stale heap entries are skipped
	checking bool   // a renew is in flight
	pending  int    // re-leases queued, delayed or running
}

type work struct {
	d          int
	deadline   time.Time
	attempt    int
	readEpoch  int64
	lateStart  bool // started when it could no longer finish in time
	started    time.Time
	retryAfter time.Time
}

const (
	idle = iota
	reading
	syncing
	writing
)

type worker struct {
	w       *work
	phase   int
	syncEnd time.Time
}

type opRef struct {
	kind   OpKind
	d      int
	worker int // -1 for a renew
	expiry time.Time
	epoch  int64
}

// Core is the mechanism of one DWFM host: leases, checks, the re-lease queue
// and its workers. It performs no I/O: Tick returns the DynamoDB operations to
// perform and OpDone takes their results. Not safe for concurrent use.
type Core struct {
	cfg    CoreConfig
	policy Policy
	clock  kit.Clock
	rng    *rand.Rand
	events *kit.Events

	droplets []droplet
	checks   timeHeap // one entry per droplet: its next check
	expiries timeHeap // lazy: entries whose ver no longer matches are skipped
	queue    fifo
	delayed  timeHeap // backed-off retries (fixed)
	workers  []worker
	ops      map[uint64]opRef
	nextOp   uint64
	out      []Op

	dispatch tokenBucket
	intake   tokenBucket // operator throttle; rate 0: off
	cursor   int         // round robin of Allocate

	successes  []time.Time   // within GoodputWindow
	service    time.Duration // smoothed service time of a re-lease
	nextSample time.Time
	stats      Stats

	// the hand-off to Network Manager: owed items, the post in flight, and
	// when a refused remainder may be posted again
	net kit.Owed

	// per-tick aggregates, emitted as one event each
	tickExpired, tickEstablished int

	// the policy's rules as functions, chosen once (a mode swaps them)
	onTimeout func(w *work, now time.Time)
	onFailure func(w *work, now time.Time)
}

// NewCore returns a host whose droplets all hold a lease from now (the steady
// state before the incident), with their first checks spread over a period.
func NewCore(cfg CoreConfig, policy Policy, clock kit.Clock, rng *rand.Rand, events *kit.Events) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	now := clock.Now()
	c := &Core{
		cfg: cfg, clock: clock, rng: rng, events: events,
		droplets: make([]droplet, len(cfg.Droplets)),
		workers:  make([]worker, cfg.Workers),
		ops:      map[uint64]opRef{},
		net:      kit.Owed{Base: cfg.NetBackoffBase, Max: cfg.NetBackoffMax},
		dispatch: tokenBucket{perMinute: cfg.DispatchPerMinute, burst: float64(cfg.Workers), tokens: float64(cfg.Workers), last: now},
	}
	c.SetPolicy(policy)
	for i, id := range cfg.Droplets {
		c.droplets[i] = droplet{id: id}
	}
	c.service = cfg.StateSync
	c.stats.Droplets = len(cfg.Droplets)
	c.Boot()
	return c, nil
}

// Boot brings the host up in the steady state from now: every droplet holds
// a lease for a TTL, the first checks spread over a check period, no work
// queued. The transport boots the core again once the lease table answers,
// so that a slow start does not eat into the first leases.
func (c *Core) Boot() {
	now := c.clock.Now()
	c.queue = fifo{}
	c.delayed = nil
	c.expiries = nil
	c.checks = nil
	c.ops = map[uint64]opRef{}
	for i := range c.workers {
		c.workers[i] = worker{}
	}
	for i := range c.droplets {
		d := &c.droplets[i]
		*d = droplet{id: d.id, leased: true, expiry: now.Add(c.cfg.LeaseTTL), epoch: d.epoch, ver: d.ver + 1}
		heap.Push(&c.expiries, timed{at: d.expiry, i: i, ver: d.ver})
		heap.Push(&c.checks, timed{at: now.Add(c.stagger()), i: i})
	}
	c.nextSample = now.Add(c.cfg.SampleEvery)
	c.stats.LeasesHeld = len(c.droplets)
}

func (cfg *CoreConfig) validate() error {
	switch {
	case len(cfg.Droplets) == 0:
		return errors.New("dwfm core: no droplets")
	case cfg.CheckPeriod <= 0, cfg.LeaseTTL <= 0, cfg.WorkTimeout <= 0, cfg.StateSync < 0:
		return fmt.Errorf("dwfm core: check period %v, lease TTL %v, work timeout %v must be > 0 and state sync %v >= 0",
			cfg.CheckPeriod, cfg.LeaseTTL, cfg.WorkTimeout, cfg.StateSync)
	case cfg.Workers < 1:
		return fmt.Errorf("dwfm core: workers %d: must be at least 1", cfg.Workers)
	case cfg.DispatchPerMinute <= 0:
		return fmt.Errorf("dwfm core: dispatch rate %v per minute: must be > 0", cfg.DispatchPerMinute)
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Minute
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = 16 * cfg.BackoffBase
	}
	if cfg.GoodputWindow <= 0 {
		cfg.GoodputWindow = 10 * time.Minute
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = 10 * time.Minute
	}
	if cfg.NetWorkPerWrite < 0 {
		return fmt.Errorf("dwfm core: network work per write %d: must be >= 0", cfg.NetWorkPerWrite)
	}
	if cfg.NetBackoffBase <= 0 {
		cfg.NetBackoffBase = time.Minute
	}
	if cfg.NetBackoffMax < cfg.NetBackoffBase {
		cfg.NetBackoffMax = 16 * cfg.NetBackoffBase
	}
	return nil
}

// SetPolicy swaps the queue's rules.
func (c *Core) SetPolicy(p Policy) {
	c.policy = p
	if p.Requeue {
		c.onTimeout = c.requeue
	} else {
		c.onTimeout = c.drop
	}
	switch {
	case p.Backoff:
		c.onFailure = c.retryLater
	case p.Requeue:
		c.onFailure = c.requeue
	default:
		c.onFailure = c.drop
	}
}

// Policy is the queue's current rules.
func (c *Core) Policy() Policy { return c.policy }

func (c *Core) stagger() time.Duration {
	return time.Duration(c.rng.Int63n(int64(c.cfg.CheckPeriod)))
}

// Tick advances the host to the clock's now: leases run out, checks fall due,
// retries wake, state syncs end and idle workers take work. It returns the
// DynamoDB operations to perform; the slice is reused by the next Tick.
func (c *Core) Tick() []Op {
	now := c.clock.Now()
	c.out = c.out[:0]
	c.expire(now)
	c.runChecks(now)
	for c.delayed.Len() > 0 && !c.delayed[0].at.After(now) {
		t := heap.Pop(&c.delayed).(timed)
		c.admit(t.w, now)
	}
	for i := range c.workers {
		wk := &c.workers[i]
		if wk.phase != syncing || wk.syncEnd.After(now) {
			continue
		}
		if !c.policy.DoExpired && now.After(wk.w.deadline) {
			// fixed: give up before the write rather than write a lease
			// the droplet no longer waits for
			c.stats.TimedOut++
			w := wk.w
			*wk = worker{}
			c.onTimeout(w, now)
			continue
		}
		wk.phase = writing
		d := &c.droplets[wk.w.d]
		exp := now.Add(c.cfg.LeaseTTL)
		c.emit(opRef{kind: OpWrite, d: wk.w.d, worker: i, expiry: exp, epoch: wk.w.readEpoch + 1},
			Op{Kind: OpWrite, Droplet: d.id, Owner: c.cfg.Owner, Epoch: wk.w.readEpoch, NewEpoch: wk.w.readEpoch + 1, Expiry: exp})
	}
	c.dispatchWork(now)
	c.flushEvents(now)
	return c.out
}

func (c *Core) emit(ref opRef, op Op) {
	c.nextOp++
	op.ID = c.nextOp
	c.ops[op.ID] = ref
	c.out = append(c.out, op)
}

func (c *Core) expire(now time.Time) {
	for c.expiries.Len() > 0 && !c.expiries[0].at.After(now) {
		t := heap.Pop(&c.expiries).(timed)
		d := &c.droplets[t.i]
		if d.ver != t.ver || !d.leased {
			continue
		}
		d.leased = false
		c.stats.LeasesHeld--
		c.stats.Expired++
		c.tickExpired++
	}
}

func (c *Core) runChecks(now time.Time) {
	for c.checks.Len() > 0 && !c.checks[0].at.After(now) {
		t := c.checks[0]
		// A little jitter (up to 5% of the period either way), as a real
		// scheduler has: without it two droplets whose checks fall close
		// together meet the intake throttle together every period, and one
		// of them is refused again and again.
		period := c.cfg.CheckPeriod + time.Duration((c.rng.Float64()*2-1)*float64(c.cfg.CheckPeriod)/20)
		next := t.at.Add(period)
		if next.Before(now) {
			next = now.Add(period)
		}
		c.checks[0].at = next
		heap.Fix(&c.checks, 0)
		d := &c.droplets[t.i]
		if !d.leased {
			// the check finds no lease: re-establishing it is queued work
			c.enqueue(t.i, now)
			continue
		}
		if d.checking {
			continue
		}
		d.checking = true
		exp := now.Add(c.cfg.LeaseTTL)
		c.emit(opRef{kind: OpRenew, d: t.i, worker: -1, expiry: exp, epoch: d.epoch},
			Op{Kind: OpRenew, Droplet: d.id, Owner: c.cfg.Owner, Epoch: d.epoch, Expiry: exp})
	}
}

// enqueue is the intake of new re-lease work: operator throttle, then the
// policy's de-duplication and admission.
func (c *Core) enqueue(i int, now time.Time) {
	if c.intake.perMinute > 0 && !c.intake.take(now) {
		c.stats.Rejected++
		return
	}
	if c.policy.Dedup && c.droplets[i].pending > 0 {
		return
	}
	c.droplets[i].pending++
	c.stats.Enqueued++
	c.admit(&work{d: i}, now)
}

// admit puts w at the tail with a fresh deadline, unless admission refuses it.
func (c *Core) admit(w *work, now time.Time) {
	if limit := c.admitLimit(); limit > 0 && c.queue.Len() >= limit {
		c.stats.Rejected++
		c.droplets[w.d].pending--
		return
	}
	w.deadline = now.Add(c.cfg.WorkTimeout)
	c.queue.Push(w)
}

func (c *Core) requeue(w *work, now time.Time) {
	// as-was: straight back to the tail, no admission check, a new deadline
	w.deadline = now.Add(c.cfg.WorkTimeout)
	c.queue.Push(w)
}

func (c *Core) drop(w *work, _ time.Time) { c.droplets[w.d].pending-- }

func (c *Core) retryLater(w *work, now time.Time) {
	w.attempt++
	ceil := float64(c.cfg.BackoffBase) * math.Pow(2, float64(w.attempt-1))
	if ceil > float64(c.cfg.BackoffMax) {
		ceil = float64(c.cfg.BackoffMax)
	}
	w.retryAfter = now.Add(time.Duration(c.rng.Float64() * ceil))
	heap.Push(&c.delayed, timed{at: w.retryAfter, w: w})
}

func (c *Core) dispatchWork(now time.Time) {
	c.dispatch.refill(now)
	for i := range c.workers {
		if c.workers[i].phase != idle {
			continue
		}
		w := c.next(now)
		if w == nil {
			return
		}
		c.dispatch.tokens--
		w.lateStart = c.expired(w, now)
		w.started = now
		c.workers[i] = worker{w: w, phase: reading}
		c.emit(opRef{kind: OpRead, d: w.d, worker: i}, Op{Kind: OpRead, Droplet: c.droplets[w.d].id})
	}
}

// next takes the head of the queue for a worker, if the dispatch rate allows.
func (c *Core) next(now time.Time) *work {
	for n := c.queue.Len(); n > 0 && c.dispatch.tokens >= 1; n-- {
		w := c.queue.Pop()
		if !c.policy.DoExpired && c.expired(w, now) {
			c.stats.DroppedExpired++
			c.onTimeout(w, now)
			continue
		}
		return w
	}
	return nil
}

// expired reports whether w can no longer finish before its deadline: its
// state sync alone would overrun it. Work picked in that state is wasted.
//
// It counts the state sync alone, not the measured service time: work that
// is never started is never measured, so an estimate inflated by a slow spell
// would drop every item and never learn that DynamoDB is fast again.
func (c *Core) expired(w *work, now time.Time) bool {
	return now.Add(c.cfg.StateSync).After(w.deadline)
}

// OpDone takes the result of the operation id. Results of operations from
// before a Restart are ignored, as a restarted process would never see them.
func (c *Core) OpDone(id uint64, res Result) {
	ref, ok := c.ops[id]
	if !ok {
		return
	}
	delete(c.ops, id)
	now := c.clock.Now()
	d := &c.droplets[ref.d]
	switch ref.kind {
	case OpRenew:
		d.checking = false
		switch res.Outcome {
		case OK:
			c.stats.ChecksOK++
			c.setLease(ref.d, ref.expiry, ref.epoch)
		case Conflict:
			c.stats.ChecksOK++
			if d.leased {
				d.leased = false
				d.ver++
				c.stats.LeasesHeld--
				c.stats.Expired++
				c.tickExpired++
			}
		default:
			c.stats.ChecksFailed++ // the lease is not renewed and runs out
		}
	case OpRead:
		wk := &c.workers[ref.worker]
		if res.Outcome != OK {
			c.fail(ref.worker, now)
			return
		}
		wk.w.readEpoch = 0
		if res.Exists {
			wk.w.readEpoch = res.Epoch
		}
		wk.phase = syncing
		wk.syncEnd = now.Add(c.cfg.StateSync)
	case OpWrite:
		c.measure(c.workers[ref.worker].w, now)
		if res.Outcome != OK {
			c.fail(ref.worker, now)
			return
		}
		wk := &c.workers[ref.worker]
		w := wk.w
		*wk = worker{}
		d.epoch = ref.epoch
		// the lease item was written, honoured or not: the droplet's network
		// configuration is re-synchronised either way
		c.stats.LeaseWrites++
		c.net.Add(c.cfg.NetWorkPerWrite)
		if now.After(w.deadline) {
			// the droplet gave up on this handshake at the deadline: the
			// lease just written is not honoured and the work timed out
			c.stats.TimedOut++
			if w.lateStart {
				c.stats.Wasted++
			}
			c.onTimeout(w, now)
			return
		}
		d.pending--
		c.setLease(ref.d, ref.expiry, ref.epoch)
		c.successes = append(c.successes, now)
	}
}

// serviceWeight is the weight of a new measurement in the smoothed service
// time: about the last eight re-leases count.
const serviceWeight = 0.125

// measure folds the service time of w, which just got its write's result,
// into the smoothed service time.
func (c *Core) measure(w *work, now time.Time) {
	if w == nil || w.started.IsZero() {
		return
	}
	took := now.Sub(w.started)
	c.service += time.Duration(serviceWeight * float64(took-c.service))
}

// admitLimit is the queue size at which admission refuses work (0: none).
func (c *Core) admitLimit() int {
	limit := c.policy.AdmitLimit
	if c.policy.AdaptiveAdmit && limit > 0 {
		limit = min(limit, admitLimit(c.cfg, max(c.service, c.cfg.StateSync)))
	}
	return limit
}

func (c *Core) fail(wi int, now time.Time) {
	w := c.workers[wi].w
	c.workers[wi] = worker{}
	c.stats.Failed++
	if w.lateStart {
		c.stats.Wasted++
	}
	c.onFailure(w, now)
}

func (c *Core) setLease(i int, expiry time.Time, epoch int64) {
	d := &c.droplets[i]
	if !d.leased {
		d.leased = true
		c.stats.LeasesHeld++
		c.stats.Established++
		c.tickEstablished++
	}
	d.epoch = epoch
	if expiry.After(d.expiry) || d.ver == 0 {
		d.expiry = expiry
	}
	d.ver++
	heap.Push(&c.expiries, timed{at: d.expiry, i: i, ver: d.ver})
}

func (c *Core) flushEvents(now time.Time) {
	if c.tickExpired > 0 {
		c.events.Emit("lease-expired", "count", c.tickExpired, "held", c.stats.LeasesHeld, "droplets", len(c.droplets))
		c.tickExpired = 0
	}
	if c.tickEstablished > 0 {
		c.events.Emit("lease-established", "count", c.tickEstablished, "held", c.stats.LeasesHeld, "droplets", len(c.droplets))
		c.tickEstablished = 0
	}
	if !now.Before(c.nextSample) {
		c.nextSample = now.Add(c.cfg.SampleEvery)
		s := c.Stats()
		c.events.Emit("queue-depth", "depth", s.QueueDepth, "delayed", s.Delayed, "held", s.LeasesHeld,
			"droplets", len(c.droplets), "goodput", s.GoodputPerMinute, "timedOut", s.TimedOut, "wasted", s.Wasted)
	}
}

// Stats is a snapshot of the host's state and counters.
func (c *Core) Stats() Stats {
	now := c.clock.Now()
	cut := now.Add(-c.cfg.GoodputWindow)
	k := 0
	for k < len(c.successes) && c.successes[k].Before(cut) {
		k++
	}
	c.successes = c.successes[k:]
	s := c.stats
	s.QueueDepth = c.queue.Len()
	s.Delayed = c.delayed.Len()
	for _, w := range c.workers {
		if w.phase != idle {
			s.Busy++
		}
	}
	s.GoodputPerMinute = float64(len(c.successes)) / c.cfg.GoodputWindow.Minutes()
	s.NetWorkOwed = c.net.Owed()
	s.NetWorkPosted, s.NetWorkRefused = c.net.Posted(), c.net.Refused()
	s.IntakePerMinute = c.intake.perMinute
	return s
}

// NetWorkKind is the kind of the work items the hand-off posts to Network
// Manager (POST /v1/work).
const NetWorkKind = "droplet-relet"

// TakeNetWork returns the Network Manager work items to post now (0: none),
// and counts them as in flight until NetWorkDone. Every lease write a worker
// performed owes NetWorkPerWrite items; a remainder Network Manager refused
// waits out its backoff. At most one post is in flight (kit.Owed).
func (c *Core) TakeNetWork() int { return c.net.Take(c.clock.Now()) }

// NetWorkDone takes the outcome of the post TakeNetWork asked for: admitted
// items are done; the rest (refused by admission control, or the post
// failed) is owed again and posted after a backoff that doubles from
// NetBackoffBase to NetBackoffMax while posts keep falling short.
func (c *Core) NetWorkDone(admitted int) { c.net.Done(c.clock.Now(), admitted) }

// SetIntake sets the operator's throttle on intake: at most perMinute new
// re-leases per minute (0 removes the throttle).
func (c *Core) SetIntake(perMinute float64) {
	now := c.clock.Now()
	c.intake = tokenBucket{perMinute: perMinute, burst: 1, tokens: 1, last: now}
	c.events.Emit("throttle-set", "ratePerMinute", perMinute)
}

// Restart is a process restart: the queue, the workers and every lease the
// host knew of are gone (operations in flight are forgotten), and on boot the
// host queues a re-lease for every droplet, through the intake throttle.
func (c *Core) Restart() {
	now := c.clock.Now()
	dropped := c.queue.Len() + c.delayed.Len()
	c.queue = fifo{}
	c.delayed = nil
	c.expiries = nil
	c.ops = map[uint64]opRef{}
	for i := range c.workers {
		c.workers[i] = worker{}
	}
	c.checks = c.checks[:0]
	for i := range c.droplets {
		d := &c.droplets[i]
		*d = droplet{id: d.id, epoch: d.epoch, ver: d.ver + 1}
		heap.Push(&c.checks, timed{at: now.Add(c.stagger()), i: i})
	}
	c.stats.LeasesHeld = 0
	c.stats.Restarts++
	// a new process does not know what the old one owed Network Manager
	c.stats.NetWorkDropped += uint64(c.net.Forget())
	c.events.Emit("host-restarted", "droppedWork", dropped, "held", 0, "droplets", len(c.droplets))
	for i := range c.droplets {
		c.enqueue(i, now)
	}
}

// Allocate returns a droplet with a valid lease, round robin, for a launch.
func (c *Core) Allocate() (string, error) {
	now := c.clock.Now()
	n := len(c.droplets)
	for k := 0; k < n; k++ {
		i := (c.cursor + k) % n
		d := &c.droplets[i]
		if d.leased && now.Before(d.expiry) {
			c.cursor = i + 1
			return d.id, nil
		}
	}
	return "", ErrNoCapacity
}

// Leased reports whether droplet id holds a valid lease.
func (c *Core) Leased(id string) bool {
	now := c.clock.Now()
	for i := range c.droplets {
		if c.droplets[i].id == id {
			return c.droplets[i].leased && now.Before(c.droplets[i].expiry)
		}
	}
	return false
}

type tokenBucket struct {
	perMinute float64
	burst     float64
	tokens    float64
	last      time.Time
}

func (b *tokenBucket) refill(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Minutes()*b.perMinute)
	}
	b.last = now
}

func (b *tokenBucket) take(now time.Time) bool {
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type timed struct {
	at  time.Time
	i   int
	ver uint64
	w   *work
}

type timeHeap []timed

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(timed)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fifo is a queue of work on a slice, compacted as its head advances.
type fifo struct {
	items []*work
	head  int
}

func (q *fifo) Len() int { return len(q.items) - q.head }
func (q *fifo) Push(w *work) {
	if q.head > 1024 && q.head > len(q.items)/2 {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	q.items = append(q.items, w)
}
func (q *fifo) Pop() *work {
	w := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	return w
}
