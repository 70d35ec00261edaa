package sim

import (
	"errors"
	"fmt"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
	"github.com/cascade-lab/cascade/mocks/sqs"
)

// StackConfig is one run of the whole stack on the sim.
type StackConfig struct {
	Seed int64
	// Start is the incident clock at the start (kit.IncidentStart if zero).
	Start time.Time
	// Fixes are announced fixes and guards by the names the other backends
	// use (catalogue.AllFixes, catalogue.AllGuards); unknown names are an
	// error naming the valid ones.
	Fixes []string
	// Tune is the other backends' WithTune hook: called with each instance's
	// name and its Config (a pointer to the service's Config type) before
	// the sim reads it. Nil: the catalogue's wiring and the defaults.
	Tune func(instance string, cfg any)
	// Trace receives every core's events as JSON lines stamped with
	// incident time (nil: none).
	Trace io.Writer
}

// Stack is the whole stack of one run on the sim. Not safe for concurrent
// use: one goroutine drives it (RunUntil), and everything the experiment
// does inside the run is scheduled with Every or At.
type Stack struct {
	cfg    StackConfig
	cfgs   map[string]any // each instance's Config, as its process starts with it
	s      *Sim
	fixes  map[string]bool
	plan   catalogue.Plan
	net    *Network
	race   *race
	ddb    *ddbService
	dwfm   map[string]*dwfmHost
	hosts  []string // DWFM instances in AZ order
	nm     *netmgr.Core
	ec2    *ec2.Core
	ec2cfg ec2.Config
	// ec2Wake is the signal EC2's hand-off loop waits on between ticks
	// (nil while it runs a round); ec2Woken is a wake not consumed yet
	// (ec2.Server's one-slot wake channel).
	ec2Wake  *Signal
	ec2Woken bool
	nlb      *nlb.Core
	nlbDNS   *nlbDNS
	sqs      *sqs.Core
	lambda   *lambdaService
	sts      *stsService
	ecs      *ecsService
	// ecsCreated: the clusters and services ECSService made (the probe's
	// memory: its set-up succeeds once, as harness/probes' does)
	ecsCreated map[string]bool
	events     map[string]*kit.Events
	probes     int // the probe client's item counter
	onEvent    func(kit.Event)
}

// Launched is one instance RunInstances started.
type Launched struct{ ID, ZoneID string }

// ErrNotOnSim is returned by what the sim does not model yet.
var ErrNotOnSim = errors.New("sim: not yet on sim")

// ValidFixes lists the names StackConfig.Fixes accepts.
func ValidFixes() []string { return append(slices.Clone(catalogue.AllFixes), catalogue.AllGuards...) }

