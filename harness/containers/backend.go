package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/harness/containers/reaper"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Backend names registered with harness.RegisterBackend.
const (
	Name        = "containers"
	ComposeName = "compose"
)

func init() {
	engine.DisableRyuk()
	harness.RegisterBackend(Name, func(ctx context.Context, o harness.Options) (harness.Stack, error) {
		s, err := Start(ctx, o)
		if s == nil {
			return nil, err // a typed nil must not reach harness.Start as a Stack
		}
		return s, err
	})
	harness.RegisterBackend(ComposeName, func(ctx context.Context, o harness.Options) (harness.Stack, error) {
		s, err := AttachCompose(ctx, ComposeProject(o))
		if s == nil {
			return nil, err
		}
		if err == nil && len(o.Attach) > 0 {
			err = s.attachCompose(ctx, o.Attach)
		}
		return s, err
	})
	if os.Getenv("CASCADE_TESTCONTAINERS_LOG") == "" {
		// testcontainers logs every container's creation and start; a stack
		// is 16 containers. CASCADE_TESTCONTAINERS_LOG=1 brings it back.
		tclog.SetDefault(tclog.NewNoopLogger())
	}
}

// startTimeout bounds one container's start, /healthz included.
const startTimeout = 90 * time.Second

// Start starts a stack of containers for o: it reaps what dead runs left,
// builds the images if they are missing, creates the stack's network and
// starts the containers wave by wave (the proxies, DNS and DynamoDB, then
// the services that use them). On error it returns the half-started stack
// with the error, so the caller can Close it (harness.Start does).
func Start(ctx context.Context, o harness.Options) (*Stack, error) {
	if o.Name == "" {
		var err error
		if o, err = harness.NewOptions(func(n *harness.Options) error { *n = o; return nil }); err != nil {
			return nil, err
		}
	}
	if o.Speed <= 0 {
		o.Speed = harness.DefaultSpeed
	}
	if o.IncidentStart.IsZero() {
		o.IncidentStart = kit.IncidentStart
	}
	cli, err := engine.Connect(ctx)
	if err != nil {
		return nil, err
	}
	// Reaping dead runs' leftovers is a courtesy, not a precondition: the
	// engine can keep a removed stack's network with a phantom endpoint
	// ("has active endpoints" with no container on it) until it restarts,
	// and that must not stop every later stack (createNetwork skips a
	// subnet still taken).
	reaped, reapErr := engine.Reap(ctx, cli, engine.ReapOptions{})
	if ctx.Err() != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("reap leftovers: %w", ctx.Err())
	}
	imgs, err := engine.EnsureImages(ctx, cli)
	if err != nil {
		_ = cli.Close()
		return nil, err
	}

	run := engine.NewRunID()
	labels := map[string]string{
		engine.LabelRun:   run,
		engine.LabelOwner: engine.Owner(),
		"cascade.stack":   o.Name,
	}
	// The reaper first, before anything it would have to remove: from here
	// on a killed process leaves nothing behind for longer than the grace.
	// It starts before the clock's epoch is chosen, so its start (a few
	// seconds under load) does not make the incident clock late.
	rp, rpEvent, err := startReaper(ctx, cli, imgs.MockAWS, o.Name, run, labels)
	if err != nil {
		if rp != nil && rp.ID != "" {
			_ = reaper.RemoveContainer(context.WithoutCancel(ctx), cli, rp.ID)
		}
		_ = cli.Close()
		return nil, err
	}

	// The incident clock reads IncidentStart when the stack is ready, as on
	// the embedded backend (which starts in ~50 ms): the containers share an
	// epoch set ahead by the expected start time, and Start waits for it.
	// An epoch of now would spend the 5-7 s start, 1.5-2.5 h of incident
	// time at the replay's speed, before anything can observe the stack.
	began := time.Now()
	lead := clockLead()
	epoch := began.Add(lead).Truncate(time.Millisecond) // the containers get it in ms
	clock := kit.NewScaledClock(epoch, o.IncidentStart, o.Speed)
	s := newStack(o.Name, Name, cli, clock, kit.NewEvents(o.Name, clock, o.EventOutput))
	s.run, s.reaper = run, rp
	s.EventHub().Publish(kit.Event{Time: clock.Now(), Service: "harness", Kind: rpEvent.kind, Fields: rpEvent.fields})
	s.ownsServices, s.ownsNetwork = true, true
	if !reaped.Empty() {
		s.publish("harness", "leftovers-reaped")
	}
	if reapErr != nil {
		s.EventHub().Publish(kit.Event{Time: clock.Now(), Service: "harness", Kind: "leftovers-not-reaped",
			Fields: map[string]any{"error": reapErr.Error()}})
	}

	subnet, netName, err := createNetwork(ctx, cli, o.Name, labels)
	if err != nil {
		return s, err
	}
	s.network = netName
	topo, err := newTopology(o, subnet, imagesRef{mockaws: imgs.MockAWS, toxiproxy: imgs.Toxiproxy}, epoch.UnixMilli())
	if err != nil {
		return s, err
	}

	s.UpdateEndpoints(func(ep *harness.Endpoints) {
		*ep = harness.Endpoints{
			Name:          o.Name,
			Backend:       Name,
			DynamoDBHost:  awsclient.DynamoDBHost,
			Admin:         map[string]string{},
			LoadBalancers: topo.lbs,
			Clock:         harness.ClockInfo{Epoch: epoch, IncidentStart: o.IncidentStart, Speed: o.Speed},
		}
		for _, sp := range topo.specs {
			if sp.kind != "toxiproxy" {
				fillEndpoint(ep, sp.name, sp.kind, sp.ip)
			}
		}
	})

	for wave := 0; wave <= 1; wave++ {
		var specs []*spec
		for _, sp := range topo.specs {
			if sp.wave == wave {
				specs = append(specs, sp)
			}
		}
		if err := s.startWave(ctx, specs, netName, labels); err != nil {
			return s, err
		}
		if wave == 0 {
			if err := s.createProxies(ctx, topo); err != nil {
				return s, err
			}
		}
	}
	// As the embedded backend: ready once every admin API answers and, with
	// the DNS automation running, the regional endpoint resolves.
	resolve := o.Wants(harness.Route53Svc) && o.Wants(harness.DNSPlannerSvc) && o.Wants(harness.DNSEnactorSvc)
	rctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := harness.WaitReady(rctx, s.Endpoints(), resolve); err != nil {
		return s, err
	}
	if len(o.Attach) > 0 {
		dns, ok := topo.byName[harness.Route53Svc]
		if !ok {
			return s, fmt.Errorf("%w: attached containers resolve through the mock DNS: start route53 too", harness.ErrBadAttach)
		}
		ip := func(i int) netip.Addr { return hostIP(subnet, attachHostBase+i) }
		if err := s.attachAll(ctx, o.Attach, dns.ip, ip, labels); err != nil {
			return s, err
		}
	}
	took := time.Since(began)
	recordStart(took)
	if late := time.Since(epoch); late > 0 {
		// Started slower than expected: the clock is already past
		// IncidentStart. Said in the event stream, not hidden.
		s.EventHub().Publish(kit.Event{Time: clock.Now(), Service: "harness", Kind: "clock-late",
			Fields: map[string]any{"wall": late.String(), "incident": o.Speed.ToIncident(late).String(), "start": took.String()}})
		return s, nil
	}
	select {
	case <-ctx.Done():
		return s, ctx.Err()
	case <-time.After(time.Until(epoch)):
	}
	return s, nil
}

