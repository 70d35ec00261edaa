package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsenactor"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Dur is a duration written as Go's text ("1m30s") in JSON.
type Dur time.Duration

// MarshalJSON implements json.Marshaler.
func (d Dur) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Dur(v)
	return err
}

// Enactors are the three Enactor instances, one per AZ.
var Enactors = []string{"dnsenactor-a", "dnsenactor-b", "dnsenactor-c"}

// LBs are DynamoDB's load balancers the planner health-checks.
var LBs = []dnsplanner.LBConfig{{Name: "ddb-lb-a", IP: "10.0.1.1"}, {Name: "ddb-lb-b", IP: "10.0.2.1"}, {Name: "ddb-lb-c", IP: "10.0.3.1"}}

// Node names on the race's network.
const (
	Route53Node = "route53"
	PlannerNode = "dnsplanner"
)

// EnactorSchedule is one Enactor's speed: its period and the latency of
// Route53's replies to it (toxiproxy's latency toxic on the downstream of
// its link, which is where the embedded suite puts it).
type EnactorSchedule struct {
	Period  Dur `json:"period"`
	Phase   Dur `json:"phase"` // when its ticker started, after the run's start
	Latency Dur `json:"latency"`
	Jitter  Dur `json:"jitter"`
}

// Churn is one load balancer fault: slow (latency 3x the planner's
// threshold on its replies) or down (its proxy disabled: health checks are
// refused at once), from At (after the stack is ready) for Hold.
type Churn struct {
	At   Dur    `json:"at"`
	Hold Dur    `json:"hold"`
	LB   string `json:"lb"`
	Down bool   `json:"down"`
}

// FailpointStep enables a failpoint at At (after ready) and disables it at
// Until (0: never). Explore's schedules have none: they are for
// choreographed runs and tests.
type FailpointStep struct {
	At    Dur    `json:"at"`
	Until Dur    `json:"until,omitempty"`
	Name  string `json:"name"`
	Terms string `json:"terms"`
}

// RaceConfig is one schedule of the DNS race: the stack's settings and
// every fault, all in incident time.
type RaceConfig struct {
	Seed          int64    `json:"seed"`
	EnactorMode   kit.Mode `json:"enactorMode"`
	Route53Mode   kit.Mode `json:"route53Mode"`
	For           Dur      `json:"for"` // simulated after the stack is ready
	K             uint64   `json:"k"`
	Accounts      []string `json:"accounts"`
	Synthetic     int      `json:"synthetic"`
	PlanPeriod    Dur      `json:"planPeriod"`
	Health        Dur      `json:"healthInterval"`
	SlowLatency   Dur      `json:"slowLatency"`   // the planner's threshold
	HealthTimeout Dur      `json:"healthTimeout"` // one health check's timeout
	CallTimeout   Dur      `json:"callTimeout"`   // a Route53 client's per-call timeout
	RetryBackoff  Dur      `json:"retryBackoff"`
	// Route53Service ± Route53Spread is one Route53 call's service time.
	Route53Service Dur `json:"route53Service"`
	Route53Spread  Dur `json:"route53Spread"`
	// BaseLatency ± BaseJitter is every link's one-way latency without toxics.
	BaseLatency Dur                `json:"baseLatency"`
	BaseJitter  Dur                `json:"baseJitter"`
	LBService   Dur                `json:"lbService"`
	Slow        int                `json:"slow"` // index of the slow Enactor (-1: none)
	Enactors    [3]EnactorSchedule `json:"enactors"`
	Churn       []Churn            `json:"churn,omitempty"`
	Failpoints  []FailpointStep    `json:"failpoints,omitempty"`
}

