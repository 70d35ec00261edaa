package dnsrace_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/mocks/dnsenactor"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// The fixture is a small in-process stack: an in-memory Route53
// (dnsplan.MemStore) served as authoritative DNS on UDP and TCP by a miekg/dns
// server, three load balancers answering GET / with 200 on 127.0.1.1-3, the
// planner and the three Enactors. It stands in for the harness's embedded
// backend and the route53 mock, neither of which had landed when this suite
// was written; swapping them in changes only this file.

// lbSet is ddb-lb-a/b/c: HTTP servers answering 200 on 127.0.1.1-3, one port.
type lbSet struct {
	port    int
	servers []*kit.HTTPServer
	down    [3]atomic.Bool
}

var lbNames = []string{"ddb-lb-a", "ddb-lb-b", "ddb-lb-c"}
var lbIPs = []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"}

func startLBs() (*lbSet, error) {
	for attempt := 0; attempt < 20; attempt++ {
		ln, err := net.Listen("tcp", lbIPs[0]+":0")
		if err != nil {
			return nil, fmt.Errorf("listen on %s (is 127.0.0.0/8 routed to lo?): %w", lbIPs[0], err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{ln}
		for _, ip := range lbIPs[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				break
			}
			lns = append(lns, l)
		}
		if len(lns) < 3 {
			for _, l := range lns {
				_ = l.Close()
			}
			continue
		}
		set := &lbSet{port: port}
		for i, l := range lns {
			set.servers = append(set.servers, kit.ServeHTTP(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if set.down[i].Load() {
					http.Error(w, "unhealthy", http.StatusServiceUnavailable)
					return
				}
				_, _ = fmt.Fprintf(w, "healthy: %s\n", lbNames[i])
			})))
		}
		return set, nil
	}
	return nil, errors.New("no port free on 127.0.1.1-3")
}

func (l *lbSet) Close() {
	for _, s := range l.servers {
		_ = s.Close()
	}
}

func (l *lbSet) configs() []dnsplanner.LBConfig {
	var out []dnsplanner.LBConfig
	for i := range lbNames {
		out = append(out, dnsplanner.LBConfig{Name: lbNames[i], IP: lbIPs[i]})
	}
	return out
}

// dnsServer answers A queries from the store as Route53 would: it follows
// CNAMEs inside its zones, answers authoritatively, NXDOMAIN when the chain
// ends nowhere.
type dnsServer struct {
	store atomic.Pointer[dnsplan.MemStore]
	udp   *dns.Server
	tcp   *dns.Server
	addr  string
}

func startDNS() (*dnsServer, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	s := &dnsServer{addr: ln.Addr().String()}
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h}
	var started sync.WaitGroup
	started.Add(2)
	s.udp.NotifyStartedFunc = started.Done
	s.tcp.NotifyStartedFunc = started.Done
	go func() { _ = s.udp.ActivateAndServe() }()
	go func() { _ = s.tcp.ActivateAndServe() }()
	started.Wait()
	return s, nil
}

func (s *dnsServer) Close() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

func (s *dnsServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	st := s.store.Load()
	if st == nil || len(req.Question) != 1 {
		m.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	zones := st.ZoneIDs()
	name := dnsplan.Canonical(q.Name)
	ctx := context.Background()
	found := false
	for hop := 0; hop < 8; hop++ {
		found = false // the rcode speaks of the chain's last name
		zone := ""
		for z := range zones {
			if dnsplan.InSubtree(name, z) && len(z) > len(zone) {
				zone = z
			}
		}
		if zone == "" {
			break
		}
		zid := zones[zone]
		if c, ok, _ := dnsplan.ReadRecord(ctx, st, zid, name, dnsplan.TypeCNAME); ok && q.Qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: uint32(c.TTL)}, Target: c.Values[0]})
			name = dnsplan.Canonical(c.Values[0])
			found = true
			continue
		}
		page, _ := st.List(ctx, zid, dnsplan.Cursor{Name: name}, 20)
		for _, r := range page.Records {
			if dnsplan.Canonical(r.Name) != name {
				break
			}
			found = true
			if r.Type == dnsplan.TypeA && q.Qtype == dns.TypeA && (r.SetID == "" || r.Weight > 0) {
				for _, v := range r.Values {
					m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: uint32(r.TTL)}, A: net.ParseIP(v).To4()})
				}
			}
		}
		break
	}
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

// latencyStore delays every call of one Enactor to Route53 by a seeded random
// latency: the in-process stand-in for a toxiproxy latency toxic (latency +
// jitter) on the link dnsenactor-a__route53.
type latencyStore struct {
	dnsplan.Store
	mu      sync.Mutex
	rng     *rand.Rand
	latency time.Duration
	jitter  time.Duration
}

func (l *latencyStore) delay(ctx context.Context) error {
	l.mu.Lock()
	d := l.latency
	if l.jitter > 0 {
		d += time.Duration(l.rng.Int63n(int64(2*l.jitter))) - l.jitter
	}
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *latencyStore) List(ctx context.Context, zoneID string, start dnsplan.Cursor, max int) (dnsplan.Page, error) {
	if err := l.delay(ctx); err != nil {
		return dnsplan.Page{}, err
	}
	return l.Store.List(ctx, zoneID, start, max)
}

func (l *latencyStore) Change(ctx context.Context, zoneID string, changes []dnsplan.Change) error {
	if err := l.delay(ctx); err != nil {
		return err
	}
	return l.Store.Change(ctx, zoneID, changes)
}

func (l *latencyStore) Zones(ctx context.Context, create bool) (dnsplan.ZoneIDs, error) {
	return l.Store.(dnsplan.ZoneLister).Zones(ctx, create)
}

