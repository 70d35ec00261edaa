package use1

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/harness/stall"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// ErrSimIncomplete is RunSim's error when harness/sim's Stack cannot do
// what the replay cannot go on without (the steady-state fleet never
// launched or never propagated, a client answering sim.ErrNotOnSim).
var ErrSimIncomplete = errors.New("sim backend: harness/sim's Stack does not model the whole replay yet")

// RunSim replays the incident once on the deterministic simulation backend
// (harness/sim): the same method as Run (probes, the customer's group, the
// signal-driven operators with seeded reaction delays, the Enactor trigger),
// every one of them a sim process on the virtual incident clock, so the
// seed alone decides the run: two runs of one seed give the same Result but
// for Result.Wall. ctx is checked between incident minutes.
func RunSim(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	cfg.Backend = SimBackend
	wallStart := time.Now()
	stalls := stall.Start() // wall facts only: nothing of it reaches the run
	stallsStopped := false
	defer func() {
		if !stallsStopped {
			stalls.Stop()
		}
	}()
	tl, err := NewTimeline("use1-2025-10 "+cfg.Label(), cfg.Start, cfg.End)
	if err != nil {
		return nil, err
	}
	st, err := sim.NewStack(sim.StackConfig{Seed: cfg.Seed, Start: cfg.Start, Fixes: cfg.FixSet(),
		Tune: cfg.Calibration.tune, Trace: cfg.EventOutput})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer st.Close()
	sw := &simWorld{st: st, tl: tl}
	r := &runner{cfg: cfg, tl: tl, w: sw}
	trig := &simTrigger{r: r, sw: sw, info: &TriggerInfo{}, holds: map[string]func(context.Context) error{},
		ahead: map[string]bool{}, running: map[string]bool{}}
	st.OnEvent(func(ev kit.Event) {
		if keepEvent(ev) {
			tl.AddEvent(ev)
		}
		trig.onEvent(ev)
	})
	startedIn := time.Since(wallStart)

	tr := newTracker()
	cal := *cfg.Calibration
	r.fleet = newFleet(sw, tr, cal, cfg.Start)
	r.load = newCustomerLoad(sw, cal)
	mainProbes, slowProbes := replayProbes(sw, tr, cal, r.load)
	mainS := newSeqSampler(st.Clock(), tl.AddSample, mainProbes...)
	slowS := newSeqSampler(st.Clock(), tl.AddSample, slowProbes...)
	r.samples = mainS
	r.op = newOperator(cfg.Seed, cal)
	do := r.actions()
	steady := &simSteady{f: r.fleet, sw: sw}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each loop is a sim process at a fixed period; the order of processes
	// due at the same instant is the sim's seeded tie-break.
	st.Every(time.Minute, func() { steady.step(runCtx) })
	st.Every(cfg.ProbePeriod, func() {
		if steady.done {
			mainS.sampleOnce(runCtx)
		}
	})
	st.Every(SlowProbePeriod, func() {
		if steady.done {
			slowS.sampleOnce(runCtx)
		}
	})
	st.Every(FleetPeriod, func() {
		if steady.done {
			r.fleet.tick(runCtx, st.Now())
		}
	})
	// the customer's steady load: a call at each tick of its rate, from
	// the steady state on (as the probes)
	for _, l := range []*loadStream{r.load.sts, r.load.lambda} {
		if l.on() {
			st.Every(l.every, func() {
				if steady.done {
					l.fire(runCtx)
				}
			})
		}
	}
	st.Every(OperatorPeriod, func() {
		if !st.Now().Before(TriggerAt) {
			r.operatorStep(runCtx, do, st.Now())
		}
	})
	st.Every(simTriggerPoll, func() { trig.poll() })

	// Advance an incident hour at a time, so an interrupt is seen.
	for t := cfg.Start; t.Before(cfg.End); {
		if t = t.Add(time.Hour); t.After(cfg.End) {
			t = cfg.End
		}
		st.RunUntil(t)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("replay interrupted at %s: %w", st.Now().In(pdt).Format("15:04"), ctx.Err())
		}
		if sw.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSimIncomplete, sw.err)
		}
		if cfg.Progress != nil {
			cfg.Progress(r.snapshotProgress(wallStart))
		}
	}
	trig.finish()
	endCtx := context.WithoutCancel(ctx)
	nlbFinal, _ := sw.nlbState(endCtx)
	handoff := handOff(endCtx, sw)
	r.mu.Lock()
	r.triggerInfo = *trig.info
	decisions := slices.Clone(r.decisions)
	r.mu.Unlock()
	snap := tl.Snapshot()
	stallsStopped = true
	wall := newWall(wallStart, startedIn, time.Since(wallStart), stalls.Stop())
	return r.result(snap, decisions, nlbFinal, handoff, wall), nil
}

