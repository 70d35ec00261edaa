package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dnsenactor"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/ecs"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/lambda"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
	"github.com/cascade-lab/cascade/mocks/route53"
	"github.com/cascade-lab/cascade/mocks/sqs"
	"github.com/cascade-lab/cascade/mocks/sts"
)

// Calibration of the sim's transports (what the real backends get from
// sockets and goroutines): every link's one-way latency and jitter, and
// the service time of a call at each kind of node. They are the race's
// (DrawRace's fixed values) where the race has them.
const (
	baseLatency   = 100 * time.Millisecond
	baseJitter    = 50 * time.Millisecond
	lbService     = 100 * time.Millisecond // one DynamoDB call at a load balancer
	route53Svc    = 600 * time.Millisecond // one Route53 API call (the race's)
	route53Spread = 400 * time.Millisecond
	dnsService    = 5 * time.Millisecond  // one DNS answer
	apiService    = 20 * time.Millisecond // one call to netmgr, ec2, dwfm's allocation API, the NLB
	probeTimeout  = 30 * time.Second      // the experiment's client calls
)

// SimKinds are the catalogue's kinds the sim runs: all of them.
var SimKinds = []string{catalogue.Route53, catalogue.DynamoDB, catalogue.NetMgr, catalogue.DNSPlanner,
	catalogue.DNSEnactor, catalogue.DWFM, catalogue.EC2, catalogue.NLB,
	catalogue.SQS, catalogue.Lambda, catalogue.STS, catalogue.ECS}

// build wires the stack from the catalogue: one Plan, each instance's
// Config from the catalogue's wiring (links are sim links "sim://from/to"),
// the Tune hook, then the sim's transport for the kind.
func (s *Stack) build() error {
	plan, err := catalogue.NewPlan(func(kind string) bool { return slices.Contains(SimKinds, kind) }, s.cfg.Seed)
	if err != nil {
		return err
	}
	s.plan = plan
	s.net = NewNetwork(s.s)
	cfgs := map[string]any{}
	for _, in := range plan.Instances {
		w := catalogue.Wiring{Instance: in.Name, AZ: in.AZ, Mode: kit.AsWas, On: func(o string) bool { return s.fixes[o] },
			Link:   func(to string) string { return "sim://" + in.Name + "/" + to },
			Direct: func(to string) string { return "sim://" + to },
			DNS:    DNSNode + ":53", LBs: LBs, LBPort: catalogue.DynamoDBPort}
		if in.Service.Fix != "" && s.fixes[in.Service.Fix] {
			w.Mode = kit.Fixed
		}
		cfg := in.Service.Config(w)
		if s.cfg.Tune != nil {
			s.cfg.Tune(in.Name, cfg)
		}
		cfgs[in.Name] = cfg
	}
	s.cfgs = cfgs
	// every node reaches every other with the base latency
	nodes := []string{Route53Node, DNSNode, ProbeNode}
	for _, in := range plan.Instances {
		if in.Kind != catalogue.Route53 && in.Kind != catalogue.DynamoDB {
			nodes = append(nodes, in.Name)
		}
	}
	for _, lb := range LBs {
		nodes = append(nodes, lb.Name)
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				l := s.net.Link(a, b)
				l.Latency, l.Jitter = baseLatency, baseJitter
			}
		}
	}
	if err := s.buildDNS(cfgs); err != nil {
		return err
	}
	if err := s.buildInstance(catalogue.DynamoDB); err != nil {
		return err
	}
	// the probes' table, as their Init creates it once (a client's, not
	// the server's: a restarted DynamoDB does not have it)
	if _, err := s.ddb.core.TableCreate(dynamodb.TableSpec{Name: probeTable, HashKey: "pk", HashType: "S"}.Input()); err != nil {
		return err
	}
	// the rest in start order, the downstream services last (stack_downstream.go)
	names := []string{catalogue.NetMgr}
	for _, az := range catalogue.AZs {
		names = append(names, catalogue.DWFM+"-"+az)
	}
	for _, name := range append(names, catalogue.EC2, catalogue.NLB, catalogue.SQS, catalogue.Lambda, catalogue.STS, catalogue.ECS) {
		if err := s.buildInstance(name); err != nil {
			return err
		}
	}
	return nil
}