// stackOptions shape one fixture.
type stackOptions struct {
	mode  kit.Mode
	speed kit.Speed
	keep  uint64
	// loops run the planner's and the Enactors' own loops (probabilistic and
	// randomized schedules); without them the spec drives every step.
	loops          bool
	planPeriod     time.Duration
	healthInterval time.Duration
	enactorPeriod  [3]time.Duration
	latency        [3]time.Duration // per Enactor, wall
	jitter         [3]time.Duration
	seed           int64
	accounts       []string
	synthetic      int
}

// stack is one fresh automation over a fresh store.
type stack struct {
	opts       stackOptions
	clock      *kit.ScaledClock
	store      *dnsplan.MemStore
	zones      dnsplan.ZoneIDs
	dnsAddr    string
	lbPort     int
	planner    *dnsplanner.Server
	enactors   []*dnsenactor.Server
	envs       []*kit.Env // enactors' envs, a..c
	eps        []dnsplan.Endpoint
	events     *eventLog
	cancel     context.CancelFunc
	stopEvents []func()
}

// eventLog collects every service's events.
type eventLog struct {
	mu     sync.Mutex
	events []kit.Event
}

func (l *eventLog) Write(p []byte) (int, error) { return len(p), nil }

func (l *eventLog) follow(env *kit.Env) func() {
	ch, cancel := env.Events.Subscribe(65536)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
		}
	}()
	return func() { cancel(); <-done }
}

func (l *eventLog) matching(kind string, fields map[string]any) []kit.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []kit.Event
next:
	for _, ev := range l.events {
		if ev.Kind != kind {
			continue
		}
		for k, v := range fields {
			if fmt.Sprint(ev.Fields[k]) != fmt.Sprint(v) {
				continue next
			}
		}
		out = append(out, ev)
	}
	return out
}

func newStack(dnsSrv *dnsServer, lbs *lbSet, o stackOptions) (*stack, error) {
	if o.speed == 0 {
		o.speed = 1000
	}
	if o.keep == 0 {
		o.keep = 3
	}
	if o.planPeriod == 0 {
		o.planPeriod = time.Minute
	}
	if o.healthInterval == 0 {
		o.healthInterval = 10 * time.Second
	}
	if o.accounts == nil {
		o.accounts = []string{"111122223333"}
	}
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, o.speed)
	st := dnsplan.NewMemStore(dnsplan.Zones...)
	dnsSrv.store.Store(st)
	s := &stack{opts: o, clock: clock, store: st, zones: st.ZoneIDs(), dnsAddr: dnsSrv.addr, lbPort: lbs.port, events: &eventLog{}}
	var err error
	if s.eps, err = dnsplan.Endpoints(o.accounts, o.synthetic); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	var stops []func()
	penv := kit.NewEnv("dnsplanner", clock, nil, o.seed)
	stops = append(stops, s.events.follow(penv))
	s.planner, err = dnsplanner.New(dnsplanner.Config{
		Store: st, LBs: lbs.configs(), LBPort: lbs.port, Period: o.planPeriod, HealthInterval: o.healthInterval,
		Accounts: o.accounts, SyntheticEndpoints: o.synthetic, Disabled: !o.loops,
	}, penv)
	if err != nil {
		return nil, err
	}
	for i, n := range []string{"a", "b", "c"} {
		env := kit.NewEnv("dnsenactor-"+n, clock, nil, o.seed+int64(i)*7)
		stops = append(stops, s.events.follow(env))
		var store dnsplan.Store = st
		if o.latency[i] > 0 || o.jitter[i] > 0 {
			store = &latencyStore{Store: st, rng: rand.New(rand.NewSource(o.seed + int64(i))), latency: o.latency[i], jitter: o.jitter[i]}
		}
		period := o.enactorPeriod[i]
		if period == 0 {
			period = time.Minute
		}
		e, err := dnsenactor.New(dnsenactor.Config{
			Store: store, Mode: o.mode, Period: period, KeepGenerations: o.keep, Accounts: o.accounts,
			SyntheticEndpoints: o.synthetic, Disabled: !o.loops,
		}, env)
		if err != nil {
			return nil, err
		}
		s.enactors = append(s.enactors, e)
		s.envs = append(s.envs, env)
	}
	for _, svc := range append([]kit.Service{s.planner}, enactorServices(s.enactors)...) {
		if err := svc.Start(ctx); err != nil {
			return nil, err
		}
	}
	s.stopEvents = stops
	return s, nil
}

func enactorServices(es []*dnsenactor.Server) []kit.Service {
	var out []kit.Service
	for _, e := range es {
		out = append(out, e)
	}
	return out
}

// Close stops every service (releasing paused failpoints) and the event followers.
func (s *stack) Close() {
	for _, env := range s.envs {
		env.Failpoints.DisableAll()
	}
	s.cancel()
	for _, e := range s.enactors {
		_ = e.Close()
	}
	_ = s.planner.Close()
	for _, stop := range s.stopEvents {
		stop()
	}
}

func (s *stack) endpoint(ctx context.Context, ep dnsplan.Endpoint) (dnsplan.EndpointState, error) {
	return dnsplan.ReadEndpoint(ctx, s.store, s.zones, ep)
}

// lookupA asks the stack's DNS for name's A records with miekg/dns over UDP.
func lookupA(dnsAddr, name string) ([]string, int, error) {
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	resp, _, err := c.Exchange(m, dnsAddr)
	if err != nil {
		return nil, 0, err
	}
	var ips []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	return ips, resp.Rcode, nil
}
