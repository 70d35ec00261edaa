package use1

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/stall"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Progress is the replay's state at one moment, for a live display.
type Progress struct {
	Now      time.Time         `json:"now"`      // incident time
	Elapsed  time.Duration     `json:"elapsed"`  // wall time since the stack started
	Fraction float64           `json:"fraction"` // of the replay's span
	Phase    string            `json:"phase"`    // the latest phase reached
	Services map[string]string `json:"services"` // component -> short state
	Order    []string          `json:"order"`    // components in display order
	// CPUPressure is the machine's CPU pressure since the stack started
	// (harness/stall; -1 if unknown): high, and the replay may not hold.
	CPUPressure float64 `json:"cpu_pressure"`
}

// runner is one replay in progress.
type runner struct {
	cfg Config
	tl  *timeline.Timeline
	// w is the stack the method runs on; samples are the main probes'
	// recent samples the operators read.
	w       world
	samples sampleSource
	fleet   *fleet
	load    *customerLoad

	// the real backends only: the stack and its ledger (rw), the probes'
	// runners, the machine's stalls
	rw     *realWorld
	main   *probes.Runner
	slow   *probes.Runner
	stalls *stall.Monitor

	// holdNext releases A's before-run pause (trigger goroutine only).
	holdNext func(context.Context) error

	// op is the operator model (the operate goroutine only).
	op *Operator

	mu          sync.Mutex
	triggerInfo TriggerInfo
	decisions   []Decision
	undo        undos
}

// noisy are event kinds the timeline does not keep (one per Route53 change
// or planner health check): the JSON result stays small.
var noisy = map[string]bool{"change-applied": true, "change-rejected": true, "lb-health": true, "endpoint-skipped": true,
	"target-in-service": true, "conn-aged-out": true, "plan-deleted": true, "run-started": true, "run-finished": true,
	"plan-generated": true, "instance-connected": true, "instance-launched": true}

func keepEvent(ev kit.Event) bool {
	if noisy[ev.Kind] {
		return false
	}
	if ev.Kind == "endpoint-applied" || ev.Kind == "endpoint-failed" {
		ep := fmt.Sprint(ev.Fields["endpoint"])
		return ep == "regional" || ep == "dualstack"
	}
	return true
}

// Run replays the incident once and evaluates its hypotheses. It returns a
// Result even when a hypothesis failed (Result.Passed is false); the error
// is for a replay that could not run (bad config, a stack that would not
// start).
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if cfg.Backend == SimBackend {
		return RunSim(ctx, cfg)
	}
	wallStart := time.Now()
	label := cfg.Label()
	tl, err := NewTimeline("use1-2025-10 "+label, cfg.Start, cfg.End)
	if err != nil {
		return nil, err
	}
	opts, err := cfg.StackOptions()
	if err != nil {
		return nil, err
	}
	stack, err := cfg.startStack(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	r := &runner{cfg: cfg, tl: tl}
	rw, err := newRealWorld(stack, tl)
	if err != nil {
		_ = stack.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("replay: %w", err)
	}
	r.w, r.rw = rw, rw
	// the machine's stalls, so a verdict can say it ran on a loaded machine
	r.stalls = stall.Start(stall.WithLabel(stack.Clock().Now))
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("replay panicked: %v\n%s", p, debug.Stack())
		}
		cancel()
		wg.Wait()
		r.stalls.Stop()
		if r.main != nil {
			r.main.Stop()
		}
		if r.slow != nil {
			r.slow.Stop()
		}
		rerr := rw.ledger.RevertAll(context.WithoutCancel(ctx))
		cerr := cfg.closeStack(context.WithoutCancel(ctx), stack)
		if err == nil && res == nil {
			err = errors.Join(rerr, cerr)
		}
		if res != nil && (rerr != nil || cerr != nil) {
			res.Warnings = append(res.Warnings, fmt.Sprint("rollback: ", errors.Join(rerr, cerr)))
		}
	}()
	startedIn := time.Since(wallStart)

	events, unsub := stack.Events(1 << 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer unsub()
		for {
			select {
			case <-runCtx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				if keepEvent(ev) {
					tl.AddEvent(ev)
				}
			}
		}
	}()

	// the caller's probes sample from the replay's start, before the fleet's launches
	stopExternal := cfg.External.start(runCtx, stack.Clock(), tl)
	defer stopExternal()

	tr := newTracker()
	cal := *cfg.Calibration
	r.fleet = newFleet(rw, tr, cal, cfg.Start)
	if err := r.fleet.launchSteady(runCtx, rw); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}

	r.load = newCustomerLoad(rw, cal)
	mainProbes, slowProbes := replayProbes(rw, tr, cal, r.load)
	r.main = probes.NewRunner(stack.Clock(), cfg.ProbePeriod, tl.AddSample, mainProbes...)
	r.slow = probes.NewRunner(stack.Clock(), SlowProbePeriod, tl.AddSample, slowProbes...)
	r.samples = r.main
	r.main.Start(runCtx)
	r.slow.Start(runCtx)

	r.op = newOperator(cfg.Seed, cal)
	wg.Add(5)
	go func() { defer wg.Done(); r.trigger(runCtx) }()
	go func() { defer wg.Done(); r.operate(runCtx) }()
	go func() { defer wg.Done(); r.fleet.run(runCtx) }()
	go func() { defer wg.Done(); r.load.sts.run(runCtx, rw) }()
	go func() { defer wg.Done(); r.load.lambda.run(runCtx, rw) }()
	if cfg.Progress != nil {
		wg.Add(1)
		go func() { defer wg.Done(); r.progress(runCtx, wallStart) }()
	}
	if !r.waitEnd(runCtx, tl) {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("replay interrupted at %s: %w", stack.Clock().Now().In(pdt).Format("15:04"), ctx.Err())
		}
	}
	r.main.Stop()
	r.slow.Stop()
	stopExternal()
	cancel()
	wg.Wait()
	stallReport := r.stalls.Stop() // the replay's stalls, not the analysis's
	nlbFinal, _ := rw.nlbState(context.WithoutCancel(ctx))
	handoff := handOff(context.WithoutCancel(ctx), rw)
	if err := rw.ledger.RevertAll(context.WithoutCancel(ctx)); err != nil {
		defer func() { res.Warnings = append(res.Warnings, "rollback: "+err.Error()) }()
	}
	snap := tl.Snapshot()
	r.mu.Lock()
	decisions := slices.Clone(r.decisions)
	r.mu.Unlock()
	res = r.result(snap, decisions, nlbFinal, handoff, newWall(wallStart, startedIn, time.Since(wallStart), stallReport))
	return res, nil
}