// buildDNS is the race's world: route53's Store, the planner, three
// Enactors, their settings from the catalogue's configs.
// buildInstance builds one instance of a kind with its own server core
// (everything but Route53 and the DNS automation, buildDNS) from its
// catalogue Config: at the stack's build, and as a new process's boot.
func (s *Stack) buildInstance(instance string) error {
	cfg := s.cfgs[instance]
	switch kind := s.kindOf(instance); kind {
	case catalogue.DynamoDB:
		return s.buildDynamoDB(cfg.(*dynamodb.Config))
	case catalogue.NetMgr:
		return s.buildNetMgr(cfg.(*netmgr.Config))
	case catalogue.DWFM:
		return s.buildDWFM(instance, cfg.(*dwfm.Config))
	case catalogue.EC2:
		return s.buildEC2(cfg.(*ec2.Config))
	case catalogue.NLB:
		return s.buildNLB(cfg.(*nlb.Config))
	case catalogue.SQS:
		return s.buildSQS(cfg.(*sqs.Config))
	case catalogue.Lambda:
		return s.buildLambda(cfg.(*lambda.Config))
	case catalogue.STS:
		return s.buildSTS(cfg.(*sts.Config))
	case catalogue.ECS:
		return s.buildECS(cfg.(*ecs.Config))
	default:
		return fmt.Errorf("sim stack: no build for %s (kind %q)", instance, kind)
	}
}

func (s *Stack) buildDNS(cfgs map[string]any) error {
	r53cfg := cfgs[catalogue.Route53].(*route53.Config)
	pcfg := cfgs[catalogue.DNSPlanner].(*dnsplanner.Config)
	ecfg := cfgs[catalogue.DNSEnactor+"-a"].(*dnsenactor.Config)
	rc := RaceConfig{Seed: s.cfg.Seed, EnactorMode: ecfg.Mode, Route53Mode: kit.AsWas, K: ecfg.KeepGenerations,
		Accounts: pcfg.Accounts, Synthetic: pcfg.SyntheticEndpoints, PlanPeriod: Dur(pcfg.Period),
		Health: Dur(pcfg.HealthInterval), SlowLatency: Dur(60 * time.Second), HealthTimeout: Dur(600 * time.Second),
		CallTimeout: Dur(3000 * time.Second), RetryBackoff: Dur(ecfg.RetryBackoff),
		Route53Service: Dur(route53Svc), Route53Spread: Dur(route53Spread),
		BaseLatency: Dur(baseLatency), BaseJitter: Dur(baseJitter), LBService: Dur(lbService), Slow: -1}
	if r53cfg.CNAMEGuard {
		rc.Route53Mode = kit.Fixed
	}
	def := func(d *Dur, v time.Duration) {
		if *d <= 0 {
			*d = Dur(v)
		}
	}
	def(&rc.PlanPeriod, time.Minute)
	def(&rc.Health, 10*time.Second)
	def(&rc.RetryBackoff, 2*time.Second)
	if rc.K == 0 {
		rc.K = 2
	}
	for i := range rc.Enactors {
		ec := cfgs[Enactors[i]].(*dnsenactor.Config)
		p := ec.Period
		if p <= 0 {
			p = 30 * time.Second
		}
		rc.Enactors[i] = EnactorSchedule{Period: Dur(p), Phase: Dur(s.s.Rand().Int63n(int64(p)))}
	}
	if rc.EnactorMode == "" {
		rc.EnactorMode = kit.AsWas
	}
	eps, err := dnsplan.Endpoints(rc.Accounts, rc.Synthetic)
	if err != nil {
		return err
	}
	res := &RaceResult{Seed: rc.Seed, Runs: map[string]int{}, Failed: map[string]int{}}
	w := &race{cfg: rc, s: s.s, net: s.net, fps: NewFailpoints(s.s), eps: eps, res: res, start: s.s.Now(), trace: s.cfg.Trace, mkEvents: s.ev,
		running: map[string]bool{}, disabled: map[string]bool{}}
	w.r53, err = NewRoute53(s.net, Route53Node, rc.Route53Mode, &Server{Service: route53Svc, Spread: route53Spread})
	if err != nil {
		return err
	}
	w.r53.Timeout = time.Duration(rc.CallTimeout)
	w.r53.OnChange = w.observe
	// the server's failpoints (return only: a handler has no process)
	fpAPI := w.fps.Register(catalogue.Route53 + "/api-error")
	fpServfail := w.fps.Register(catalogue.Route53 + "/dns-servfail")
	fpDrop := w.fps.Register(catalogue.Route53 + "/dns-drop")
	w.r53.APIFault = func() error {
		if a := fpAPI.Decide(); a.Kind == "return" {
			return route53.FailpointAPIError(a.Value)
		}
		return nil
	}
	w.r53.DNSFault = func(name string) error {
		if a := fpDrop.Decide(); a.Kind == "return" {
			return ErrNoReply
		}
		if a := fpServfail.Decide(); a.Kind == "return" && route53.MatchesSuffix(dnsplan.Canonical(name), a.Value) {
			return ErrServFail
		}
		return nil
	}
	s.net.Serve(DNSNode, &Server{Service: dnsService})
	for _, lb := range LBs {
		s.net.Serve(lb.Name, &Server{Service: lbService})
	}
	s.race = w
	if err := w.startPlanner(false); err != nil {
		return err
	}
	for i := range Enactors {
		if err := w.startEnactor(i, time.Duration(rc.Enactors[i].Phase)); err != nil {
			return err
		}
	}
	// the stack is ready when every endpoint resolves (the other backends'
	// readiness wait): run until then
	limit := s.s.Now().Add(time.Hour)
	for !w.allResolve() && s.s.Now().Before(limit) {
		s.s.Run(s.s.Now().Add(10 * time.Second))
	}
	if !w.allResolve() {
		return fmt.Errorf("sim stack seed %d: endpoints never all resolved within an hour", s.cfg.Seed)
	}
	w.ready = s.s.Now()
	w.empty = !w.r53.Resolves(dnsplan.Regional.Name)
	return nil
}

