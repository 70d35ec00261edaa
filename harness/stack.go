package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Stack is a running cascade stack, whatever started it. Every backend
// (embedded, containers) and Attach (a stack started by another process)
// implement it. Methods are safe for concurrent use.
type Stack interface {
	// Name is the stack's unique name: it prefixes container names and
	// labels, so several stacks on one machine (or in one test binary) never
	// collide.
	Name() string
	// Endpoints is every address of the stack, JSON-serialisable so another
	// process (dig, the AWS CLI, cascade inject) can use it.
	Endpoints() Endpoints
	// Clock is the stack's incident clock.
	Clock() kit.Clock
	// Toxiproxy is a client of the toxiproxy API holding the load balancers
	// and the links.
	Toxiproxy() *toxiclient.Client
	// Links lists the toxiproxy proxies: the DynamoDB load balancers first,
	// then one per internal link, named <from>__<to>.
	Links() []Link
	// Services lists the running service instances.
	Services() []Service
	// Control stops, starts, pauses, resumes or restarts a service instance
	// by name ("dwfm-a", "route53").
	Control(ctx context.Context, instance string, action Action) error
	// Events subscribes to the merged event stream of every service; the
	// returned function ends the subscription and closes the channel.
	Events(buffer int) (<-chan kit.Event, func())
	// DynamoDB is an SDK client resolving the regional endpoint through the
	// mock DNS on every new connection and connecting to a load balancer.
	DynamoDB(opts ...awsclient.Option) (*dynamodb.Client, error)
	// Route53 is an SDK client of the Route53 API.
	Route53(opts ...awsclient.Option) (*route53.Client, error)
	// EC2 is an SDK client of the EC2 Query API.
	EC2(opts ...awsclient.Option) (*ec2.Client, error)
	// Close stops every service and proxy and releases every port. It may be
	// called more than once.
	Close(ctx context.Context) error
}

// Endpoints is every address of a running stack. URLs are http://host:port;
// addresses are host:port.
type Endpoints struct {
	Name    string `json:"name"`
	Backend string `json:"backend"`
	// DNS is the mock DNS server (UDP and TCP), authoritative for the
	// endpoints' names.
	DNS string `json:"dns"`
	// DynamoDBHost and DynamoDBPort are what a client connects to: the host
	// resolves through DNS to a load balancer, all of which listen on the port.
	DynamoDBHost string `json:"dynamodb_host"`
	DynamoDBPort int    `json:"dynamodb_port"`
	// DynamoDBDirect is the DynamoDB service itself, bypassing DNS and the
	// load balancers (the load balancers' upstream).
	DynamoDBDirect string `json:"dynamodb_direct,omitempty"`
	// LoadBalancers are the DynamoDB load balancers ddb-lb-a/b/c.
	LoadBalancers []LoadBalancer `json:"load_balancers"`
	Route53API    string         `json:"route53_api,omitempty"`
	EC2API        string         `json:"ec2_api,omitempty"`
	NetMgrAPI     string         `json:"netmgr_api,omitempty"`
	NLBAPI        string         `json:"nlb_api,omitempty"`
	// The downstream services' APIs (the AWS CLI's --endpoint-url).
	SQSAPI    string `json:"sqs_api,omitempty"`
	LambdaAPI string `json:"lambda_api,omitempty"`
	STSAPI    string `json:"sts_api,omitempty"`
	ECSAPI    string `json:"ecs_api,omitempty"`
	// NLB is the load balancer's data-plane address (host:port), when it has one.
	NLB string `json:"nlb,omitempty"`
	// Toxiproxy is the toxiproxy API.
	Toxiproxy string `json:"toxiproxy"`
	// Control is the stack's control API (served by cascade up): service
	// stop/start/pause/resume/restart from another process.
	Control string `json:"control,omitempty"`
	// Admin is each service instance's admin API (/healthz /metrics /events
	// /failpoints /admin/...).
	Admin map[string]string `json:"admin"`
	Links []Link            `json:"links"`
	Clock ClockInfo         `json:"clock"`
	// Attached are the users' containers attached to the stack
	// (WithAttach): faults and Control name them like service instances.
	Attached []AttachedService `json:"attached,omitempty"`
}