// defaultClockLead is the first stack's expected start time (5-7 s
// measured on the 2-core machines, images present).
const defaultClockLead = 7 * time.Second

var lastStart atomic.Int64 // nanoseconds of the process's latest start

// clockLead is how far ahead of now a new stack's epoch is set: a little
// more than the process's previous start took, else defaultClockLead.
func clockLead() time.Duration {
	if d := time.Duration(lastStart.Load()); d > 0 {
		return max(d*5/4, 2*time.Second)
	}
	return defaultClockLead
}

func recordStart(d time.Duration) { lastStart.Store(int64(d)) }

// startWave starts containers in parallel and waits for all of them.
func (s *Stack) startWave(ctx context.Context, specs []*spec, netName string, labels map[string]string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	for i, sp := range specs {
		u := &unit{name: sp.name, kind: sp.kind, ip: sp.ip.String(), service: sp.kind != "toxiproxy", state: harness.Stopped}
		u.sink = &eventSink{instance: sp.name, hub: s.EventHub()}
		s.addUnit(u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.runContainer(ctx, u, sp, netName, labels)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Stack) runContainer(ctx context.Context, u *unit, sp *spec, netName string, labels map[string]string) error {
	l := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		l[k] = v
	}
	l[engine.LabelService] = sp.name
	ip := sp.ip
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithName(s.Name() + "-" + sp.name),
		testcontainers.WithCmd(sp.args...),
		testcontainers.WithEnv(sp.env),
		testcontainers.WithLabels(l),
		testcontainers.CustomizeRequest(testcontainers.GenericContainerRequest{ContainerRequest: testcontainers.ContainerRequest{
			Networks:       []string{netName},
			NetworkAliases: map[string][]string{netName: {sp.name}},
		}}),
		testcontainers.WithEndpointSettingsModifier(func(m map[string]*network.EndpointSettings) {
			if es := m[netName]; es != nil {
				es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
			}
		}),
		testcontainers.WithWaitStrategy(&httpReady{port: sp.readyPort, path: sp.readyPath, timeout: startTimeout}),
	}
	if u.service {
		opts = append(opts, testcontainers.WithLogConsumerConfig(&testcontainers.LogConsumerConfig{
			Opts:      []testcontainers.LogProductionOption{testcontainers.WithLogProductionTimeout(60 * time.Second)},
			Consumers: []testcontainers.LogConsumer{u.sink},
		}))
	}
	// testcontainers follows the logs under the context given to Run, so
	// it must outlive the caller's (a BeforeAll's context ends with it);
	// the wait strategy bounds the start instead.
	c, err := testcontainers.Run(context.WithoutCancel(ctx), sp.image, opts...)
	if c != nil {
		u.tc = c
		u.id = c.GetContainerID()
	}
	if err != nil {
		if tail := u.sink.Tail(); tail != "" {
			err = fmt.Errorf("%w; its output: %s", err, tail)
		}
		return fmt.Errorf("start %s: %w", sp.name, err)
	}
	u.setState(harness.Running)
	return nil
}

