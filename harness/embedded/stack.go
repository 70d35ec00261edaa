package embedded

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Name is the backend's registered name.
const Name = "embedded"

func init() {
	harness.RegisterBackend(Name, func(ctx context.Context, o harness.Options) (harness.Stack, error) {
		if err := harness.CheckNoAttach(o, Name); err != nil {
			return nil, err
		}
		s, err := New(ctx, o)
		if err != nil {
			// New has released everything and returns a nil *Stack: as a
			// harness.Stack that would be a non-nil interface holding nil,
			// which harness.Start would Close.
			return nil, err
		}
		return s, nil
	})
}

// ReadyTimeout bounds how long New waits for the stack to be ready (every
// admin API healthy, the regional endpoint resolving).
var ReadyTimeout = 10 * time.Second

// Stack is a stack running in this process. It implements harness.Stack.
type Stack struct {
	*harness.StackBase // the merged event stream gathers every unit's

	o       harness.Options
	tox     *toxiproxy.ApiServer
	toxHTTP *kit.HTTPServer

	mu     sync.Mutex
	units  []*unit
	byName map[string]*unit
	lbPort int

	closeOnce sync.Once
	closeErr  error
}

var _ harness.Stack = (*Stack)(nil)

// New starts a stack with o (use harness.Start, which fills the defaults).
// On error it has released everything it started.
func New(ctx context.Context, o harness.Options) (s *Stack, err error) {
	if o.Speed <= 0 {
		o.Speed = harness.DefaultSpeed
	}
	if o.IncidentStart.IsZero() {
		o.IncidentStart = kit.IncidentStart
	}
	if o.Name == "" {
		if o, err = harness.NewOptions(func(n *harness.Options) error { *n = o; return nil }); err != nil {
			return nil, err
		}
	}
	for _, k := range o.Services {
		if !slices.Contains(harness.ServiceKinds, k) {
			return nil, fmt.Errorf("%w %q", harness.ErrUnknownService, k)
		}
	}
	clock := kit.NewScaledClock(time.Now(), o.IncidentStart, o.Speed)
	s = &Stack{
		StackBase: harness.NewStackBase(harness.Endpoints{
			Name:         o.Name,
			Backend:      Name,
			DynamoDBHost: awsclient.DynamoDBHost,
			Admin:        map[string]string{},
			Clock:        harness.ClockInfo{Epoch: clock.WallStart(), IncidentStart: o.IncidentStart, Speed: o.Speed},
		}, clock, kit.NewEvents(o.Name, clock, o.EventOutput)),
		o:      o,
		byName: map[string]*unit{},
	}
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
			s = nil
		}
	}()
	s.tox = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	if s.toxHTTP, err = kit.StartHTTP("127.0.0.1:0", s.tox.Routes()); err != nil {
		return s, fmt.Errorf("toxiproxy: %w", err)
	}
	s.SetToxiproxy(s.toxHTTP.URL())
	if err = s.startServices(ctx); err != nil {
		return s, err
	}
	resolve := o.Wants(harness.Route53Svc) && o.Wants(harness.DNSPlannerSvc) && o.Wants(harness.DNSEnactorSvc)
	rctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err = harness.WaitReady(rctx, s.Endpoints(), resolve); err != nil {
		return s, err
	}
	return s, nil
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// addUnit creates, registers and starts a service instance.
// Its seed is the catalogue's for its name (catalogue.InstanceSeed).
func (s *Stack) addUnit(ctx context.Context, name string, seed int64, build func(env *kit.Env) (kit.Service, error), pin func(kit.Service)) (*unit, error) {
	u := &unit{
		name:  name,
		kind:  harness.KindOf(name),
		env:   kit.NewEnv(name, s.Clock(), nil, seed),
		seed:  seed,
		build: build,
		pin:   pin,
		state: harness.Stopped,
	}
	ch, unsub := u.env.Events.Subscribe(4096)
	u.unsub = unsub
	go func() {
		for ev := range ch {
			s.EventHub().Publish(ev)
		}
	}()
	u.setHandler(kit.NewAdminMux(u.env, func() error { return errStopped }))
	admin, err := kit.StartHTTP("127.0.0.1:0", u)
	if err != nil {
		unsub()
		return nil, fmt.Errorf("%s admin: %w", name, err)
	}
	u.admin = admin
	s.mu.Lock()
	s.units = append(s.units, u)
	s.byName[name] = u
	s.mu.Unlock()
	s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.Admin[name] = admin.URL() })
	if err := u.start(ctx); err != nil {
		return u, err
	}
	return u, nil
}

// addLink creates a toxiproxy proxy listening on listen ("127.0.0.1:0" picks
// a port) and forwarding to upstream; it returns the address it listens on.
func (s *Stack) addLink(name, from, to, listen, upstream string) (string, error) {
	p := toxiproxy.NewProxy(s.tox, name, listen, upstream)
	if err := s.tox.Collection.Add(p, true); err != nil {
		return "", fmt.Errorf("link %s: %w", name, err)
	}
	s.UpdateEndpoints(func(ep *harness.Endpoints) {
		ep.Links = append(ep.Links, harness.Link{Name: name, From: from, To: to, Listen: p.Listen, Upstream: upstream})
	})
	return p.Listen, nil
}

