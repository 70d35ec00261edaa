// Package catalogue is the one table of cascade's services: for each kind,
// how many instances it has, what it cannot run without, which services it
// reaches through a faultable link, which mitigation switches its mode, how
// its Config is built from the stack's wiring, and its constructor. Every
// backend and binary iterates it: cmd/mockaws (one subcommand per entry),
// the embedded and containers backends, compose/docker-compose.yml (generated
// from it), and a coming simulation backend.
//
// Adding a service is its own package under mocks/ and one entry in
// Services (see docs/adding-a-service.md).
//
// The package imports only mocks (and kit), so cmd/mockaws links no harness
// code: dependencies point harness -> catalogue -> mocks -> kit and
// cmd/mockaws -> catalogue.
package catalogue

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// Service kinds.
const (
	Route53    = "route53"
	DynamoDB   = "dynamodb"
	NetMgr     = "netmgr"
	DNSPlanner = "dnsplanner"
	DNSEnactor = "dnsenactor"
	DWFM       = "dwfm"
	EC2        = "ec2"
	NLB        = "nlb"
	// The downstream services customers call through SDKs (issue 14).
	SQS    = "sqs"
	Lambda = "lambda"
	STS    = "sts"
	ECS    = "ecs"
)

// Mitigations (fixes) a stack can turn on, one per mechanism that failed in
// the incident: each is what AWS announced (or, for the Enactor, the
// compare-and-swap the public models of the race propose), and touches only
// its own service; an entry's Fix names the one its Mode follows.
const (
	// FixEnactorCAS: the DNS Enactor's per-endpoint compare-and-swap on the
	// plan generation and safe clean-up (the Enactors only; Route53 keeps
	// its native exact-match DELETE in every mode).
	FixEnactorCAS = "enactor-cas"
	// FixDWFMAdmission: DWFM admission by queue size, expired work dropped,
	// backoff with jitter.
	FixDWFMAdmission = "dwfm-admission"
	// FixNetMgrThrottle: Network Manager rate-limits incoming work by the
	// size of its waiting queue.
	FixNetMgrThrottle = "netmgr-throttle"
	// FixNLBVelocity: NLB velocity control on AZ failover.
	FixNLBVelocity = "nlb-velocity"
)

// AllFixes lists every announced mitigation: the "fixed" variant.
var AllFixes = []string{FixEnactorCAS, FixDWFMAdmission, FixNetMgrThrottle, FixNLBVelocity}

// Guards are protections outside the announced fixes: useful to compare,
// never part of the "fixed" variant. An entry's wiring reads them with
// Wiring.On.
const (
	// GuardRoute53CNAME: Route53 refuses a change batch that leaves a CNAME
	// or alias pointing at a name with no records (real Route53 does not).
	GuardRoute53CNAME = "route53-cname-guard"
	// GuardNLBPropagation: the NLB puts a new target in service only once
	// Network Manager reports its state propagated.
	GuardNLBPropagation = "nlb-propagation-gate"
	// GuardLambdaLeaseExpiry: Lambda's event-source pollers go back to
	// acquiring when a lease renewal fails, and an expired lease can be
	// taken, so a mapping recovers by itself after DynamoDB returns (AWS
	// fixed the real poller by hand at 04:40 and announced no change).
	GuardLambdaLeaseExpiry = "lambda-lease-expiry"
	// GuardSTSStaleCache: STS serves a principal read before an outage for
	// up to its hard TTL while DynamoDB is unreadable (the soft/hard TTL
	// cache of the Builders' Library; AWS announced no STS change).
	GuardSTSStaleCache = "sts-stale-cache"
	// GuardECSKeepCapacity: ECS keeps the instance of a task that timed out
	// waiting for connectivity for the cluster's next task, instead of
	// terminating it and launching another (static stability; AWS
	// announced no ECS change).
	GuardECSKeepCapacity = "ecs-keep-capacity"
)

// AllGuards lists every guard.
var AllGuards = []string{GuardRoute53CNAME, GuardNLBPropagation, GuardLambdaLeaseExpiry, GuardSTSStaleCache, GuardECSKeepCapacity}