// DrawRace draws one schedule from rng (the run's source), around the
// regime of the embedded suite's randomized schedules
// (suites/dnsrace randomSchedule) stated in incident time at that suite's
// speed 10 (1 ms wall = 0.6 s incident): one Enactor is slow (its replies
// from Route53 delayed 90-240 s ± 30-120 s, its period 30-120 s), the
// others fast (0-2.4 s ± 0-1.2 s, periods 20-60 s); the planner writes a
// generation every 1-3 minutes and when a load balancer's weight changes,
// and 0-3 load balancers turn slow or dead for 30-210 s; K is 2-4; 2-8
// synthetic endpoints follow the regional, dual-stack, FIPS and account
// ones. Nothing is choreographed: no failpoint, no step at a chosen moment.
func DrawRace(rng *rand.Rand, seed int64, mode kit.Mode, d time.Duration) RaceConfig {
	s := time.Second
	c := RaceConfig{Seed: seed, EnactorMode: mode, Route53Mode: mode, For: Dur(d),
		K: uint64(2 + rng.Intn(3)), Accounts: []string{"111122223333"}, Synthetic: 2 + rng.Intn(7),
		PlanPeriod: Dur(time.Duration(60+rng.Intn(121)) * s), Health: Dur(30 * s),
		SlowLatency: Dur(60 * s), HealthTimeout: Dur(600 * s), CallTimeout: Dur(3000 * s), RetryBackoff: Dur(2 * s),
		Route53Service: Dur(600 * time.Millisecond), Route53Spread: Dur(400 * time.Millisecond),
		BaseLatency: Dur(100 * time.Millisecond), BaseJitter: Dur(50 * time.Millisecond), LBService: Dur(100 * time.Millisecond)}
	for i := range c.Enactors {
		c.Enactors[i] = EnactorSchedule{Period: Dur(time.Duration(20+rng.Intn(41)) * s),
			Latency: Dur(time.Duration(rng.Intn(5)) * 600 * time.Millisecond), Jitter: Dur(time.Duration(rng.Intn(3)) * 600 * time.Millisecond)}
	}
	c.Slow = rng.Intn(3)
	c.Enactors[c.Slow].Latency = Dur(time.Duration(150+rng.Intn(251)) * 600 * time.Millisecond)
	c.Enactors[c.Slow].Jitter = Dur(time.Duration(50+rng.Intn(151)) * 600 * time.Millisecond)
	c.Enactors[c.Slow].Period = Dur(time.Duration(30+rng.Intn(91)) * s)
	for i := range c.Enactors {
		c.Enactors[i].Phase = Dur(rng.Int63n(int64(c.Enactors[i].Period)))
	}
	for range rng.Intn(4) {
		c.Churn = append(c.Churn, Churn{At: Dur(rng.Int63n(int64(d))), Hold: Dur(time.Duration(50+rng.Intn(300)) * 600 * time.Millisecond),
			LB: LBs[rng.Intn(3)].Name, Down: rng.Intn(2) == 0})
	}
	return c
}

// RaceResult is what one run of the race produced. It holds no wall-clock
// fact: the same schedule gives the same result.
type RaceResult struct {
	Seed     int64      `json:"seed"`
	Schedule RaceConfig `json:"schedule"`
	// Ready is when every endpoint first resolved, after the run's start.
	Ready Dur `json:"ready"`
	// Emptied: the regional endpoint resolved to no address at some instant after Ready.
	Emptied bool `json:"emptied"`
	// Stuck: at the end it is empty and dangling with its claim gone, the
	// state no Enactor's transaction can leave (every one fails).
	Stuck      bool `json:"stuck"`
	EmptyAtEnd bool `json:"emptyAtEnd"`
	// FirstEmpty is when it first went empty after Ready (0 if never);
	// LongestEmpty the longest empty stretch; TotalEmpty their sum.
	FirstEmpty   Dur `json:"firstEmpty,omitempty"`
	LongestEmpty Dur `json:"longestEmpty"`
	TotalEmpty   Dur `json:"totalEmpty"`
	Empties      int `json:"empties"`
	// StuckSince is when the final empty stretch of a stuck run began.
	StuckSince  Dur            `json:"stuckSince,omitempty"`
	Generations uint64         `json:"generations"`
	Runs        map[string]int `json:"runs"`
	Failed      map[string]int `json:"failedEndpoints"` // endpoint transactions failed after retries, by code
	Calls       int            `json:"route53Calls"`
	Events      uint64         `json:"events"`
	Err         string         `json:"error,omitempty"`
}

