package use1

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Times of the method, incident time.
var (
	// TriggerAt is when Enactor A starts to be delayed: early enough that the
	// planner writes K+1 newer generations and B applies one before 23:48.
	TriggerAt = at(19, 23, 40)
	// TriggerHold releases A even if no other Enactor overtook it.
	TriggerHold = 30 * time.Minute
)

// EnactorDelayPoint is the failpoint that delays Enactor A inside its run,
// after its one staleness check and before it applies the first endpoint.
const EnactorDelayPoint = "dnsenactor-a/before-apply-endpoint"

// action is an operator action as a ledger fault: Apply runs it; with no
// revert it is instantaneous.
type action struct {
	name, target, detail string
	apply, revert        func(ctx context.Context, s harness.Stack) error
}

func (a *action) Apply(ctx context.Context, s harness.Stack) error { return a.apply(ctx, s) }
func (a *action) Revert(ctx context.Context, s harness.Stack) error {
	if a.revert == nil {
		return nil
	}
	return a.revert(ctx, s)
}
func (a *action) Instant() bool { return a.revert == nil }
func (a *action) Describe() timeline.Fault {
	return timeline.Fault{Kind: faults.KindOperator, Name: a.name, Target: a.target, Detail: a.detail, Operator: true}
}

// actions are the runbook's actions by name (Runbook's rules say when),
// carried out on the replay's world.
func (r *runner) actions() map[string]func(ctx context.Context) error {
	cal := r.cfg.Calibration
	w := r.w
	return map[string]func(ctx context.Context) error{
		"restore-dns": w.restoreDNS,
		"throttle-and-restart-dwfm": func(ctx context.Context) error {
			undo, err := w.throttleEC2(ctx, cal.EC2ThrottlePerMinute)
			if err != nil {
				return err
			}
			r.setUndo("throttle-ec2", undo)
			if undo, err = w.throttleDWFM(ctx, cal.DWFMThrottlePerMinute); err != nil {
				return err
			}
			r.setUndo("throttle-dwfm", undo)
			for _, in := range dwfmHosts() {
				if err := w.restartDWFM(ctx, in); err != nil {
					return err
				}
			}
			return nil
		},
		// "selectively restart DWFM hosts": only the hosts stuck now
		"restart-stuck-dwfm": func(ctx context.Context) error {
			for _, in := range r.dwfmStuck(ctx) {
				if err := w.restartDWFM(ctx, in); err != nil {
					return err
				}
			}
			return nil
		},
		"disable-nlb-failover": func(ctx context.Context) error {
			undo, err := w.disableNLBFailover(ctx)
			r.setUndo("disable-nlb-failover", undo)
			return err
		},
		"relax-throttles": func(ctx context.Context) error {
			return w.operatorAction(ctx, "relax-throttles", harness.EC2Svc+","+harness.DWFMSvc, func(ctx context.Context) error {
				return joinErr(r.runUndo(ctx, "throttle-ec2"), r.runUndo(ctx, "throttle-dwfm"))
			})
		},
		"restart-lambda-pollers": w.restartLambdaPollers,
		"enable-nlb-failover": func(ctx context.Context) error {
			return w.operatorAction(ctx, "enable-nlb-failover", harness.NLBSvc, func(ctx context.Context) error {
				return r.runUndo(ctx, "disable-nlb-failover")
			})
		},
	}
}

// OperatorPeriod is how often the operators look at their dashboards
// (incident time).
const OperatorPeriod = time.Minute

// operate runs the operator model: every OperatorPeriod it is shown what
// the probes and dashboards say and carries out the actions it decides on.
// The model itself (Operator) reads no clock and opens no socket.
func (r *runner) operate(ctx context.Context) {
	if !r.waitUntil(ctx, TriggerAt) {
		return
	}
	do := r.actions()
	clock := r.w.Clock()
	tick := clock.NewTicker(OperatorPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.Chan():
		}
		r.operatorStep(ctx, do, clock.Now())
	}
}

// operatorStep shows the operators what they see at now and carries out
// what they decide, recording every decision.
func (r *runner) operatorStep(ctx context.Context, do map[string]func(context.Context) error, now time.Time) {
	for _, d := range r.op.Step(now, r.observe(ctx, now)) {
		if d.Taken {
			if f := do[d.Action]; f == nil {
				d.Error = "no such action"
			} else if err := f(ctx); err != nil {
				d.Error = err.Error()
			}
		}
		r.mu.Lock()
		r.decisions = append(r.decisions, d)
		r.mu.Unlock()
	}
}