// LoadBalancer is one DynamoDB load balancer: a toxiproxy proxy whose address
// the plans' records hold.
type LoadBalancer struct {
	Name string `json:"name"` // ddb-lb-a
	IP   string `json:"ip"`   // 127.0.1.1
	Addr string `json:"addr"` // 127.0.1.1:port
	AZ   string `json:"az"`   // a
}

// ClockInfo is what another process needs to read the same incident time:
// the wall time at which the clock read IncidentStart, and the speed.
type ClockInfo struct {
	Epoch         time.Time `json:"epoch"`
	IncidentStart time.Time `json:"incident_start"`
	Speed         kit.Speed `json:"speed"`
}

// Clock returns a clock reading the stack's incident time.
func (c ClockInfo) Clock() *kit.ScaledClock {
	speed := c.Speed
	if speed <= 0 {
		speed = DefaultSpeed
	}
	return kit.NewScaledClock(c.Epoch, c.IncidentStart, speed)
}

// Link is one toxiproxy proxy: a DynamoDB load balancer or an internal link
// between two services.
type Link struct {
	Name     string `json:"name"`     // ddb-lb-a, dnsenactor-a__route53
	From     string `json:"from"`     // client side: a service instance, or "clients" for the load balancers
	To       string `json:"to"`       // server side: a service instance
	Listen   string `json:"listen"`   // host:port the proxy listens on
	Upstream string `json:"upstream"` // host:port it forwards to
}

// LinkName is the name of the link from one service instance to another.
func LinkName(from, to string) string { return catalogue.LinkName(from, to) }

// Service is one service instance of a stack.
type Service struct {
	Name  string       `json:"name"`  // instance: dnsenactor-a
	Kind  string       `json:"kind"`  // service: dnsenactor
	Admin string       `json:"admin"` // admin API URL
	State ServiceState `json:"state"`
	// Seed is the instance's seed (catalogue.InstanceSeed of the run's seed
	// and Name), where the backend knows it.
	Seed int64 `json:"seed,omitempty"`
}

// ServiceState is a service instance's run state.
type ServiceState string

// Service states.
const (
	Running ServiceState = "running"
	Stopped ServiceState = "stopped"
	Paused  ServiceState = "paused"
)

// Action is a service control action.
type Action string

// Service control actions. Pause freezes a service without closing its
// sockets (docker pause in containers; in the embedded backend every link
// into the service holds its data until Resume).
const (
	ActionStop    Action = "stop"
	ActionStart   Action = "start"
	ActionPause   Action = "pause"
	ActionResume  Action = "resume"
	ActionRestart Action = "restart"
)

// Actions lists the valid control actions.
var Actions = []Action{ActionStop, ActionStart, ActionPause, ActionResume, ActionRestart}

// ParseAction parses an action name; the error names the valid ones.
func ParseAction(s string) (Action, error) {
	for _, a := range Actions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w %q: valid actions are %s", ErrUnknownAction, s, joinStrings(Actions))
}

// Errors every backend returns, for errors.Is.
var (
	ErrUnknownService = errors.New("unknown service")
	ErrUnknownAction  = errors.New("unknown action")
	ErrUnknownLink    = errors.New("unknown link")
	ErrUnsupported    = errors.New("not supported by this backend")
	ErrClosed         = errors.New("stack closed")
)

// Service kinds.
// (harness/catalogue holds the table; these names are its kinds.)
const (
	Route53Svc    = catalogue.Route53
	DynamoDBSvc   = catalogue.DynamoDB
	DNSPlannerSvc = catalogue.DNSPlanner
	DNSEnactorSvc = catalogue.DNSEnactor
	DWFMSvc       = catalogue.DWFM
	EC2Svc        = catalogue.EC2
	NetMgrSvc     = catalogue.NetMgr
	NLBSvc        = catalogue.NLB
	SQSSvc        = catalogue.SQS
	LambdaSvc     = catalogue.Lambda
	STSSvc        = catalogue.STS
	ECSSvc        = catalogue.ECS
)