// SlowProbePeriod is the ec2-launch probe's period (incident time): one
// RunInstances every 5 min.
const SlowProbePeriod = 5 * time.Minute

// replayProbes are the replay's probes over w: the main ones (sampled every
// ProbePeriod) and the slow ones (every SlowProbePeriod).
func replayProbes(w world, tr *tracker, cal Calibration, load *customerLoad) (main, slow []probes.Probe) {
	main = append(main, w.coreProbes()...)
	main = append(main, backlogProbe(w, cal.BacklogWait), connectivityProbe(w, tr, cal.ConnectivityGrace))
	for _, in := range dwfmHosts() {
		main = append(main, leaseProbe(w, in))
	}
	main = append(main, nlbProbes(w, len(harness.AZs))...)
	main = append(main, w.downstreamProbes()...)
	main = append(main, load.probes()...)
	return main, []probes.Probe{launchProbe(w, tr), ecsScaleProbe(w)}
}

// newOperator is the run's operator model: its reaction delays come from
// the run's seed.
func newOperator(seed int64, cal Calibration) *Operator {
	return NewOperator(RunbookFor(cal), rand.New(rand.NewSource(seed*7919+1)))
}

// NewTimeline is the replay's timeline over [start, end]: its components
// and their debouncing (tests build synthetic nights on it).
func NewTimeline(name string, start, end time.Time) (*timeline.Timeline, error) {
	return timeline.New(timeline.WithName(name), timeline.WithSpan(start, end),
		timeline.WithComponents(Components()...),
		timeline.WithComponentDebounce(CompNLB, timeline.Debounce{MinFailures: 3, RecoverySamples: 15, RecoveryDuration: 30 * time.Minute}),
		timeline.WithComponentDebounce(CompDWFM, timeline.Debounce{MinFailures: 3, RecoverySamples: 4}))
}

// lastSample is the newest sample of probe (any source).
func (r *runner) lastSample(probe string) (timeline.Sample, bool) {
	if r.samples == nil {
		return timeline.Sample{}, false
	}
	return r.samples.Last(probe)
}

// failingSince counts failing samples of probe at or after t.
func (r *runner) failingSince(probe string, t time.Time) int {
	n := 0
	for _, s := range r.samples.Recent(probe) {
		if !s.Time.Before(t) && !s.OK {
			n++
		}
	}
	return n
}