// race is one run's world.
type race struct {
	cfg     RaceConfig
	s       *Sim
	net     *Network
	r53     *Route53
	fps     *Failpoints
	eps     []dnsplan.Endpoint
	res     *RaceResult
	ready   time.Time
	start   time.Time
	empty   bool
	emptyAt time.Time
	planner *dnsplanner.Core
	trace   io.Writer
	// mkEvents, when set, gives service's event stream (the Stack's).
	mkEvents func(service string) *kit.Events
	// disabled: the Enactors that start no run (the admin API's disable,
	// which each Enactor's process holds in memory); running: the
	// Enactors in the middle of a run.
	disabled map[string]bool
	running  map[string]bool
}

// events is service's event stream when the run is traced (nil otherwise).
func (w *race) events(service string) *kit.Events {
	if w.mkEvents != nil {
		return w.mkEvents(service)
	}
	if w.trace == nil {
		return nil
	}
	return kit.NewEvents(service, w.s.Clock(), w.trace)
}

// RunRace runs one schedule on a fresh sim seeded with cfg.Seed. trace
// (may be nil) receives every core's events as JSON lines, stamped with
// incident time.
func RunRace(cfg RaceConfig, trace io.Writer) (RaceResult, error) {
	return runRace(New(cfg.Seed, kit.IncidentStart), cfg, trace)
}

// ExploreRace draws the schedule of seed from the run's own random source
// and runs it: one seed, one exact run.
func ExploreRace(seed int64, mode kit.Mode, d time.Duration) (RaceResult, error) {
	s := New(seed, kit.IncidentStart)
	return runRace(s, DrawRace(s.Rand(), seed, mode, d), nil)
}

func runRace(s *Sim, cfg RaceConfig, trace io.Writer) (RaceResult, error) {
	defer s.Close()
	res := RaceResult{Seed: cfg.Seed, Schedule: cfg, Runs: map[string]int{}, Failed: map[string]int{}}
	eps, err := dnsplan.Endpoints(cfg.Accounts, cfg.Synthetic)
	if err != nil {
		return res, err
	}
	w := &race{cfg: cfg, s: s, net: NewNetwork(s), fps: NewFailpoints(s), eps: eps, res: &res, start: s.Now(), trace: trace,
		running: map[string]bool{}, disabled: map[string]bool{}}
	w.r53, err = NewRoute53(w.net, Route53Node, cfg.Route53Mode, &Server{Service: time.Duration(cfg.Route53Service), Spread: time.Duration(cfg.Route53Spread)})
	if err != nil {
		return res, err
	}
	w.r53.Timeout = time.Duration(cfg.CallTimeout)
	w.r53.OnChange = w.observe
	nodes := append([]string{Route53Node, PlannerNode}, Enactors...)
	for _, lb := range LBs {
		nodes = append(nodes, lb.Name)
		w.net.Serve(lb.Name, &Server{Service: time.Duration(cfg.LBService)})
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				l := w.net.Link(a, b)
				l.Latency, l.Jitter = time.Duration(cfg.BaseLatency), time.Duration(cfg.BaseJitter)
			}
		}
	}
	for i, e := range cfg.Enactors {
		l := w.net.Link(Route53Node, Enactors[i])
		l.Latency += time.Duration(e.Latency)
		l.Jitter += time.Duration(e.Jitter)
	}
	if err := w.startPlanner(false); err != nil {
		return res, err
	}
	for i := range Enactors {
		if err := w.startEnactor(i, time.Duration(cfg.Enactors[i].Phase)); err != nil {
			return res, err
		}
	}
	// Warm up until every endpoint resolves (the suite's waitResolvable),
	// then the schedule's clock starts.
	limit := s.Now().Add(time.Hour)
	for w.ready.IsZero() && s.Now().Before(limit) {
		s.Run(s.Now().Add(10 * time.Second))
		if w.allResolve() {
			w.ready = s.Now()
		}
	}
	if w.ready.IsZero() {
		res.Err = "endpoints never all resolved within an hour"
		return res, fmt.Errorf("race seed %d: %s", cfg.Seed, res.Err)
	}
	res.Ready = Dur(w.ready.Sub(w.start))
	w.empty = !w.r53.Resolves(dnsplan.Regional.Name)
	w.schedule()
	end := w.ready.Add(time.Duration(cfg.For))
	s.Run(end)
	w.finish(end)
	return res, nil
}

func (w *race) allResolve() bool {
	for _, ep := range w.eps {
		if !w.r53.Resolves(ep.Name) {
			return false
		}
	}
	return true
}