// simSteady launches the steady-state fleet at the start, waits (in
// incident minutes) until Network Manager has propagated it and is idle,
// then registers it with the NLB, as Run's launchSteady does on wall time.
type simSteady struct {
	f        *fleet
	sw       *simWorld
	ins      []launched
	launched bool
	done     bool
	tries    int
}

// simSteadyTries bounds the steady state's wait: an hour of incident time.
const simSteadyTries = 60

func (s *simSteady) step(ctx context.Context) {
	if s.done || s.sw.err != nil {
		return
	}
	if !s.launched {
		for len(s.ins) < s.f.initial {
			in, code, err := s.f.w.launch(ctx, "fleet")
			if err != nil {
				s.tries++
				if s.tries > simSteadyTries {
					s.sw.err = fmt.Errorf("steady-state fleet: launch: %s: %v", code, err)
				}
				return // retry on the next minute
			}
			s.ins = append(s.ins, in)
		}
		s.launched = true
		s.f.mu.Lock()
		s.f.have = len(s.ins)
		s.f.mu.Unlock()
	}
	for _, in := range s.ins {
		if ok, _ := s.sw.propagated(ctx, in.ID); !ok {
			s.wait("not propagated")
			return
		}
	}
	// the steady state is an idle Network Manager, as launchSteady waits
	// for it: EC2 has seen the fleet propagated and posted its setup work,
	// and Network Manager has done it (registered before that, the fleet's
	// setup work queues ahead of the first launches' hand-offs, and the
	// as-was NLB puts them in service unpropagated). What a fixed Network
	// Manager's admission control refused is EC2's to retry, not Network
	// Manager's queue: once a post was refused, the queue decides.
	if ec := s.sw.st.EC2State(); ec.Propagated < len(s.ins) || (ec.SetupOwed > 0 && ec.SetupRefused == 0) {
		s.wait(fmt.Sprintf("EC2 has not posted the fleet's setup work (%d of %d propagated, %d owed)",
			ec.Propagated, len(s.ins), ec.SetupOwed))
		return
	}
	if q, err := s.sw.netmgrQueue(ctx); err != nil || q.Depth > 0 {
		s.wait("Network Manager not idle")
		return
	}
	if err := s.sw.register(ctx, s.ins...); err != nil {
		s.sw.err = fmt.Errorf("steady-state fleet: %w", err)
		return
	}
	s.done = true
}

func (s *simSteady) wait(why string) {
	s.tries++
	if s.tries > simSteadyTries {
		s.sw.err = fmt.Errorf("steady-state fleet: %s after %d incident minutes", why, s.tries)
	}
}

// simWorld is a harness/sim Stack: every read and action a call on the
// stack in the sim's one thread of control; actions are recorded on the
// timeline as the ledger records them on the other backends.
type simWorld struct {
	st *sim.Stack
	tl *timeline.Timeline
	// err is the first thing the sim stack could not do that the replay
	// cannot go on without (RunSim reports it).
	err    error
	seq    int
	faultz []timeline.Fault
}