// dwfmStuck lists the DWFM hosts stuck now (see DWFMDashboard).
func (r *runner) dwfmStuck(ctx context.Context) []string {
	_, stuck, _ := DWFMDashboard(dwfmStatesOf(ctx, r.w), len(harness.AZs))
	return stuck
}

// progress reports the replay's state every 100 ms of wall time.
func (r *runner) progress(ctx context.Context, wallStart time.Time) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.cfg.Progress(r.snapshotProgress(wallStart))
	}
}

func (r *runner) snapshotProgress(wallStart time.Time) Progress {
	now := r.w.Clock().Now()
	p := Progress{Now: now, Elapsed: time.Since(wallStart), Services: map[string]string{},
		Order:       []string{CompDynamoDB, CompDWFM, CompEC2, CompNetMgr, CompConnectivity, CompNLB},
		CPUPressure: -1}
	if r.stalls != nil {
		p.CPUPressure = r.stalls.Pressure()
	}
	if span := r.cfg.End.Sub(r.cfg.Start); span > 0 {
		p.Fraction = min(1, float64(now.Sub(r.cfg.Start))/float64(span))
	}
	state := func(probe string) (timeline.Sample, bool) { return r.lastSample(probe) }
	if s, ok := state(timeline.ProbeDNSResolve); ok {
		switch {
		case timeline.IsEmptyAnswer(s):
			p.Services[CompDynamoDB] = "EMPTY"
		case s.OK:
			if g, ok := state(timeline.ProbeDDBGetItem); ok && !g.OK {
				p.Services[CompDynamoDB] = "err:" + g.Code
			} else {
				p.Services[CompDynamoDB] = "ok"
			}
		default:
			p.Services[CompDynamoDB] = "err:" + s.Code
		}
	}
	var held []string
	recent := r.samples.Recent(ProbeDWFMLeases)
	for _, az := range harness.AZs {
		in := harness.DWFMSvc + "-" + az
		for i := len(recent) - 1; i >= 0; i-- {
			if recent[i].Source == in {
				held = append(held, fmt.Sprintf("%.0f%%", 100*recent[i].Value))
				break
			}
		}
	}
	if len(held) > 0 {
		p.Services[CompDWFM] = "leases " + strings.Join(held, "/")
	}
	if s, ok := state(timeline.ProbeEC2Launch); ok {
		p.Services[CompEC2] = okOr(s)
	}
	if s, ok := state(ProbeNetMgrBacklog); ok {
		p.Services[CompNetMgr] = fmt.Sprintf("depth %.0f", s.Value)
		if !s.OK {
			p.Services[CompNetMgr] += " SLOW"
		}
	}
	if s, ok := state(timeline.ProbeConnectivity); ok {
		p.Services[CompConnectivity] = okOr(s)
	}
	if s, ok := state(timeline.ProbeNLBCapacity); ok {
		p.Services[CompNLB] = okOr(s)
		if h, ok := state(timeline.ProbeNLBHealth); ok && !h.OK {
			p.Services[CompNLB] += fmt.Sprintf(" flaps %.0f", h.Value)
		}
	}
	p.Phase = r.currentPhase(now)
	return p
}

func okOr(s timeline.Sample) string {
	if s.OK {
		return "ok"
	}
	if s.Code == "" {
		return "FAIL"
	}
	return s.Code
}

// currentPhase names the latest phase reached, from the ledger and the
// latest samples (for the live display only; the verdict reads the timeline).
func (r *runner) currentPhase(now time.Time) string {
	var acts []timeline.Fault
	for _, f := range r.w.faults() {
		if f.Operator {
			acts = append(acts, f)
		}
	}
	sort.Slice(acts, func(i, j int) bool { return acts[i].Start.Before(acts[j].Start) })
	phase := "steady-state"
	r.mu.Lock()
	delayed := !r.triggerInfo.DelayedAt.IsZero()
	r.mu.Unlock()
	if delayed {
		phase = "enactor-delayed"
	}
	if s, ok := r.lastSample(timeline.ProbeDNSResolve); ok && timeline.IsEmptyAnswer(s) {
		phase = PhaseUnresolvable
	}
	for _, a := range acts {
		switch a.Name {
		case "restore-dns":
			phase = PhaseDNSRestored
		case "restart-dwfm":
			phase = PhaseThrottle
		case "disable-nlb-failover":
			phase = PhaseFailoverOff
		case "relax-throttles", "enable-nlb-failover":
			phase = "recovery"
		}
	}
	return phase
}