// addLoadBalancers creates ddb-lb-a/b/c on 127.0.1.1-3, all on one port: a
// free port on 127.0.1.1, retried when .2 or .3 already use it.
func (s *Stack) addLoadBalancers(upstream string) error {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		var created []string
		port := 0
		ok := true
		for i, az := range harness.AZs {
			name := harness.LoadBalancerName(az)
			listen := net.JoinHostPort(harness.LoadBalancerIP(i), strconv.Itoa(port))
			p := toxiproxy.NewProxy(s.tox, name, listen, upstream)
			if err := s.tox.Collection.Add(p, true); err != nil {
				lastErr = err
				ok = false
				break
			}
			created = append(created, name)
			if port == 0 {
				_, ps, _ := net.SplitHostPort(p.Listen)
				port, _ = strconv.Atoi(ps)
			}
		}
		if !ok {
			for _, n := range created {
				_ = s.tox.Collection.Remove(n)
			}
			continue
		}
		s.mu.Lock()
		s.lbPort = port
		s.mu.Unlock()
		s.UpdateEndpoints(func(ep *harness.Endpoints) {
			ep.DynamoDBPort = port
			ep.LoadBalancers = nil
			for i, az := range harness.AZs {
				ip := harness.LoadBalancerIP(i)
				addr := net.JoinHostPort(ip, strconv.Itoa(port))
				name := harness.LoadBalancerName(az)
				ep.LoadBalancers = append(ep.LoadBalancers, harness.LoadBalancer{Name: name, IP: ip, Addr: addr, AZ: az})
				ep.Links = append(ep.Links, harness.Link{Name: name, From: "clients", To: harness.DynamoDBSvc, Listen: addr, Upstream: upstream})
			}
		})
		return nil
	}
	return fmt.Errorf("dynamodb load balancers on 127.0.1.1-3: no common free port: %w", lastErr)
}

// Options are the options the stack was started with.
func (s *Stack) Options() harness.Options { return s.o }

// Services lists the service instances in start order.
func (s *Stack) Services() []harness.Service {
	s.mu.Lock()
	units := slices.Clone(s.units)
	s.mu.Unlock()
	out := make([]harness.Service, 0, len(units))
	for _, u := range units {
		out = append(out, harness.Service{Name: u.name, Kind: u.kind, Admin: u.admin.URL(), State: u.getState(), Seed: u.seed})
	}
	return out
}

// Server returns the running server of an instance (e.g. *dwfm.Server), for
// embedders and tests that inspect a service in-process; nil when stopped.
func (s *Stack) Server(instance string) kit.Service {
	s.mu.Lock()
	u := s.byName[instance]
	s.mu.Unlock()
	if u == nil {
		return nil
	}
	return u.service()
}

func (s *Stack) unit(instance string) (*unit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.byName[instance]; ok {
		return u, nil
	}
	names := make([]string, 0, len(s.units))
	for _, u := range s.units {
		names = append(names, u.name)
	}
	return nil, fmt.Errorf("%w %q: valid services are %v", harness.ErrUnknownService, instance, names)
}

// pauseToxics are the toxics that hold every byte of every link into a
// paused service, both ways, until it resumes.
var pauseToxics = []string{"cascade-pause-up", "cascade-pause-down"}

// Control stops, starts, pauses, resumes or restarts a service instance. A
// stop releases the service's ports and a start binds the same ones again;
// state held in memory (Route53's zones, DynamoDB's tables) is lost, as with
// a container restart. Pause holds all traffic on the links into the
// service; a service reached without a link (the DNS server) cannot pause.
func (s *Stack) Control(ctx context.Context, instance string, action harness.Action) error {
	u, err := s.unit(instance)
	if err != nil {
		return err
	}
	switch action {
	case harness.ActionStop:
		return u.stop()
	case harness.ActionStart:
		return u.start(ctx)
	case harness.ActionRestart:
		if err := u.stop(); err != nil {
			return err
		}
		return u.start(ctx)
	case harness.ActionPause, harness.ActionResume:
		var inbound []harness.Link
		for _, l := range s.Links() {
			if l.To == instance {
				inbound = append(inbound, l)
			}
		}
		if len(inbound) == 0 {
			return fmt.Errorf("%s %s: no link leads to it: %w", action, instance, harness.ErrUnsupported)
		}
		for _, l := range inbound {
			for i, name := range pauseToxics {
				if action == harness.ActionResume {
					_ = s.Toxiproxy().RemoveToxic(&toxiclient.ToxicOptions{ProxyName: l.Name, ToxicName: name})
					continue
				}
				stream := "upstream"
				if i == 1 {
					stream = "downstream"
				}
				if _, err := s.Toxiproxy().AddToxic(&toxiclient.ToxicOptions{ProxyName: l.Name, ToxicName: name, ToxicType: "timeout", Stream: stream, Toxicity: 1, Attributes: toxiclient.Attributes{"timeout": 0}}); err != nil {
					return fmt.Errorf("pause %s: %w", instance, err)
				}
			}
		}
		if action == harness.ActionPause {
			u.setState(harness.Paused)
			u.env.Events.Emit("paused")
		} else {
			u.setState(harness.Running)
			u.env.Events.Emit("resumed")
		}
		return nil
	}
	_, err = harness.ParseAction(string(action))
	return err
}

// Close stops every service (dependents first), every proxy and the
// toxiproxy and admin servers.
func (s *Stack) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		units := slices.Clone(s.units)
		s.mu.Unlock()
		// Every unit at once (see harness.InParallel).
		errs := []error{harness.InParallel(units, (*unit).stop)}
		if s.tox != nil {
			_ = s.tox.Collection.Clear()
		}
		if s.toxHTTP != nil {
			errs = append(errs, s.toxHTTP.Close())
		}
		for _, u := range units {
			errs = append(errs, u.admin.Close())
			u.unsub()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