// observe runs after every change Route53 accepted: the regional endpoint's
// answer can only change then.
func (w *race) observe() {
	if w.ready.IsZero() {
		return
	}
	empty := !w.r53.Resolves(dnsplan.Regional.Name)
	now := w.s.Now()
	switch {
	case empty && !w.empty:
		w.empty, w.emptyAt = true, now
		w.events("sim").Emit("regional-empty")
		w.res.Emptied = true
		w.res.Empties++
		if w.res.FirstEmpty == 0 {
			w.res.FirstEmpty = Dur(now.Sub(w.ready))
		}
	case !empty && w.empty:
		w.empty = false
		w.events("sim").Emit("regional-resolves")
		w.closeEmpty(now)
	}
}

func (w *race) closeEmpty(now time.Time) {
	d := now.Sub(w.emptyAt)
	w.res.TotalEmpty += Dur(d)
	if Dur(d) > w.res.LongestEmpty {
		w.res.LongestEmpty = Dur(d)
	}
}

func (w *race) finish(end time.Time) {
	if w.empty {
		w.closeEmpty(end)
		w.res.EmptyAtEnd = true
	}
	st, err := dnsplan.ReadEndpoint(w.s.ctx(), w.r53.Direct(), w.r53.Zones, dnsplan.Regional)
	if err != nil {
		w.res.Err = err.Error()
	}
	w.res.Stuck = w.res.EmptyAtEnd && st.CNAME != nil && st.PlanRecords == 0 && !st.Claim
	if w.res.Stuck {
		w.res.StuckSince = Dur(w.emptyAt.Sub(w.ready))
	}
	w.res.Generations = w.planner.Generation()
	w.res.Calls = w.net.Server(Route53Node).Calls
	w.res.Events = w.s.Events()
}

// schedule puts the schedule's faults on the clock, from Ready.
func (w *race) schedule() {
	for _, c := range w.cfg.Churn {
		at := w.ready.Add(time.Duration(c.At))
		lb, hold := c.LB, time.Duration(c.Hold)
		if c.Down {
			w.s.At(at, func() { w.net.Link(PlannerNode, lb).Refuse = true })
			w.s.At(at.Add(hold), func() { w.net.Link(PlannerNode, lb).Refuse = false })
			continue
		}
		extra := 3 * time.Duration(w.cfg.SlowLatency)
		w.s.At(at, func() { w.net.Link(lb, PlannerNode).Latency += extra })
		w.s.At(at.Add(hold), func() { w.net.Link(lb, PlannerNode).Latency -= extra })
	}
	for _, f := range w.cfg.Failpoints {
		name, terms := f.Name, f.Terms
		w.s.At(w.ready.Add(time.Duration(f.At)), func() { _ = w.fps.Enable(name, terms) })
		if f.Until > 0 {
			w.s.At(w.ready.Add(time.Duration(f.Until)), func() { _ = w.fps.Disable(name) })
		}
	}
}

// startPlanner runs the planner's loop (dnsplanner.Server.runLoop's
// sequence): every health interval, check the three load balancers at
// once, observe, and write a generation when one is due. A restarted
// planner (restarted) first continues after the newest generation in
// Route53, as the server's first Generate does (dnsplanner.Server.resume);
// at the stack's start Route53 has none, and the read is skipped.
func (w *race) startPlanner(restarted bool) error {
	core, err := dnsplanner.NewCore(dnsplanner.CoreConfig{LBs: LBs, Endpoints: w.eps, Period: time.Duration(w.cfg.PlanPeriod),
		SlowLatency: time.Duration(w.cfg.SlowLatency)}, w.s.Clock(), w.events(PlannerNode))
	if err != nil {
		return err
	}
	w.planner = core
	w.s.Go(PlannerNode, func(p *Proc) {
		st := w.r53.Client(p, PlannerNode)
		zones, err := st.Zones(p.Context(), true)
		if err != nil {
			return
		}
		zoneID, _ := zones.ID(dnsplan.RegionalZone)
		interval := time.Duration(w.cfg.Health)
		resumed := !restarted
		for next := w.s.Now(); ; {
			core.Observe(w.check(p))
			if reason, due := core.Due(); due {
				if !resumed {
					resumed = w.resume(p, core, st, zoneID)
				}
				if resumed { // a failed read writes nothing (the server's Generate fails)
					plan := core.Build(reason)
					if err := plan.Write(p.Context(), st, zoneID); err == nil {
						core.Written(plan)
					}
				}
			}
			next = nextTick(next, interval, w.s.Now())
			p.Sleep(next.Sub(w.s.Now()))
		}
	})
	return nil
}