// ServiceKinds lists every service kind, in the catalogue's start order
// (dependencies first).
var ServiceKinds = catalogue.Kinds()

// AZs are the availability zones: one enactor, one DWFM host and one
// DynamoDB load balancer each.
var AZs = catalogue.AZs

// KindOf is the service kind of an instance name ("dwfm-a" -> "dwfm").
func KindOf(instance string) string { return catalogue.KindOf(instance) }

// LoadBalancerName is the name of the DynamoDB load balancer of an AZ.
func LoadBalancerName(az string) string { return "ddb-lb-" + az }

// LoadBalancerIP is the loopback address of the load balancer of the i-th AZ
// (127.0.1.1, .2, .3): a DNS answer holds addresses, not ports, so the load
// balancers differ by address and share a port.
func LoadBalancerIP(i int) string { return fmt.Sprintf("127.0.1.%d", i+1) }

// DynamoDB is an SDK client wired to these endpoints' mock DNS.
func (e Endpoints) DynamoDB(opts ...awsclient.Option) (*dynamodb.Client, error) {
	if e.DNS == "" || e.DynamoDBPort == 0 {
		return nil, fmt.Errorf("dynamodb client: %w: no DNS or DynamoDB port", ErrUnsupported)
	}
	if e.DynamoDBHost != "" && e.DynamoDBHost != awsclient.DynamoDBHost {
		opts = append([]awsclient.Option{awsclient.WithHost(e.DynamoDBHost)}, opts...)
	}
	return awsclient.DynamoDB(e.DNS, e.DynamoDBPort, opts...)
}

// Route53 is an SDK client of the Route53 API.
func (e Endpoints) Route53(opts ...awsclient.Option) (*route53.Client, error) {
	if e.Route53API == "" {
		return nil, fmt.Errorf("route53 client: %w: route53 not started", ErrUnsupported)
	}
	return awsclient.Route53(e.Route53API, opts...)
}

// EC2 is an SDK client of the EC2 Query API.
func (e Endpoints) EC2(opts ...awsclient.Option) (*ec2.Client, error) {
	if e.EC2API == "" {
		return nil, fmt.Errorf("ec2 client: %w: ec2 not started", ErrUnsupported)
	}
	return awsclient.EC2(e.EC2API, opts...)
}

// Resolver is a Go resolver asking the mock DNS.
func (e Endpoints) Resolver() *net.Resolver { return kit.NewResolver(e.DNS) }

// Link returns the link called name; the error names the valid links.
func (e Endpoints) Link(name string) (Link, error) { return FindLink(e.Links, name) }

// FindLink returns the link called name among links; the error names the
// valid ones.
func FindLink(links []Link, name string) (Link, error) {
	names := make([]string, 0, len(links))
	for _, l := range links {
		if l.Name == name {
			return l, nil
		}
		names = append(names, l.Name)
	}
	return Link{}, fmt.Errorf("%w %q: valid links are %s", ErrUnknownLink, name, strings.Join(names, ", "))
}

// AdminURL returns the admin API of instance; the error names the valid
// instances.
func (e Endpoints) AdminURL(instance string) (string, error) {
	if u, ok := e.Admin[instance]; ok {
		return u, nil
	}
	names := make([]string, 0, len(e.Admin))
	for n := range e.Admin {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("%w %q: valid services are %s", ErrUnknownService, instance, strings.Join(names, ", "))
}

// Instances lists the instance names with an admin API, sorted.
func (e Endpoints) Instances() []string {
	names := make([]string, 0, len(e.Admin))
	for n := range e.Admin {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func joinStrings[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