// observe is what the operators see at now.
func (r *runner) observe(ctx context.Context, now time.Time) Observation {
	var o Observation
	if s, ok := r.lastSample(timeline.ProbeDNSResolve); ok {
		o.DNSEmpty = timeline.IsEmptyAnswer(s)
	}
	if s, ok := r.lastSample(timeline.ProbeDDBGetItem); ok {
		o.DynamoDBOK = s.OK
	}
	if s, ok := r.lastSample(ProbeNetMgrBacklog); ok {
		o.NetMgrDrained = s.OK && s.Value <= NetMgrDrainedDepth
	}
	o.DWFMLow, o.DWFMStuck, o.LeasesOK = DWFMDashboard(dwfmStatesOf(ctx, r.w), len(harness.AZs))
	if s, ok := r.lastSample(ProbeLambdaPoller); ok {
		o.LambdaStuck = !s.OK && s.Code == "poller-stuck"
	}
	since := now.Add(-NLBAlarmWindow)
	o.NLBFailing = r.failingSince(timeline.ProbeNLBHealth, since)+r.failingSince(timeline.ProbeNLBCapacity, since) >= NLBAlarmPoints
	return o
}

func joinErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// TriggerInfo is what the trigger did: the generation A was delayed on in
// the attempt that emptied the record, the newer one another Enactor had
// applied when A was released, and how many times A was delayed.
type TriggerInfo struct {
	DelayedAt   time.Time `json:"delayed_at"`
	EngagedAt   time.Time `json:"engaged_at,omitempty"`
	ReleasedAt  time.Time `json:"released_at,omitempty"`
	StaleGen    uint64    `json:"stale_generation"`
	OvertakenBy string    `json:"overtaken_by,omitempty"`
	NewerGen    uint64    `json:"newer_generation,omitempty"`
	OvertakenAt time.Time `json:"overtaken_at,omitempty"`
	// CleanupHeld reports that the overtaking Enactor's clean-up was held
	// until A's stale apply had landed (the incident's interleaving made
	// certain rather than left to the scheduler).
	CleanupHeld  bool   `json:"cleanup_held,omitempty"`
	ByDeadline   bool   `json:"released_by_deadline,omitempty"`
	Attempts     int    `json:"attempts"`
	Emptied      bool   `json:"emptied"`
	ReleaseError string `json:"release_error,omitempty"`
	// Log has one line per attempt: what A was delayed on and how it ended.
	Log []string `json:"log,omitempty"`
}

// MaxTriggerAttempts bounds how often A is delayed.
const MaxTriggerAttempts = 6

// Failpoints of the trigger (besides EnactorDelayPoint).
const (
	cleanupPoint = "/before-cleanup"
	enactorA     = "dnsenactor-a"
)