// NewStack builds the stack from the catalogue, seeded with cfg.Seed.
func NewStack(cfg StackConfig) (*Stack, error) {
	if cfg.Start.IsZero() {
		cfg.Start = kit.IncidentStart
	}
	fixes := map[string]bool{}
	for _, f := range cfg.Fixes {
		if !slices.Contains(ValidFixes(), f) {
			return nil, fmt.Errorf("sim stack: unknown fix %q: valid fixes are %s", f, strings.Join(ValidFixes(), ", "))
		}
		fixes[f] = true
	}
	st := &Stack{cfg: cfg, s: New(cfg.Seed, cfg.Start), fixes: fixes, dwfm: map[string]*dwfmHost{}, events: map[string]*kit.Events{},
		ecsCreated: map[string]bool{}}
	if err := st.build(); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Now is the incident time.
func (s *Stack) Now() time.Time { return s.s.Now() }

// Clock is the virtual incident clock.
func (s *Stack) Clock() kit.Clock { return s.s.Clock() }

// Sim is the run's kernel.
func (s *Stack) Sim() *Sim { return s.s }

// RunUntil advances the run to t.
func (s *Stack) RunUntil(t time.Time) { s.s.Run(t) }

// Every runs fn every d of incident time from now (first at now+d), as a
// process of the run: fn may call the clients, which take incident time.
func (s *Stack) Every(d time.Duration, fn func()) {
	s.s.Go("every", func(p *Proc) {
		for last := s.s.Now(); ; {
			last = nextTick(last, d, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
			fn()
		}
	})
}

// At runs fn at t, as a process of the run.
func (s *Stack) At(t time.Time, fn func()) {
	s.s.At(t, func() { s.s.Go("at", func(*Proc) { fn() }) })
}

// OnEvent calls fn with every core event (the kit.Event the Trace writes,
// Time in incident time), synchronously in the run's thread as it is
// emitted (nil: none). fn must not drive the run (RunUntil).
func (s *Stack) OnEvent(fn func(kit.Event)) { s.onEvent = fn }

// Close ends the run's processes.
func (s *Stack) Close() { s.s.Close() }

// Resolve is the A records a client resolving name gets now.
func (s *Stack) Resolve(name string) []string { return s.race.r53.LookupA(name) }

// DNSStore is Route53's record store and zone ids, read and written
// without the network or incident time (an observer's view, as the other
// backends' direct Route53 client; dnsplan.ReadEndpoint reads it).
func (s *Stack) DNSStore() (dnsplan.Store, dnsplan.ZoneIDs) {
	return s.race.r53.Direct(), s.race.r53.Zones
}

// RegionalEmpty reports whether DynamoDB's regional name resolves to no address.
func (s *Stack) RegionalEmpty() bool { return !s.race.r53.Resolves(dnsplan.Regional.Name) }

// proc runs fn in the current process, or, called from outside the run,
// in a new process with the run driven until fn returns (at most
// outsideCallLimit of incident time: a call a paused failpoint holds
// longer is given up, and proc reports false; the process stays parked
// until the run closes).
func (s *Stack) proc(fn func(p *Proc)) bool {
	if p := s.s.cur; p != nil {
		fn(p)
		return true
	}
	done := false
	s.s.Go(ProbeNode, func(p *Proc) { fn(p); done = true; p.s.Stop() })
	s.s.Run(s.s.Now().Add(outsideCallLimit))
	return done
}

// outsideCallLimit bounds a client call made from outside the run: far
// above any call's own timeouts (30 s for the clients, 2 min for DWFM's).
const outsideCallLimit = time.Hour

// DynamoDBGetItem is one GetItem through the regional name with a new
// client (it resolves the name and connects afresh); its probe code.
func (s *Stack) DynamoDBGetItem() string {
	var err error
	done := s.proc(func(p *Proc) {
		err = s.ddbPool(ProbeNode, probeTimeout).Call(p, func(string) error {
			if err := s.ddb.fail("GetItem"); err != nil {
				return err
			}
			_, err := s.ddb.core.ItemGet(&dynamodb.GetItemInput{TableName: probeTable, Key: expr.Item{"pk": expr.S("probe")}})
			return err
		})
	})
	if !done {
		return probeCode(ErrTimeout)
	}
	return probeCode(err)
}

// DynamoDBPutItem is one PutItem through the regional name with a new
// client; its probe code.
func (s *Stack) DynamoDBPutItem() string {
	s.probes++
	n := s.probes
	var err error
	done := s.proc(func(p *Proc) {
		err = s.ddbPool(ProbeNode, probeTimeout).Call(p, func(string) error {
			if err := s.ddb.fail("PutItem"); err != nil {
				return err
			}
			_, err := s.ddb.core.ItemPut(&dynamodb.PutItemInput{TableName: probeTable,
				Item: expr.Item{"pk": expr.S("probe"), "n": expr.S(fmt.Sprint(n))}})
			return err
		})
	})
	if !done {
		return probeCode(ErrTimeout)
	}
	return probeCode(err)
}

// RunInstances launches up to n instances (MinCount 1) as EC2's
// RunInstances does: admission by the throttle, then each zone's DWFM host
// asked for leased droplets over the network, then the launch. It returns
// the probe code ("" when launched).
func (s *Stack) RunInstances(n int) ([]Launched, string) {
	var out []Launched
	var err error
	done := s.proc(func(p *Proc) {
		out, err = s.runInstances(p, ProbeNode, ec2.LaunchSpec{ImageID: "ami-cascade", InstanceType: "m5.large", MinCount: 1, MaxCount: max(1, n)})
	})
	if !done {
		return nil, probeCode(ErrTimeout)
	}
	return out, probeCode(err)
}

// runInstances is one RunInstances call from node from, in process p.
func (s *Stack) runInstances(p *Proc, from string, spec ec2.LaunchSpec) ([]Launched, error) {
	var out []Launched
	timeout := s.ec2cfg.CallTimeout
	if err := s.net.Call(p, from, EC2Node, probeTimeout, func() error { return nil }); err != nil {
		return nil, err
	}
	// the server's ec2/run-instances failpoint (its return value names
	// the error code, as the server's run does)
	if err := s.race.fps.Hook(p, catalogue.EC2+"/run-instances")(p.Context()); err != nil {
		code := ec2.CodeRequestLimitExceeded
		var fe *kit.FailpointError
		if errors.As(err, &fe) && (fe.Value == ec2.CodeInsufficientCapacity || fe.Value == ec2.CodeInternalError) {
			code = fe.Value
		}
		return nil, &ec2.APIError{Code: code, Message: "Request limit exceeded. (failpoint " + catalogue.EC2 + "/run-instances)"}
	}
	placing, err := s.ec2.StartRun(spec)
	if err != nil {
		return nil, err
	}
	for z, ok := placing.Next(); ok; z, ok = placing.Next() {
		host := s.hostOf(z.ID)
		var id string
		// the server's dwfm-x/allocate failpoint: a return is its 503,
		// which EC2 counts as a host that did not answer
		if ferr := s.race.fps.Hook(p, host.name+"/allocate")(p.Context()); ferr != nil {
			placing.Answer(ec2.Unreachable, "")
			continue
		}
		cerr := s.net.Call(p, EC2Node, host.name, timeout, func() error {
			var e error
			id, e = host.core.Allocate()
			return e
		})
		switch {
		case cerr == nil:
			placing.Answer(ec2.Allocated, id)
		case errors.Is(cerr, dwfm.ErrNoCapacity):
			placing.Answer(ec2.NoCapacity, "")
		default:
			placing.Answer(ec2.Unreachable, "")
		}
	}
	// the placement ends on EC2 (the reply's leg is not modelled)
	_, insts, err := s.ec2.Place(placing)
	if err != nil {
		return nil, err
	}
	for _, in := range insts {
		out = append(out, Launched{ID: in.ID, ZoneID: in.ZoneID})
		s.ev(EC2Node).Emit("instance-launched", "instanceId", in.ID, "az", in.ZoneID)
	}
	s.wakeEC2()
	return out, nil
}

func (s *Stack) hostOf(zoneID string) *dwfmHost {
	for _, h := range s.hosts {
		if s.dwfm[h].az == zoneID {
			return s.dwfm[h]
		}
	}
	return s.dwfm[s.hosts[0]]
}

// RegisterTargets adds instances as NLB targets (POST /admin/targets).
func (s *Stack) RegisterTargets(ins ...Launched) error {
	for _, in := range ins {
		if err := s.nlb.RegisterTarget(in.ID, in.ZoneID); err != nil {
			return err
		}
	}
	return nil
}

// Connected reports whether instance id's network state reached every
// location (Network Manager's view); false for an unknown id.
func (s *Stack) Connected(id string) bool {
	ok, err := s.nm.Reachable(id, "")
	return err == nil && ok
}

// InstanceState is an instance's state as DescribeInstances reports it
// ("pending", "running", ...); an unknown id is an error.
func (s *Stack) InstanceState(id string) (string, error) {
	in, ok := s.ec2.Get(id)
	if !ok {
		return "", fmt.Errorf("sim stack: unknown instance %q", id)
	}
	return s.ec2.State(in), nil
}

// DWFMHosts are the DWFM instances, in AZ order.
func (s *Stack) DWFMHosts() []string { return slices.Clone(s.hosts) }

// DWFMState is a DWFM host's GET /admin/state.
func (s *Stack) DWFMState(instance string) (dwfm.State, error) {
	h, ok := s.dwfm[instance]
	if !ok {
		return dwfm.State{}, errUnknown("DWFM host", instance, s.hosts)
	}
	return dwfm.State{Name: h.name, AZ: h.az, Zone: h.cfg.ZoneName, Mode: h.cfg.Mode, Policy: h.core.Policy(), Stats: h.core.Stats()}, nil
}

// NetMgrState is Network Manager's queue (GET /admin/state's stats).
func (s *Stack) NetMgrState() netmgr.Stats { return s.nm.Stats() }

// EC2State is EC2's summary (GET /admin/state): its instances'
// connectivity and the setup work they still owe Network Manager.
func (s *Stack) EC2State() ec2.State { return ec2.StateOf(s.ec2) }

// NLBState is the NLB's GET /admin/state.
func (s *Stack) NLBState() nlb.State { return s.nlb.State(false) }

// EnableFailpoint sets a failpoint's terms (gofail syntax). The sim has the
// Enactors' failpoints (dnsenactor-x/before-run, before-apply-endpoint,
// after-apply-endpoint, before-cleanup), DWFM's (dwfm-x/ddb on every
// DynamoDB call, dwfm-x/allocate), EC2's ec2/run-instances, Network
// Manager's netmgr/tick (its worker) and netmgr/dataplane (return only:
// the health checks' answers), the NLB's nlb/health-check, DynamoDB's
// dynamodb/any and dynamodb/<Operation> (return only).
func (s *Stack) EnableFailpoint(name, terms string) error { return s.race.fps.Enable(name, terms) }

// DisableFailpoint turns a failpoint off, releasing what it holds.
func (s *Stack) DisableFailpoint(name string) error { return s.race.fps.Disable(name) }

// FailpointWaiting is how many processes failpoint name holds now.
func (s *Stack) FailpointWaiting(name string) int {
	return len(s.race.fps.parked[name]) + len(s.race.fps.held[name])
}

// RestoreDNS is the operators' repair of DynamoDB's regional record on the
// newest complete generation (dnsplan.Restore, as faults.RestoreDNS).
func (s *Stack) RestoreDNS() error {
	_, err := dnsplan.Restore(s.s.ctx(), s.race.r53.Direct(), s.race.r53.Zones, dnsplan.Regional, dnsplan.RestoreOptions{})
	return err
}

// DeletePlan deletes the records of the plan the regional endpoint points
// at and its claim (the end state of the race: an Enactor's clean-up
// deleting the plan that another has just applied), leaving the record
// dangling, empty and stuck: no Enactor's transaction can leave that state.
// The replay reaches it through the failpoints; tests use it as the
// trigger.
func (s *Stack) DeletePlan() error {
	ctx := s.s.ctx()
	st, err := dnsplan.ReadEndpoint(ctx, s.race.r53.Direct(), s.race.r53.Zones, dnsplan.Regional)
	if err != nil || st.CNAME == nil || len(st.CNAME.Values) == 0 {
		return fmt.Errorf("sim stack: delete plan: regional endpoint unreadable: %v", err)
	}
	planZone, _ := s.race.r53.Zones.ID(dnsplan.RegionalZone)
	epZone, _ := s.race.r53.Zones.ID(dnsplan.Regional.Zone)
	var del []dnsplan.Change
	plan := dnsplan.PlanName(dnsplan.Regional.Plan, st.Generation)
	err = dnsplan.WalkSubtree(ctx, s.race.r53.Direct(), planZone, plan, 100, func(r dnsplan.Record) error {
		if dnsplan.Canonical(r.Name) == plan {
			del = append(del, dnsplan.Change{Action: dnsplan.Delete, Record: r})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.race.r53.Direct().Change(ctx, planZone, del); err != nil {
		return err
	}
	if claim, ok, err := dnsplan.ReadRecord(ctx, s.race.r53.Direct(), epZone, dnsplan.ClaimName(dnsplan.Regional, st.Generation), dnsplan.TypeTXT); err == nil && ok {
		return s.race.r53.Direct().Change(ctx, epZone, []dnsplan.Change{{Action: dnsplan.Delete, Record: claim}})
	}
	return nil
}

// EmptyEndpoint deletes the regional endpoint's CNAME and claim
// (dnsplan.Empty, as faults.EmptyEndpoint does on the other backends):
// id is a dnsplan endpoint id ("regional").
func (s *Stack) EmptyEndpoint(id string) error {
	for _, ep := range s.race.eps {
		if ep.ID == id {
			return dnsplan.Empty(s.s.ctx(), s.race.r53.Direct(), s.race.r53.Zones, ep)
		}
	}
	return fmt.Errorf("sim stack: unknown endpoint %q", id)
}

// DisableDNSAutomation stops the Enactors from starting runs (the admin
// API's disable); a run in progress finishes: DNSAutomationIdle reports
// when none is in one.
func (s *Stack) DisableDNSAutomation() {
	for _, e := range Enactors {
		s.race.disabled[e] = true
	}
}

// DisableDNSAutomationWait is the admin action as harness/faults applies
// it: disable, then wait (incident time, at most limit) until no Enactor
// is in a run; an error when one still is.
func (s *Stack) DisableDNSAutomationWait(limit time.Duration) error {
	s.DisableDNSAutomation()
	idle := false
	s.proc(func(p *Proc) {
		for end := s.s.Now().Add(limit); ; p.Sleep(time.Second) {
			if idle = s.DNSAutomationIdle(); idle || !s.s.Now().Before(end) {
				return
			}
		}
	})
	if !idle {
		return fmt.Errorf("sim stack: an Enactor is still in a run %s after the DNS automation was disabled", limit)
	}
	return nil
}

// EnableDNSAutomation lets the Enactors run again.
func (s *Stack) EnableDNSAutomation() { clear(s.race.disabled) }

// DNSAutomationIdle reports whether no Enactor is in the middle of a run.
func (s *Stack) DNSAutomationIdle() bool {
	for _, e := range Enactors {
		if s.race.running[e] {
			return false
		}
	}
	return true
}

// ThrottleEC2 throttles RunInstances (0: off) with a bucket of one call,
// as faults.ThrottleEC2 sets it through the admin API.
func (s *Stack) ThrottleEC2(perMinute float64) {
	s.ec2.SetRunRate(perMinute, 1)
	s.ev(EC2Node).Emit("throttle-set", "ratePerMinute", perMinute)
}

// ThrottleDWFM throttles every DWFM host's intake (0: off).
func (s *Stack) ThrottleDWFM(perMinute float64) {
	for _, h := range s.hosts {
		s.dwfm[h].core.SetIntake(perMinute)
	}
}

// RestartDWFM restarts one DWFM host's process: its queue and leases
// forgotten, every droplet re-leased through the intake throttle.
func (s *Stack) RestartDWFM(instance string) error {
	h, ok := s.dwfm[instance]
	if !ok {
		return errUnknown("DWFM host", instance, s.hosts)
	}
	h.core.Restart()
	h.pool.conn = "" // a new process opens new connections
	h.kick()
	return nil
}

// DisableNLBFailover turns the NLB's AZ failover off: removed AZs return
// (their failover events come with the core's next tick).
func (s *Stack) DisableNLBFailover() {
	restored := s.nlb.SetFailover(false)
	if len(restored) > 0 {
		s.publishNLB(s.nlb.State(false).AZsInDNS) // as the server's action, not at the next tick
	}
	s.ev(NLBNode).Emit("failover-disabled", "restored", restored)
}

// EnableNLBFailover turns it on again.
func (s *Stack) EnableNLBFailover() {
	s.ev(NLBNode).Emit("failover-enabled", "restored", s.nlb.SetFailover(true))
}

// Latency sets the latency and jitter of the link from -> to (node names:
// catalogue instances, ddb-lb-x, route53, route53-dns, probe).
func (s *Stack) Latency(from, to string, d, jitter time.Duration) error {
	if err := s.checkLink(from, to); err != nil {
		return err
	}
	l := s.net.Link(from, to)
	l.Latency, l.Jitter = d, jitter
	return nil
}

// Partition cuts (down) or restores the link from -> to, both ways.
func (s *Stack) Partition(from, to string, down bool) error {
	if err := s.checkLink(from, to); err != nil {
		return err
	}
	s.net.Both(from, to, func(l *Link) { l.Down = down })
	return nil
}

func (s *Stack) checkLink(from, to string) error {
	if _, ok := s.net.links[[2]string{from, to}]; !ok {
		return fmt.Errorf("sim stack: no link %s -> %s", from, to)
	}
	return nil
}