// resume is dnsplanner.Server.resume: the planner continues after the
// newest generation in Route53 (complete or not); false when the read
// failed.
func (w *race) resume(p *Proc, core *dnsplanner.Core, st dnsplan.Store, zoneID string) bool {
	gens, err := dnsplan.ListGenerations(p.Context(), st, zoneID, dnsplan.RegionalZone)
	if err != nil {
		return false
	}
	if len(gens) > 0 {
		core.Resume(gens[len(gens)-1].Gen)
		w.events(PlannerNode).Emit("planner-resumed", "generation", gens[len(gens)-1].Gen)
	}
	return true
}

// nextTick is when a Go ticker of period d whose last consumed tick was at
// last fires next for a receiver that is ready at now: the next tick on its
// grid, or at once when one was missed (a ticker drops the others).
func nextTick(last time.Time, d time.Duration, now time.Time) time.Time {
	next := last.Add(d)
	if next.After(now) {
		return next
	}
	missed := now.Sub(last) / d
	return last.Add(missed * d) // consumed at once: the pending tick
}

// check health-checks every load balancer concurrently (the server's
// Check): a reply within the timeout is healthy, its latency the round trip.
func (w *race) check(p *Proc) []dnsplanner.Probe {
	probes := make([]dnsplanner.Probe, len(LBs))
	pending := len(LBs)
	sig := p.NewSignal()
	start := w.s.Now()
	for i, lb := range LBs {
		w.net.Send(PlannerNode, lb.Name, time.Duration(w.cfg.HealthTimeout), func() error { return nil }, func(err error) {
			probes[i] = dnsplanner.Probe{LB: lb.Name, Healthy: err == nil, Latency: w.s.Now().Sub(start)}
			if err != nil {
				probes[i].Detail = err.Error()
			}
			if pending--; pending == 0 {
				sig.Fire()
			}
		})
	}
	sig.Await()
	return probes
}

// startEnactor runs Enactor i's loop (dnsenactor.Server.runLoop's
// sequence): phase after now (when its process starts), then on every
// tick of its period, one run through Core.Drive with the failpoints
// between its steps.
func (w *race) startEnactor(i int, phase time.Duration) error {
	name := Enactors[i]
	sch := w.cfg.Enactors[i]
	w.s.Go(name, func(p *Proc) {
		st := w.r53.Client(p, name)
		p.Sleep(phase)
		zones, err := st.Zones(p.Context(), false)
		if err != nil {
			return
		}
		core, err := dnsenactor.NewCore(dnsenactor.CoreConfig{Mode: w.cfg.EnactorMode, Endpoints: w.eps, Zones: zones,
			KeepGenerations: w.cfg.K, RetryBackoff: time.Duration(w.cfg.RetryBackoff)}, w.s.Clock(), w.events(name))
		if err != nil {
			w.res.Err = err.Error()
			return
		}
		pauses := dnsenactor.Pauses{BeforeApply: w.fps.Hook(p, name+"/before-apply-endpoint"),
			AfterApply: w.fps.Hook(p, name+"/after-apply-endpoint"), BeforeCleanup: w.fps.Hook(p, name+"/before-cleanup")}
		beforeRun := w.fps.Hook(p, name+"/before-run")
		period := time.Duration(sch.Period)
		for last := w.s.Now(); ; {
			last = nextTick(last, period, w.s.Now())
			p.Sleep(last.Sub(w.s.Now()))
			if beforeRun(p.Context()) != nil || w.disabled[name] {
				continue
			}
			w.running[name] = true
			sum, _ := core.Drive(p.Context(), st, p, pauses)
			w.running[name] = false
			w.res.Runs[name]++
			for _, code := range sum.Failed {
				w.res.Failed[code]++
			}
		}
	})
	return nil
}