// trigger delays Enactor A (a pause failpoint inside its run, after its one
// staleness check and before its first endpoint, the regional one) and
// releases it once another Enactor has applied a generation more than K
// newer to every endpoint, just before that Enactor's clean-up, which it
// holds (a pause on its before-cleanup failpoint, armed as soon as it
// applied that generation to its first endpoint) until A's stale apply to
// the regional endpoint has landed. That is the incident's interleaving:
// A's stale apply, then the clean-up that deletes the plan A just applied.
// Whether the record then empties is up to the Enactors: as-was it does;
// with the compare-and-swap A skips every endpoint and clean-up keeps any
// referenced plan.
//
// Each attempt checks that A's pause engaged (the failpoint's waiting count
// on A's admin API), so a run of A that found nothing newer (and so never
// reached the point) is not mistaken for a delayed one. An attempt that
// does not empty the record (A not overtaken within TriggerHold, the
// overtaker's clean-up not held in time, or the third Enactor re-applying a
// newer plan in between) is repeated on A's next run, as in the incident
// ("unusual delays" that recur), at most MaxTriggerAttempts times.
func (r *runner) trigger(ctx context.Context) {
	if !r.waitUntil(ctx, TriggerAt) {
		return
	}
	events, unsub := r.rw.stack.Events(1 << 14)
	defer unsub()
	defer r.releaseNext(ctx)
	info := &TriggerInfo{}
	defer func() {
		r.mu.Lock()
		r.triggerInfo = *info
		r.mu.Unlock()
	}()
	resolver := kit.NewResolver(r.rw.stack.Endpoints().DNS)
	for attempt := 1; attempt <= MaxTriggerAttempts && ctx.Err() == nil; attempt++ {
		info.Attempts = attempt
		ok := r.delayOnce(ctx, events, info)
		info.Log = append(info.Log, fmt.Sprintf("attempt %d: delayed %s, engaged %s on g%d, released %s, overtaken by %q with g%d, clean-up held %v, deadline %v",
			attempt, clockPDT(info.DelayedAt), at0(info.EngagedAt), info.StaleGen, at0(info.ReleasedAt), info.OvertakenBy, info.NewerGen, info.CleanupHeld, info.ByDeadline))
		if !ok {
			return
		}
		by := info.OvertakenBy
		if by == "" {
			r.releaseNext(ctx)
			continue
		}
		// Wait for the overtaking Enactor to finish its run (its clean-up),
		// then look at the record as a client would, then let A run again.
		finished := r.waitForWithin(ctx, events, 30*time.Minute, func(ev kit.Event) bool {
			return ev.Service == by && ev.Kind == "run-finished" && !ev.Time.Before(info.ReleasedAt)
		})
		if !finished && ctx.Err() != nil {
			r.releaseNext(ctx)
			return
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		addrs, err := resolver.LookupHost(lctx, dnsplan.Regional.Name)
		cancel()
		r.releaseNext(ctx)
		if err != nil || len(addrs) == 0 {
			info.Emptied = true
			return
		}
	}
}

// releaseNext lets A's next run start (see delayOnce's ready).
func (r *runner) releaseNext(ctx context.Context) {
	if r.holdNext != nil {
		_ = r.holdNext(context.WithoutCancel(ctx))
		r.holdNext = nil
	}
}

// enactorRunning reports whether Enactor in is in the middle of a run
// (GET /admin/state); an unreadable state counts as running.
func (r *runner) enactorRunning(ctx context.Context, in string) bool {
	var st struct {
		Running bool `json:"running"`
	}
	if err := getJSON(ctx, r.rw.stack.Endpoints().Admin[in]+"/admin/state", &st); err != nil {
		return true
	}
	return st.Running
}

// engaged reports whether the pause failpoint name holds a caller now.
func (r *runner) engaged(ctx context.Context, name string) bool {
	st, err := faults.FailpointState(ctx, r.rw.stack, name)
	return err == nil && st.Waiting > 0
}

// delayOnce delays A for one run and releases it as trigger says; false
// when the replay ends.
func (r *runner) delayOnce(ctx context.Context, events <-chan kit.Event, info *TriggerInfo) bool {
	clock := r.w.Clock()
	// Wait for A to finish the run it may be in: the pause must catch a run
	// at its first endpoint, after that run's one staleness check.
	if !r.waitFor(ctx, events, func(ev kit.Event) bool {
		return ev.Service == enactorA && ev.Kind == "run-finished"
	}) {
		return false
	}
	*info = TriggerInfo{Attempts: info.Attempts, DelayedAt: clock.Now(), Log: info.Log}
	r.mu.Lock()
	r.triggerInfo.DelayedAt = info.DelayedAt
	r.mu.Unlock()
	undoA, err := r.rw.ledger.Apply(ctx, faults.EnableFailpoint(EnactorDelayPoint, "pause"))
	if err != nil {
		info.ReleaseError = err.Error()
		return false
	}
	defer func() { _ = undoA(context.WithoutCancel(ctx)) }() // releases A if still paused
	// The other Enactors' clean-up is held (paused before it) only in runs
	// that applied a generation more than K newer than A's: every other run
	// (stale, or not far enough ahead) is let go as soon as its start is
	// seen, and held again from its next run on.
	h := newHolds(r, ctx)
	defer h.releaseAll()
	keep := r.cfg.Calibration.KeepGenerations
	eps, _ := dnsplan.Endpoints(nil, r.cfg.Calibration.SyntheticEndpoints)
	first, last := eps[0].ID, eps[len(eps)-1].ID
	deadline := clock.NewTimer(TriggerHold)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond) // wall: the admin API is polled, not the incident
	defer poll.Stop()
	gen := func(ev kit.Event) uint64 {
		if ev.Kind == "endpoint-applied" {
			return uint64(number(ev.Fields["to"]))
		}
		return uint64(number(ev.Fields["generation"]))
	}
	// ready releases A once the overtaker is held at its clean-up and no
	// other Enactor is in the middle of applying (each is between runs or
	// held at its own clean-up): A's stale apply is then the last write to
	// the regional endpoint before the clean-ups, as in the incident. It
	// waits for A's apply, then returns true (the holds end on return).
	ready := func() bool {
		by := info.OvertakenBy
		if by == "" {
			return false
		}
		held := h.held(by) && r.engaged(ctx, by+cleanupPoint)
		if held {
			for _, in := range h.others() {
				if in != by && !(h.armed[in] && r.engaged(ctx, in+cleanupPoint)) && r.enactorRunning(ctx, in) {
					return false // the third Enactor is applying: wait for it
				}
			}
		} else if h.held(by) && clock.Since(info.OvertakenAt) < 10*time.Minute {
			return false // its clean-up pause has not engaged yet
		}
		info.CleanupHeld = held
		if held {
			// A's next run waits until the clean-up is over: its ticker fired
			// during the pause, so it would otherwise start at once and
			// re-apply the newest plan while the clean-up is still deleting.
			if u, err := r.rw.ledger.Apply(ctx, faults.EnableFailpoint(enactorA+"/before-run", "pause")); err == nil {
				r.holdNext = u
			}
		}
		info.ReleasedAt = clock.Now()
		if err := undoA(context.WithoutCancel(ctx)); err != nil {
			info.ReleaseError = err.Error()
		}
		if held {
			// Let the clean-ups go once A's stale apply to the regional
			// endpoint has landed (or A skipped it, with the CAS).
			r.waitForWithin(ctx, events, 15*time.Minute, func(ev kit.Event) bool {
				return ev.Service == enactorA && fmt.Sprint(ev.Fields["endpoint"]) == first &&
					(ev.Kind == "endpoint-applied" || ev.Kind == "endpoint-skipped" || ev.Kind == "endpoint-failed")
			})
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.Chan():
			info.ByDeadline = true
			return true
		case <-poll.C:
			if ready() {
				return true
			}
			if info.StaleGen > 0 && info.EngagedAt.IsZero() && r.engaged(ctx, EnactorDelayPoint) {
				info.EngagedAt = clock.Now()
				h.armAll()
			}
			h.releaseUnknown()
		case ev, ok := <-events:
			if !ok {
				return false
			}
			if ev.Time.Before(info.DelayedAt) {
				continue // emitted before A was delayed
			}
			isEndpoint := ev.Kind == "endpoint-applied" || ev.Kind == "endpoint-skipped" || ev.Kind == "endpoint-failed"
			switch {
			case ev.Service == enactorA && ev.Kind == "run-started" && info.StaleGen == 0:
				// A run that found nothing newer never reaches the point;
				// the next one will.
				if stale, _ := ev.Fields["stale"].(bool); !stale {
					info.StaleGen = uint64(number(ev.Fields["generation"]))
				}
			case ev.Service != enactorA && ev.Kind == "run-started":
				stale, _ := ev.Fields["stale"].(bool)
				ahead := info.StaleGen > 0 && !stale && uint64(number(ev.Fields["generation"])) > info.StaleGen+keep
				h.started(ev.Service, ahead)
			case ev.Service != enactorA && ev.Kind == "run-finished":
				h.finished(ev.Service)
			case isEndpoint && ev.Service != enactorA && info.StaleGen > 0 &&
				fmt.Sprint(ev.Fields["endpoint"]) == last && gen(ev) > info.StaleGen+keep:
				if info.EngagedAt.IsZero() && !r.engaged(ctx, EnactorDelayPoint) {
					continue // A is not paused in a run: nothing stale to apply
				}
				if info.EngagedAt.IsZero() {
					info.EngagedAt = clock.Now()
				}
				if info.OvertakenBy == "" {
					info.OvertakenBy, info.NewerGen, info.OvertakenAt = ev.Service, gen(ev), clock.Now()
				}
				if ready() {
					return true
				}
			}
		}
	}
}