// Tables the stack's clients use besides DWFM's lease table.
const probeTable = "cascade-probe"

// buildDynamoDB is DynamoDB's process (dynamodb.New): a new core with the
// tables its Config lists (the catalogue lists none: each client creates
// its own).
func (s *Stack) buildDynamoDB(cfg *dynamodb.Config) error {
	age := cfg.MaxConnAge
	if age == 0 {
		age = dynamodb.DefaultMaxConnAge
	}
	if age < 0 {
		age = 100 * 365 * 24 * time.Hour
	}
	s.ddb = &ddbService{core: dynamodb.NewCore(s.s.Clock()), maxAge: age, fps: s.race.fps}
	s.race.fps.Register(catalogue.DynamoDB + "/any") // the server's failpoints
	for _, op := range dynamodb.Operations {
		s.race.fps.Register(catalogue.DynamoDB + "/" + op)
	}
	for _, t := range cfg.Tables {
		if _, err := s.ddb.core.TableCreate(t.Input()); err != nil {
			return fmt.Errorf("sim stack: dynamodb table %s: %w", t.Name, err)
		}
	}
	return nil
}

func (s *Stack) buildNetMgr(cfg *netmgr.Config) error {
	tick := cfg.TickInterval
	if tick <= 0 {
		tick = 15 * time.Second
	}
	core, err := netmgr.NewCore(cfg.CoreConfig, s.s.Clock(), s.s.Rand())
	if err != nil {
		return err
	}
	s.nm = core
	s.race.fps.Register(NetMgrNode + "/tick") // the server's failpoints
	s.race.fps.Register(NetMgrNode + "/dataplane")
	s.net.Serve(NetMgrNode, &Server{Service: apiService})
	s.netmgrLoop(tick)
	return nil
}

func (s *Stack) buildDWFM(name string, cfg *dwfm.Config) error {
	v, err := cfg.Validated()
	if err != nil {
		return err
	}
	cc := v.CoreConfigFor(name)
	core, err := dwfm.NewCore(cc, dwfm.PolicyFor(v.Mode, cc), s.s.Clock(), s.s.Rand(), s.ev(name))
	if err != nil {
		return err
	}
	if err := s.ddbTable(v.Table, dwfm.LeaseKey); err != nil {
		return err
	}
	h := &dwfmHost{st: s, name: name, az: v.AZ, cfg: v, core: core, table: v.Table, opFailed: map[string]int{},
		pool: s.ddbPool(name, v.OpTimeout)}
	s.dwfm[name] = h
	s.race.fps.Register(name + "/ddb") // the server's failpoints
	s.race.fps.Register(name + "/allocate")
	s.hosts = append(s.hosts, name)
	s.net.Serve(name, &Server{Service: apiService})
	s.s.Go(name, func(p *Proc) {
		for last := s.s.Now(); ; {
			h.round()
			last = nextTick(last, v.Tick, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
		}
	})
	return nil
}

// ddbPool is a client's connection to DynamoDB through the regional name.
func (s *Stack) ddbPool(from string, timeout time.Duration) *Pool {
	addrs := map[string]string{}
	for _, lb := range LBs {
		addrs[lb.IP] = lb.Name
	}
	return &Pool{Net: s.net, R53: s.race.r53, From: from, DNS: DNSNode, Name: dnsplan.Regional.Name,
		Addrs: addrs, MaxAge: s.ddb.maxAge, Timeout: timeout}
}

func (s *Stack) buildEC2(cfg *ec2.Config) error {
	v, err := cfg.Validated()
	if err != nil {
		return err
	}
	s.ec2cfg = v
	s.race.fps.Register(catalogue.EC2 + "/run-instances")
	s.ec2 = ec2.NewCore(v.CoreConfig(), s.s.Clock(), s.s.Rand())
	s.net.Serve(EC2Node, &Server{Service: apiService})
	s.ec2Loop(v)
	return nil
}

func (s *Stack) buildNLB(cfg *nlb.Config) error {
	v, err := cfg.Validated()
	if err != nil {
		return err
	}
	core, err := nlb.NewCore(v.CoreConfig, s.s.Clock(), s.s.Rand())
	if err != nil {
		return err
	}
	s.nlb = core
	s.race.fps.Register(NLBNode + "/health-check")
	s.net.Serve(NLBNode, &Server{Service: apiService})
	s.nlbLoop(v, core.Config())
	return s.setupNLBDNS(v, core.Config().AZs)
}