// createProxies creates the load balancers (one proxy in each ddb-lb
// container, on the DynamoDB port) and the links (in the toxiproxy
// container), and serves the merged API.
func (s *Stack) createProxies(ctx context.Context, topo *topology) error {
	owners := map[string]string{}
	var links []harness.Link
	for _, lb := range topo.lbs {
		api := fmt.Sprintf("http://%s:%d", lb.IP, toxiproxyPort)
		upstream := hostPort(topo.ip("dynamodb"), dynamoDBPort)
		if _, err := toxiclient.NewClient(api).CreateProxy(lb.Name, fmt.Sprintf("0.0.0.0:%d", dynamoDBPort), upstream); err != nil {
			return fmt.Errorf("load balancer %s: %w", lb.Name, err)
		}
		owners[lb.Name] = api
		links = append(links, harness.Link{Name: lb.Name, From: "clients", To: harness.DynamoDBSvc, Listen: lb.Addr, Upstream: upstream})
	}
	main := fmt.Sprintf("http://%s:%d", topo.ip("toxiproxy"), toxiproxyPort)
	tc := toxiclient.NewClient(main)
	for _, l := range topo.links {
		if _, err := tc.CreateProxy(l.Name, fmt.Sprintf("0.0.0.0:%d", l.port), l.Upstream); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		links = append(links, l.Link)
	}
	if err := s.startRouter(main, owners); err != nil {
		return err
	}
	s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.Links = links })
	return nil
}

// createNetwork creates the stack's bridge network on a free /24 of
// 10.200.0.0/13: the engine refuses a subnet that overlaps another
// network's, so candidates are tried until one is accepted.
func createNetwork(ctx context.Context, cli *engine.Client, name string, labels map[string]string) (netip.Prefix, string, error) {
	start := int(time.Now().UnixNano()/1000) % 2048
	var last error
	for i := 0; i < 64; i++ {
		n := (start + i*37) % 2048
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + n/256), byte(n % 256), 0}), 24)
		_, err := cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
			Driver: "bridge",
			Labels: labels,
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{
				Subnet:  subnet,
				Gateway: hostIP(subnet, 1),
			}}},
		})
		if err == nil {
			return subnet, name, nil
		}
		last = err
		if !strings.Contains(err.Error(), "overlap") {
			break
		}
	}
	return netip.Prefix{}, "", fmt.Errorf("create network %s: %w", name, last)
}

// ComposeProjectEnv names the compose project the "compose" backend
// attaches to when the stack's name does not (CASCADE_COMPOSE_PROJECT).
const ComposeProjectEnv = "CASCADE_COMPOSE_PROJECT"

// DefaultComposeProject is the project name of compose/docker-compose.yml.
const DefaultComposeProject = "cascade"

// ComposeProject is the compose project the "compose" backend attaches to:
// CASCADE_COMPOSE_PROJECT, else the stack name given with harness.WithName,
// else "cascade".
func ComposeProject(o harness.Options) string {
	if p := os.Getenv(ComposeProjectEnv); p != "" {
		return p
	}
	if o.Name != "" && !strings.HasPrefix(o.Name, "cascade-") {
		return o.Name
	}
	return DefaultComposeProject
}

var _ io.Writer = (*eventSink)(nil)