// holds is the trigger's hold on the other Enactors' clean-up (their
// before-cleanup failpoints): one ledger entry per Enactor and attempt,
// armed and let go in between by the admin API directly.
type holds struct {
	r   *runner
	ctx context.Context
	// state per Enactor: armed (failpoint on), ahead (its current run is far
	// enough ahead to be held), known (its current run's start was seen).
	armed, ahead, known map[string]bool
	undo                map[string]func(context.Context) error
	on                  bool
}

func newHolds(r *runner, ctx context.Context) *holds {
	return &holds{r: r, ctx: context.WithoutCancel(ctx), armed: map[string]bool{}, ahead: map[string]bool{}, known: map[string]bool{},
		undo: map[string]func(context.Context) error{}}
}

func (h *holds) others() []string {
	var out []string
	for _, in := range h.r.rw.stack.Endpoints().Instances() {
		if harness.KindOf(in) == harness.DNSEnactorSvc && in != enactorA {
			out = append(out, in)
		}
	}
	return out
}

// armAll starts holding: from now on every other Enactor's clean-up pauses
// unless its run is let go.
func (h *holds) armAll() {
	h.on = true
	for _, in := range h.others() {
		if h.undo[in] == nil {
			if u, err := h.r.rw.ledger.Apply(h.ctx, faults.EnableFailpoint(in+cleanupPoint, "pause")); err == nil {
				h.undo[in] = u
			}
		}
		h.armed[in] = h.undo[in] != nil
		if h.known[in] && !h.ahead[in] {
			h.set(in, false) // in the middle of a run that is not ahead
		}
	}
}