func (w *simWorld) Clock() kit.Clock { return w.st.Clock() }

func (w *simWorld) coreProbes() []probes.Probe {
	return []probes.Probe{
		probes.Func{ProbeName: timeline.ProbeDNSResolve, Fn: func(context.Context) timeline.Sample {
			addrs := slices.Sorted(slices.Values(w.st.Resolve(dnsplan.Regional.Name)))
			if len(addrs) == 0 {
				return timeline.Sample{Code: timeline.CodeNoAddresses, Detail: dnsplan.Regional.Name}
			}
			return timeline.Sample{OK: true, Value: float64(len(addrs)), Detail: fmt.Sprint(addrs)}
		}},
		codeProbe(timeline.ProbeDDBGetItem, w.st.DynamoDBGetItem),
		codeProbe(timeline.ProbeDDBPutItem, w.st.DynamoDBPutItem),
	}
}

// codeProbe samples a sim client that answers a probe code ("" for ok).
func codeProbe(name string, call func() string) probes.Probe {
	return probes.Func{ProbeName: name, Fn: func(context.Context) timeline.Sample {
		if code := call(); code != "" {
			return timeline.Sample{Code: code, Detail: code}
		}
		return timeline.Sample{OK: true}
	}}
}

// viaJSON reads a core's state into the replay's view of it through the
// JSON the real admin endpoints serve, so both backends read the same
// fields the same way.
func viaJSON(in, out any) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

func (w *simWorld) dwfmState(_ context.Context, in string) (dwfmState, error) {
	var out dwfmState
	st, err := w.st.DWFMState(in)
	if err != nil {
		return out, err
	}
	return out, viaJSON(st, &out)
}

func (w *simWorld) netmgrQueue(context.Context) (netmgrQueue, error) {
	var q netmgrQueue
	return q, viaJSON(w.st.NetMgrState(), &q)
}

func (w *simWorld) propagated(_ context.Context, id string) (bool, error) {
	return w.st.Connected(id), nil
}

func (w *simWorld) nlbState(context.Context) (nlbState, error) {
	var st nlbState
	return st, viaJSON(w.st.NLBState(), &st)
}

func (w *simWorld) launch(_ context.Context, _ string) (launched, string, error) {
	ins, code := w.st.RunInstances(1)
	if code != "" {
		return launched{}, code, fmt.Errorf("RunInstances: %s", code)
	}
	if len(ins) == 0 {
		return launched{}, probes.CodeError, fmt.Errorf("RunInstances returned no instance")
	}
	return launched{ID: ins[0].ID, ZoneID: ins[0].ZoneID}, "", nil
}

func (w *simWorld) register(_ context.Context, ins ...launched) error {
	ls := make([]sim.Launched, 0, len(ins))
	for _, in := range ins {
		ls = append(ls, sim.Launched{ID: in.ID, ZoneID: in.ZoneID})
	}
	return w.st.RegisterTargets(ls...)
}