// Ports every service listens on in its own network namespace (a container,
// a compose service): the binary's defaults. The embedded backend binds
// 127.0.0.1:0 instead.
const (
	AdminPort    = 9090
	APIPort      = 8080
	DNSPort      = 53
	DynamoDBPort = 8000
)

// AZs are the availability zones by letter: one instance of each per-AZ
// kind, one DynamoDB load balancer each.
var AZs = []string{"a", "b", "c"}

// Zones are the AZs' zone ids and names (use1-az1, us-east-1a), by letter.
var Zones = func() map[string]ec2.Zone {
	out := map[string]ec2.Zone{}
	for i, z := range ec2.DefaultZones() {
		out[AZs[i]] = z
	}
	return out
}()

// ZoneIDs are the zone ids of AZs, in order.
func ZoneIDs() []string {
	ids := make([]string, 0, len(AZs))
	for _, az := range AZs {
		ids = append(ids, Zones[az].ID)
	}
	return ids
}

// Wiring is what a backend tells an instance's config builder: where the
// instance is, where it listens and how it reaches the others. Every
// function may be nil (the binary's defaults have no links).
type Wiring struct {
	// Instance is the instance's name (dwfm-a); AZ its AZ letter, "" for a
	// kind with one instance.
	Instance, AZ string
	// Mode is the mode of the entry's Fix in this stack (aswas when off).
	Mode kit.Mode
	// On reports whether a guard (or fix) is on in this stack; nil: none.
	On func(option string) bool
	// Bind is the listen address for a port: ":8080" in a container,
	// "127.0.0.1:0" in the embedded backend.
	Bind func(port int) string
	// Link is the URL (http://host:port) of the faultable link from this
	// instance to instance to, "" when the stack has no such link.
	Link func(to string) string
	// Direct is the URL of instance to's API reached without a link (a
	// control-plane read that no fault is meant to cut).
	Direct func(to string) string
	// Admin is the URL of instance to's admin API, "" when the stack does
	// not run it (a control-plane read such as the NLB's healthy capacity).
	Admin func(to string) string
	// DNS is the mock DNS, host:port.
	DNS string
	// LBs are DynamoDB's load balancers and LBPort the port they listen on.
	LBs    []dnsplanner.LBConfig
	LBPort int
}

func (w Wiring) bind(port int) string {
	if w.Bind == nil {
		return ":" + strconv.Itoa(port)
	}
	return w.Bind(port)
}

func (w Wiring) on(option string) bool { return w.On != nil && w.On(option) }

func (w Wiring) link(to string) string {
	if w.Link == nil {
		return ""
	}
	return w.Link(to)
}

func (w Wiring) admin(to string) string {
	if w.Admin == nil {
		return ""
	}
	return w.Admin(to)
}

func (w Wiring) direct(to string) string {
	if w.Direct == nil {
		return ""
	}
	return w.Direct(to)
}

// Service is one entry of the catalogue.
type Service struct {
	// Kind names the service and its cmd/mockaws subcommand.
	Kind string
	// Short is the subcommand's one-line description.
	Short string
	// PerAZ: one instance per AZ, named <kind>-<az>; otherwise one, named
	// as the kind.
	PerAZ bool
	// Requires are the kinds it cannot run without.
	Requires []string
	// Links are the kinds it reaches through a faultable link (one proxy
	// per pair of instances), in creation order; the target starts first.
	Links []string
	// Fix is the mitigation its Mode follows ("" none): the one place a
	// stack's options become this service's mode.
	Fix string
	// BehindLBs: clients reach it through the per-AZ load balancers
	// (ddb-lb-a..c) that its DNS records point at.
	BehindLBs bool

	newConfig func() any
	wire      func(cfg any, w Wiring)
	build     func(cfg any, env *kit.Env) (kit.Service, error)
	bound     func(cfg any, svc kit.Service) string
}

// entry builds a Service over its Config type C.
func entry[C any](s Service, wire func(*C, Wiring), build func(C, *kit.Env) (kit.Service, error), bound func(*C, kit.Service) string) *Service {
	s.newConfig = func() any { return new(C) }
	s.wire = func(cfg any, w Wiring) { wire(cfg.(*C), w) }
	s.build = func(cfg any, env *kit.Env) (kit.Service, error) { return build(*cfg.(*C), env) }
	s.bound = func(cfg any, svc kit.Service) string { return bound(cfg.(*C), svc) }
	return &s
}