func (h *holds) set(in string, on bool) {
	if !h.on || h.undo[in] == nil || h.armed[in] == on {
		return
	}
	f := faults.EnableFailpoint(in+cleanupPoint, "pause")
	var err error
	if on {
		err = f.Apply(h.ctx, h.r.rw.stack)
	} else {
		err = f.Revert(h.ctx, h.r.rw.stack)
	}
	if err == nil {
		h.armed[in] = on
	}
}

// started: in's run began; it is held only when ahead.
func (h *holds) started(in string, ahead bool) {
	h.known[in], h.ahead[in] = true, ahead
	h.set(in, ahead)
}

// finished: in's run ended; its next run is held until its start is seen.
func (h *holds) finished(in string) {
	h.known[in], h.ahead[in] = false, false
	h.set(in, true)
}

// releaseUnknown lets go an Enactor paused in a run whose start was not
// seen (it began before the holds): its generation is unknown.
func (h *holds) releaseUnknown() {
	for in, armed := range h.armed {
		if armed && !h.known[in] && h.r.engaged(h.ctx, in+cleanupPoint) {
			h.set(in, false)
		}
	}
}

func (h *holds) held(in string) bool { return h.armed[in] && h.ahead[in] }

// releaseAll ends every hold.
func (h *holds) releaseAll() {
	for in, u := range h.undo {
		_ = u(h.ctx)
		delete(h.undo, in)
	}
	h.on = false
}

// waitForWithin is waitFor bounded by d of incident time.
func (r *runner) waitForWithin(ctx context.Context, events <-chan kit.Event, d time.Duration, ok func(kit.Event) bool) bool {
	t := r.w.Clock().NewTimer(d)
	defer t.Stop()
	return awaitEvent(ctx, events, t.Chan(), ok)
}

// waitFor reads events until one satisfies ok (false if ctx ended or the
// stream closed).
func (r *runner) waitFor(ctx context.Context, events <-chan kit.Event, ok func(kit.Event) bool) bool {
	return awaitEvent(ctx, events, nil, ok)
}

// awaitEvent reads events until one satisfies ok: false if ctx ends, the
// stream closes or expired fires first (a nil expired never fires).
func awaitEvent(ctx context.Context, events <-chan kit.Event, expired <-chan time.Time, ok func(kit.Event) bool) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-expired:
			return false
		case ev, open := <-events:
			if !open {
				return false
			}
			if ok(ev) {
				return true
			}
		}
	}
}

// waitUntil sleeps (on the incident clock) until t; false if ctx ended.
func (r *runner) waitUntil(ctx context.Context, t time.Time) bool {
	clock := r.w.Clock()
	d := clock.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := clock.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.Chan():
		return true
	}
}

// undo bookkeeping: the revert functions of actions that are undone later.
type undos struct {
	mu sync.Mutex
	m  map[string]func(context.Context) error
}

func (r *runner) setUndo(name string, f func(context.Context) error) {
	r.undo.mu.Lock()
	defer r.undo.mu.Unlock()
	if r.undo.m == nil {
		r.undo.m = map[string]func(context.Context) error{}
	}
	if f != nil {
		r.undo.m[name] = f
	}
}

func (r *runner) hasUndo(name string) bool {
	r.undo.mu.Lock()
	defer r.undo.mu.Unlock()
	_, ok := r.undo.m[name]
	return ok
}

func (r *runner) runUndo(ctx context.Context, name string) error {
	r.undo.mu.Lock()
	f := r.undo.m[name]
	delete(r.undo.m, name)
	r.undo.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(ctx)
}

// number reads a numeric event field.
func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case float32:
		return float64(n)
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case int32:
		return float64(n)
	case uint:
		return float64(n)
	case uint64:
		return float64(n)
	case uint32:
		return float64(n)
	}
	return 0
}