// record adds an action to the timeline as the ledger would: it ends at
// once when instant, else when the returned end is called.
func (w *simWorld) record(f timeline.Fault, instant bool, err error) func(context.Context) error {
	w.seq++
	f.ID = fmt.Sprintf("sim-%d", w.seq)
	f.Start = w.st.Now()
	if err != nil || instant {
		f.End = f.Start
	}
	if err != nil {
		f.Detail = joinDetail(f.Detail, "failed: "+err.Error())
	}
	w.faultz = append(w.faultz, f)
	w.tl.AddFault(f)
	i := len(w.faultz) - 1
	return func(context.Context) error {
		if !w.faultz[i].End.IsZero() {
			return nil
		}
		w.faultz[i].End = w.st.Now()
		return w.tl.EndFault(f.ID, w.faultz[i].End)
	}
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func operatorFault(name, target, detail string) timeline.Fault {
	return timeline.Fault{Kind: faults.KindOperator, Name: name, Target: target, Detail: detail, Operator: true}
}

func (w *simWorld) restoreDNS(context.Context) error {
	err := w.st.RestoreDNS()
	for _, ep := range []dnsplan.Endpoint{dnsplan.Regional, dnsplan.DualStack} {
		w.record(operatorFault("restore-dns", ep.ID, ""), true, err)
	}
	return err
}

func (w *simWorld) throttleEC2(_ context.Context, perMinute float64) (func(context.Context) error, error) {
	w.st.ThrottleEC2(perMinute)
	end := w.record(operatorFault("throttle-ec2", harness.EC2Svc, fmt.Sprintf("%g/min", perMinute)), false, nil)
	return func(ctx context.Context) error { w.st.ThrottleEC2(0); return end(ctx) }, nil
}

func (w *simWorld) throttleDWFM(_ context.Context, perMinute float64) (func(context.Context) error, error) {
	w.st.ThrottleDWFM(perMinute)
	end := w.record(operatorFault("throttle-dwfm", harness.DWFMSvc, fmt.Sprintf("%g/min", perMinute)), false, nil)
	return func(ctx context.Context) error { w.st.ThrottleDWFM(0); return end(ctx) }, nil
}

func (w *simWorld) restartDWFM(_ context.Context, in string) error {
	err := w.st.RestartDWFM(in)
	w.record(operatorFault("restart-dwfm", in, ""), true, err)
	return err
}

func (w *simWorld) disableNLBFailover(context.Context) (func(context.Context) error, error) {
	w.st.DisableNLBFailover()
	end := w.record(operatorFault("disable-nlb-failover", harness.NLBSvc, ""), false, nil)
	return func(ctx context.Context) error { w.st.EnableNLBFailover(); return end(ctx) }, nil
}

func (w *simWorld) operatorAction(ctx context.Context, name, target string, apply func(context.Context) error) error {
	err := apply(ctx)
	w.record(operatorFault(name, target, ""), true, err)
	return err
}

func (w *simWorld) faults() []timeline.Fault { return slices.Clone(w.faultz) }

// failpoint enables (on) or disables a failpoint, recorded as the ledger
// records a failpoint fault.
func (w *simWorld) failpoint(name, terms string) (func(context.Context) error, error) {
	f := faults.EnableFailpoint(name, terms).Describe()
	err := w.st.EnableFailpoint(name, terms)
	end := w.record(f, false, err)
	if err != nil {
		return func(context.Context) error { return nil }, err
	}
	return func(ctx context.Context) error {
		derr := w.st.DisableFailpoint(name)
		return errors.Join(derr, end(ctx))
	}, nil
}

// simTriggerPoll is how often the sim trigger looks at the failpoints
// (incident time): the real trigger polls the admin APIs every 50 ms of
// wall time, about a minute of incident time at speed 20.
const simTriggerPoll = 10 * time.Second

// simTrigger is the trigger of Run (method.go) on the sim: the same
// choreography, driven by the Enactors' events as they are emitted and by
// a poll of the failpoints, all in the sim's thread. Per attempt: wait for
// A to finish a run, pause A inside its next run (EnactorDelayPoint); hold
// the clean-up of every other Enactor run that applies a generation more
// than K newer than A's; once one such run has applied it to every endpoint
// and waits at its clean-up, and no third Enactor is applying, hold A's next
// run, release A, let the clean-ups go once A's stale apply to the first
// endpoint has landed, and look at the record once the overtaker finished.
type simTrigger struct {
	r    *runner
	sw   *simWorld
	info *TriggerInfo

	attempt  int
	state    trigState
	undoA    func(context.Context) error
	holdNext func(context.Context) error
	holds    map[string]func(context.Context) error
	ahead    map[string]bool
	running  map[string]bool
	deadline time.Time
	done     bool
}

type trigState int

const (
	trigIdle       trigState = iota // before TriggerAt
	trigWaitFinish                  // waiting for A's run to finish
	trigDelayed                     // A paused (or about to be) in a run
	trigReleased                    // A released; clean-ups held until its stale apply lands
	trigLanded                      // waiting for the overtaker's run to finish
)

func (t *simTrigger) others() []string {
	var out []string
	for _, in := range harness.Instances(harness.DNSEnactorSvc) {
		if in != enactorA {
			out = append(out, in)
		}
	}
	return out
}

func (t *simTrigger) onEvent(ev kit.Event) {
	if t.done || harness.KindOf(ev.Service) != harness.DNSEnactorSvc {
		return
	}
	switch ev.Kind {
	case "run-started":
		t.running[ev.Service] = true
	case "run-finished":
		t.running[ev.Service] = false
	}
	info := t.info
	keep := t.r.cfg.Calibration.KeepGenerations
	switch t.state {
	case trigWaitFinish:
		if ev.Service == enactorA && ev.Kind == "run-finished" {
			t.delay()
		}
	case trigDelayed:
		stale, _ := ev.Fields["stale"].(bool)
		gen := uint64(number(ev.Fields["generation"]))
		switch {
		case ev.Service == enactorA && ev.Kind == "run-started" && info.StaleGen == 0 && !stale:
			info.StaleGen = gen
		case ev.Service != enactorA && ev.Kind == "run-started":
			t.ahead[ev.Service] = info.StaleGen > 0 && !stale && gen > info.StaleGen+keep
			t.hold(ev.Service, t.ahead[ev.Service])
		case ev.Service != enactorA && ev.Kind == "endpoint-applied" && info.StaleGen > 0 && info.OvertakenBy == "" &&
			fmt.Sprint(ev.Fields["endpoint"]) == t.lastEndpoint() && uint64(number(ev.Fields["to"])) > info.StaleGen+keep &&
			t.sw.st.FailpointWaiting(EnactorDelayPoint) > 0:
			if info.EngagedAt.IsZero() {
				info.EngagedAt = t.sw.st.Now()
			}
			info.OvertakenBy, info.NewerGen, info.OvertakenAt = ev.Service, uint64(number(ev.Fields["to"])), t.sw.st.Now()
		}
	case trigReleased:
		if ev.Service == enactorA && fmt.Sprint(ev.Fields["endpoint"]) == t.firstEndpoint() &&
			(ev.Kind == "endpoint-applied" || ev.Kind == "endpoint-skipped" || ev.Kind == "endpoint-failed") {
			t.releaseHolds()
			t.state = trigLanded
		}
	case trigLanded:
		if ev.Service == info.OvertakenBy && ev.Kind == "run-finished" {
			t.look()
		}
	}
}

func (t *simTrigger) endpoints() []dnsplan.Endpoint {
	eps, _ := dnsplan.Endpoints(nil, t.r.cfg.Calibration.SyntheticEndpoints)
	return eps
}
func (t *simTrigger) firstEndpoint() string { return t.endpoints()[0].ID }
func (t *simTrigger) lastEndpoint() string  { eps := t.endpoints(); return eps[len(eps)-1].ID }

// poll runs every simTriggerPoll: the start at TriggerAt, the engagement
// of A's pause, the release once the overtaker is held, the deadline.
func (t *simTrigger) poll() {
	if t.done {
		return
	}
	now := t.sw.st.Now()
	info := t.info
	switch t.state {
	case trigIdle:
		if !now.Before(TriggerAt) {
			t.next()
		}
	case trigDelayed:
		if info.StaleGen > 0 && info.EngagedAt.IsZero() && t.sw.st.FailpointWaiting(EnactorDelayPoint) > 0 {
			info.EngagedAt = now
		}
		if !now.Before(t.deadline) {
			info.ByDeadline = true
			t.release(false)
			return
		}
		by := info.OvertakenBy
		if by == "" || t.sw.st.FailpointWaiting(by+cleanupPoint) == 0 {
			return
		}
		for _, in := range t.others() {
			if in != by && t.running[in] && t.sw.st.FailpointWaiting(in+cleanupPoint) == 0 {
				return // the third Enactor is applying: wait for it
			}
		}
		t.release(true)
	case trigReleased:
		if now.Sub(info.ReleasedAt) >= 15*time.Minute { // as Run's trigger: A's apply may never land
			t.releaseHolds()
			t.state = trigLanded
		}
	case trigLanded:
		if !t.running[info.OvertakenBy] || now.Sub(info.ReleasedAt) >= 30*time.Minute {
			t.look()
		}
	}
}

// next starts the next attempt, or ends the trigger after the last.
func (t *simTrigger) next() {
	if t.holdNext != nil {
		_ = t.holdNext(context.Background())
		t.holdNext = nil
	}
	if t.attempt >= MaxTriggerAttempts || t.info.Emptied {
		t.done = true
		return
	}
	t.attempt++
	t.state = trigWaitFinish // as Run's trigger: the pause catches the run after A's current one
}

// delay pauses A inside its next run.
func (t *simTrigger) delay() {
	now := t.sw.st.Now()
	*t.info = TriggerInfo{Attempts: t.attempt, DelayedAt: now, Log: t.info.Log}
	t.r.mu.Lock()
	t.r.triggerInfo.DelayedAt = now
	t.r.mu.Unlock()
	undo, err := t.sw.failpoint(EnactorDelayPoint, "pause")
	if err != nil {
		t.info.ReleaseError = err.Error()
		t.done = true
		return
	}
	t.undoA = undo
	t.deadline = now.Add(TriggerHold)
	t.ahead = map[string]bool{}
	t.state = trigDelayed
}

// hold holds (or lets go) in's clean-up.
func (t *simTrigger) hold(in string, on bool) {
	switch {
	case on && t.holds[in] == nil:
		if u, err := t.sw.failpoint(in+cleanupPoint, "pause"); err == nil {
			t.holds[in] = u
		}
	case !on && t.holds[in] != nil:
		_ = t.holds[in](context.Background())
		delete(t.holds, in)
	}
}

func (t *simTrigger) releaseHolds() {
	for _, in := range t.others() { // in order: no map iteration decides
		t.hold(in, false)
	}
}

// release lets A go: held, the overtaker waits at its clean-up.
func (t *simTrigger) release(held bool) {
	info := t.info
	info.CleanupHeld = held
	if held {
		if u, err := t.sw.failpoint(enactorA+"/before-run", "pause"); err == nil {
			t.holdNext = u
		}
	}
	info.ReleasedAt = t.sw.st.Now()
	if err := t.undoA(context.Background()); err != nil {
		info.ReleaseError = err.Error()
	}
	t.log()
	switch {
	case info.OvertakenBy == "":
		t.releaseHolds()
		t.next()
	case held:
		t.state = trigReleased
	default:
		t.releaseHolds()
		t.state = trigLanded
	}
}

// look checks the record as a client would, once the overtaker's run is over.
func (t *simTrigger) look() {
	if t.sw.st.RegionalEmpty() {
		t.info.Emptied = true
	}
	t.next()
}

func (t *simTrigger) log() {
	info := t.info
	info.Log = append(info.Log, fmt.Sprintf("attempt %d: delayed %s, engaged %s on g%d, released %s, overtaken by %q with g%d, clean-up held %v, deadline %v",
		t.attempt, clockPDT(info.DelayedAt), at0(info.EngagedAt), info.StaleGen, at0(info.ReleasedAt), info.OvertakenBy, info.NewerGen, info.CleanupHeld, info.ByDeadline))
}

// finish releases whatever the trigger still holds at the end of the run.
func (t *simTrigger) finish() {
	if t.undoA != nil {
		_ = t.undoA(context.Background())
	}
	if t.holds != nil {
		t.releaseHolds()
	}
	if t.holdNext != nil {
		_ = t.holdNext(context.Background())
	}
	t.done = true
}