// Config is the instance's Config (a pointer to the service's Config type),
// built from w. Tunes are applied by the caller afterwards.
func (s *Service) Config(w Wiring) any {
	cfg := s.newConfig()
	s.wire(cfg, w)
	return cfg
}

// Defaults is the Config the cmd/mockaws subcommand starts from before its
// flags: the instance's own ports, no links. A backend that runs the binary
// passes kit.FlagArgs(cfg, Defaults()).
func (s *Service) Defaults() any {
	return s.Config(Wiring{Instance: s.Instances()[0], Mode: kit.AsWas})
}

// Args are the flags that make the binary build cfg.
func (s *Service) Args(cfg any) ([]string, error) {
	args, err := kit.FlagArgs(cfg, s.Defaults())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Kind, err)
	}
	return args, nil
}

// New constructs the service from cfg (a pointer from Config or Defaults).
func (s *Service) New(cfg any, env *kit.Env) (kit.Service, error) { return s.build(cfg, env) }

// Bound records in cfg the addresses svc bound (so a restart binds them
// again) and returns the address of its API, the upstream of links to it.
func (s *Service) Bound(cfg any, svc kit.Service) string { return s.bound(cfg, svc) }

// Instances are the kind's instance names, in AZ order.
func (s *Service) Instances() []string {
	if !s.PerAZ {
		return []string{s.Kind}
	}
	out := make([]string, 0, len(AZs))
	for _, az := range AZs {
		out = append(out, s.Kind+"-"+az)
	}
	return out
}

// Services is the catalogue, in start order: every entry comes after what
// it requires and what it links to (TestStartOrder holds it).
var Services = []*Service{
	entry(Service{Kind: Route53, Short: "authoritative DNS (UDP+TCP) for the hosted zones and the Route53 REST API"},
		func(c *route53.Config, w Wiring) {
			c.CNAMEGuard = w.on(GuardRoute53CNAME)
			c.Zones = slices.Clone(dnsplan.Zones)
			c.DNSAddr, c.APIAddr = w.bind(DNSPort), w.bind(APIPort)
		},
		func(c route53.Config, env *kit.Env) (kit.Service, error) { return route53.New(c, env) },
		func(c *route53.Config, svc kit.Service) string {
			r := svc.(*route53.Server)
			c.DNSAddr, c.APIAddr = r.DNSAddr(), r.APIAddr()
			return c.APIAddr
		}),
	entry(Service{Kind: DynamoDB, Short: "DynamoDB: the JSON 1.0 API in memory, with a maximum connection age so clients re-resolve the endpoint",
		BehindLBs: true},
		func(c *dynamodb.Config, w Wiring) { c.Addr = w.bind(DynamoDBPort) },
		func(c dynamodb.Config, env *kit.Env) (kit.Service, error) { return dynamodb.New(c, env) },
		func(c *dynamodb.Config, svc kit.Service) string {
			c.Addr = svc.(*dynamodb.Server).Addr()
			return c.Addr
		}),
	// Network Manager starts before DWFM, EC2 and the NLB: they post work
	// to it or read from it; it needs nothing itself.
	entry(Service{Kind: NetMgr, Short: "Network Manager: propagates instances' network state through a bounded-rate queue",
		Fix: FixNetMgrThrottle},
		func(c *netmgr.Config, w Wiring) {
			c.Mode, c.Nodes, c.APIAddr = w.Mode, ZoneIDs(), w.bind(APIPort)
		},
		func(c netmgr.Config, env *kit.Env) (kit.Service, error) { return netmgr.New(c, env) },
		func(c *netmgr.Config, svc kit.Service) string {
			c.APIAddr = svc.(*netmgr.Server).APIAddr()
			return c.APIAddr
		}),
	// SQS needs nothing and nothing of the EC2 side: wave 0 with the
	// others that need nothing.
	entry(Service{Kind: SQS, Short: "SQS: the JSON protocol subset (CreateQueue, SendMessage, ReceiveMessage with long polls in incident time, DeleteMessage, GetQueueAttributes)"},
		func(c *sqs.Config, w Wiring) { c.Addr = w.bind(APIPort) },
		func(c sqs.Config, env *kit.Env) (kit.Service, error) { return sqs.New(c, env) },
		func(c *sqs.Config, svc kit.Service) string {
			c.Addr = hostOf(svc.(*sqs.Server).URL())
			return c.Addr
		}),
	entry(Service{Kind: DNSPlanner, Short: "DynamoDB's DNS Planner: health-checks the load balancers and writes plan generations to Route53",
		Requires: []string{Route53, DynamoDB}, Links: []string{Route53}},
		func(c *dnsplanner.Config, w Wiring) {
			c.Route53API = w.link(Route53)
			c.LBs, c.LBPort = slices.Clone(w.LBs), w.LBPort
		},
		func(c dnsplanner.Config, env *kit.Env) (kit.Service, error) { return dnsplanner.New(c, env) },
		noAPI[dnsplanner.Config]),
	entry(Service{Kind: DNSEnactor, Short: "DynamoDB's DNS Enactor: applies the newest plan generation endpoint by endpoint, then cleans up old ones",
		PerAZ: true, Requires: []string{Route53}, Links: []string{Route53}, Fix: FixEnactorCAS},
		func(c *dnsenactor.Config, w Wiring) { c.Mode, c.Route53API = w.Mode, w.link(Route53) },
		func(c dnsenactor.Config, env *kit.Env) (kit.Service, error) { return dnsenactor.New(c, env) },
		noAPI[dnsenactor.Config]),
	entry(Service{Kind: DWFM, Short: "DropletWorkflow Manager of one AZ: droplet leases in DynamoDB, re-lease queue, allocation API",
		PerAZ: true, Requires: []string{Route53, DynamoDB}, Links: []string{NetMgr}, Fix: FixDWFMAdmission},
		func(c *dwfm.Config, w Wiring) {
			c.Mode, c.APIAddr = w.Mode, w.bind(APIPort)
			if z, ok := Zones[w.AZ]; ok {
				c.AZ, c.ZoneName = z.ID, z.Name
			}
			c.DNSAddr, c.DynamoDBPort = w.DNS, w.LBPort
			c.NetMgrURL = w.link(NetMgr) // re-lease work handed to Network Manager
		},
		func(c dwfm.Config, env *kit.Env) (kit.Service, error) {
			if c.ZoneName == "" { // the binary given only --az
				for _, z := range Zones {
					if z.ID == c.AZ {
						c.ZoneName = z.Name
					}
				}
			}
			return dwfm.New(c, env)
		},
		func(c *dwfm.Config, svc kit.Service) string {
			c.APIAddr = svc.(*dwfm.Server).APIAddr()
			return c.APIAddr
		}),
	entry(Service{Kind: EC2, Short: "EC2 Query API subset: RunInstances on leased droplets, DescribeInstances, TerminateInstances",
		Requires: []string{DWFM}, Links: []string{DWFM, NetMgr}},
		func(c *ec2.Config, w Wiring) {
			c.APIAddr = w.bind(APIPort)
			for _, az := range AZs {
				if u := w.link(DWFM + "-" + az); u != "" {
					if c.DWFM == nil {
						c.DWFM = map[string]string{}
					}
					c.DWFM[Zones[az].ID] = u
				}
			}
			c.NetMgrURL = w.link(NetMgr)
		},
		func(c ec2.Config, env *kit.Env) (kit.Service, error) { return ec2.New(c, env) },
		func(c *ec2.Config, svc kit.Service) string {
			c.APIAddr = svc.(*ec2.Server).APIAddr()
			return c.APIAddr
		}),
	entry(Service{Kind: NLB, Short: "Network Load Balancer: health checks per AZ node, AZ DNS failover in route53",
		Requires: []string{NetMgr}, Links: []string{NetMgr, Route53}, Fix: FixNLBVelocity},
		func(c *nlb.Config, w Wiring) {
			c.Mode, c.AZs, c.ListenAddr = w.Mode, ZoneIDs(), w.bind(APIPort)
			c.PropagationGate = w.on(GuardNLBPropagation)
			c.NetMgrURL, c.Route53API = w.link(NetMgr), w.link(Route53)
			// Propagation state is read directly: the link carries the
			// health checks, whose faults are the experiment's.
			c.NetMgrAPI = w.direct(NetMgr)
			// The AZ nodes' A records keep the NLB's defaults (127.0.3.1-3)
			// on every backend: one address per AZ is what the failover
			// removes and restores, and nothing connects to them by name.
		},
		func(c nlb.Config, env *kit.Env) (kit.Service, error) { return nlb.New(c, env) },
		func(c *nlb.Config, svc kit.Service) string {
			c.ListenAddr = svc.(*nlb.Server).ListenAddr()
			return c.ListenAddr
		}),
	// The downstream services. Lambda reads its function
	// metadata and its pollers' leases in DynamoDB by name through the mock
	// DNS, polls SQS over a link, and reads its invocation fleet's share
	// from the NLB's admin state (full without an NLB); STS reads its
	// principals the same way and its fleet's share the same way; ECS
	// launches an instance per task through EC2 and waits for its
	// connectivity in Network Manager, both over links.
	entry(Service{Kind: Lambda, Short: "Lambda: the REST API subset, function metadata in DynamoDB, SQS event-source pollers holding DynamoDB leases, invocations throttled by the fleet behind the NLB",
		Requires: []string{Route53, DynamoDB, SQS}, Links: []string{SQS}, Fix: GuardLambdaLeaseExpiry},
		func(c *lambda.Config, w Wiring) {
			c.Mode, c.Addr = w.Mode, w.bind(APIPort)
			c.DNSAddr, c.DynamoDBPort = w.DNS, w.LBPort
			c.SQSURL = w.link(SQS)
			c.NLBAdmin = w.admin(NLB)
		},
		func(c lambda.Config, env *kit.Env) (kit.Service, error) { return lambda.New(c, env) },
		func(c *lambda.Config, svc kit.Service) string {
			c.Addr = hostOf(svc.(*lambda.Server).URL())
			return c.Addr
		}),
	entry(Service{Kind: STS, Short: "STS: the Query API subset (GetCallerIdentity, AssumeRole, GetSessionToken), principals in DynamoDB, a fleet behind the NLB",
		Requires: []string{Route53, DynamoDB}, Fix: GuardSTSStaleCache},
		func(c *sts.Config, w Wiring) {
			c.Mode, c.Addr = w.Mode, w.bind(APIPort)
			c.DNSAddr, c.DynamoDBPort = w.DNS, w.LBPort
			c.NLBAdmin = w.admin(NLB)
		},
		func(c sts.Config, env *kit.Env) (kit.Service, error) { return sts.New(c, env) },
		func(c *sts.Config, svc kit.Service) string {
			c.Addr = hostOf(svc.(*sts.Server).URL())
			return c.Addr
		}),
	entry(Service{Kind: ECS, Short: "ECS with Fargate: the JSON API subset; each task launches an EC2 instance and waits for its connectivity",
		Requires: []string{EC2, NetMgr}, Links: []string{EC2, NetMgr}, Fix: GuardECSKeepCapacity},
		func(c *ecs.Config, w Wiring) {
			c.Mode, c.Addr = w.Mode, w.bind(APIPort)
			c.EC2URL, c.NetMgrURL = w.link(EC2), w.link(NetMgr)
		},
		func(c ecs.Config, env *kit.Env) (kit.Service, error) { return ecs.New(c, env) },
		func(c *ecs.Config, svc kit.Service) string {
			c.Addr = hostOf(svc.(*ecs.Server).URL())
			return c.Addr
		}),
}

// hostOf is the host:port of an http:// URL.
func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

// noAPI is Bound for a service nothing links to.
func noAPI[C any](*C, kit.Service) string { return "" }

// Lookup is the entry of a kind, or nil.
func Lookup(kind string) *Service {
	for _, s := range Services {
		if s.Kind == kind {
			return s
		}
	}
	return nil
}

// Kinds lists every kind, in start order.
func Kinds() []string {
	out := make([]string, len(Services))
	for i, s := range Services {
		out[i] = s.Kind
	}
	return out
}
