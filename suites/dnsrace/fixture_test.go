package dnsrace_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/mocks/dnsenactor"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/admin"
	"github.com/cascade-lab/cascade/suites/framework"
)

// The fixture is the harness's stack with the DNS services only (route53
// serving real DNS and the Route53 API, DynamoDB behind ddb-lb-a/b/c, the
// planner and the three Enactors), started by harness.Start on the backend
// CASCADE_BACKEND names (embedded by default). The suite drives it only
// through what works from another process: the services' admin APIs
// (POST /admin/run, /admin/generate, /admin/disable), failpoints, toxics and
// operator actions through a harness/faults ledger, Route53 through the SDK,
// DNS through miekg/dns.

// dnsServices is the DNS-only subset of the stack.
var dnsServices = []string{harness.Route53Svc, harness.DynamoDBSvc, harness.DNSPlannerSvc, harness.DNSEnactorSvc}

// enactors are the Enactor instances, A to C.
var enactors = []string{"dnsenactor-a", "dnsenactor-b", "dnsenactor-c"}

// stackOptions shape one stack.
type stackOptions struct {
	mode  kit.Mode
	speed kit.Speed
	seed  int64
	keep  uint64
	// loops leaves the planner and the Enactors on their own loops
	// (probabilistic and randomized schedules); without it the spec drives
	// every generation and every run.
	loops          bool
	planPeriod     time.Duration    // incident
	healthInterval time.Duration    // incident
	enactorPeriod  [3]time.Duration // incident
	retryBackoff   time.Duration    // incident
	accounts       []string
	synthetic      int
}

func (o *stackOptions) defaults() {
	if o.speed == 0 {
		o.speed = 30
	}
	if o.keep == 0 {
		o.keep = 3
	}
	if o.accounts == nil {
		o.accounts = []string{"111122223333"}
	}
	if !o.loops {
		// The planner writes its first generation at start and then only
		// when asked; the Enactors apply it on a short period until the
		// stack is ready, then the spec disables their loops.
		o.planPeriod, o.healthInterval = 10000*time.Hour, 10000*time.Hour
		o.enactorPeriod = [3]time.Duration{time.Minute, time.Minute, time.Minute}
	}
}

// stack is one running stack of the DNS services.
type stack struct {
	harness.Stack
	fw     *framework.Run
	opts   stackOptions
	ep     harness.Endpoints
	ledger *faults.Ledger
	store  *dnsplan.Route53Store
	zones  dnsplan.ZoneIDs
	eps    []dnsplan.Endpoint
	events *eventLog
	http   *http.Client
}

// newStack starts a stack; the caller closes it (also on error, when it is
// not nil).
func newStack(ctx context.Context, o stackOptions) (*stack, error) {
	skipOnSim()
	o.defaults()
	tune := func(instance string, cfg any) {
		switch c := cfg.(type) {
		case *dnsplanner.Config:
			c.Accounts, c.SyntheticEndpoints = o.accounts, o.synthetic
			c.Period, c.HealthInterval = o.planPeriod, o.healthInterval
		case *dnsenactor.Config:
			c.Accounts, c.SyntheticEndpoints, c.KeepGenerations = o.accounts, o.synthetic, o.keep
			c.RetryBackoff = o.retryBackoff
			for i, n := range enactors {
				if n == instance {
					c.Period = o.enactorPeriod[i]
				}
			}
		}
	}
	run, err := framework.Open(ctx, framework.WithoutTimeline(), framework.WithStack(
		harness.WithServices(dnsServices...),
		harness.Variant(variant(o.mode)),
		harness.WithSpeed(o.speed),
		harness.WithSeed(o.seed),
		harness.WithTune(tune)))
	if err != nil {
		return nil, err
	}
	hs := run.Stack
	s := &stack{Stack: hs, fw: run, opts: o, ep: hs.Endpoints(), ledger: run.Ledger, events: &eventLog{},
		http: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	s.events.follow(hs)
	if s.eps, err = dnsplan.Endpoints(o.accounts, o.synthetic); err != nil {
		return s, err
	}
	c, err := hs.Route53()
	if err != nil {
		return s, err
	}
	s.store = dnsplan.NewRoute53Store(c)
	if s.zones, err = s.store.Zones(ctx, false); err != nil {
		return s, err
	}
	if !o.loops {
		if err := s.setAutomation(ctx, false); err != nil {
			return s, err
		}
	}
	return s, nil
}

func variant(m kit.Mode) string {
	if m.IsFixed() {
		return "fixed"
	}
	return "aswas"
}

// Close reverts every fault still in the ledger and stops the stack.
func (s *stack) Close() {
	_ = s.fw.Close() // the faults reverted, the stack closed
	s.events.stop()
}

// admin calls an instance's admin API with in as JSON body (nil: none) and
// decodes the answer into out (nil: discarded). A non-2xx answer is an
// error; out is still decoded (POST /admin/run returns the run's summary
// with its error).
func (s *stack) admin(ctx context.Context, instance, method, path string, in, out any) error {
	base, err := s.ep.AdminURL(instance)
	if err != nil {
		return err
	}
	return admin.New(base, admin.WithName(instance), admin.WithHTTPClient(s.http)).Do(ctx, method, path, in, out)
}

// run makes one run of an Enactor now (POST /admin/run) and returns its
// summary (on error the answer is {"error": ..., "summary": ...}).
func (s *stack) run(ctx context.Context, instance string) (dnsenactor.Summary, error) {
	var raw json.RawMessage
	err := s.admin(ctx, instance, http.MethodPost, "/admin/run", nil, &raw)
	var sum dnsenactor.Summary
	if err != nil {
		var failed struct {
			Summary dnsenactor.Summary `json:"summary"`
		}
		_ = json.Unmarshal(raw, &failed)
		return failed.Summary, err
	}
	return sum, json.Unmarshal(raw, &sum)
}

// runAsync makes one run in the background.
func (s *stack) runAsync(ctx context.Context, instance string) <-chan dnsenactor.Summary {
	ch := make(chan dnsenactor.Summary, 1)
	go func() {
		sum, _ := s.run(ctx, instance)
		ch <- sum
	}()
	return ch
}

// generate makes the planner write a generation now.
func (s *stack) generate(ctx context.Context) (uint64, error) {
	var out struct {
		Generation uint64 `json:"generation"`
	}
	err := s.admin(ctx, harness.DNSPlannerSvc, http.MethodPost, "/admin/generate", nil, &out)
	return out.Generation, err
}

// plannerGeneration is the newest generation the planner wrote.
func (s *stack) plannerGeneration(ctx context.Context) (uint64, error) {
	var st dnsplanner.State
	err := s.admin(ctx, harness.DNSPlannerSvc, http.MethodGet, "/admin/state", nil, &st)
	return st.Generation, err
}

// enactorState is an Enactor's GET /admin/state.
func (s *stack) enactorState(ctx context.Context, instance string) (dnsenactor.State, error) {
	var st dnsenactor.State
	err := s.admin(ctx, instance, http.MethodGet, "/admin/state", nil, &st)
	return st, err
}

// setAutomation enables or disables every Enactor's loop; disabling returns
// once no run is in progress (no loop run starts after that).
func (s *stack) setAutomation(ctx context.Context, on bool) error {
	path := "/admin/disable"
	if on {
		path = "/admin/enable"
	}
	for _, n := range enactors {
		if err := s.admin(ctx, n, http.MethodPost, path, nil, nil); err != nil {
			return err
		}
	}
	if on {
		return nil
	}
	return waitFor(ctx, 10*time.Second, func() bool {
		for _, n := range enactors {
			if st, err := s.enactorState(ctx, n); err != nil || st.Running {
				return false
			}
		}
		return true
	})
}

// failpointWaiting is how many callers a failpoint holds paused.
func (s *stack) failpointWaiting(ctx context.Context, name string) int64 {
	instance, _, _ := strings.Cut(name, "/")
	var sts []kit.FailpointStatus
	if err := s.admin(ctx, instance, http.MethodGet, "/failpoints", nil, &sts); err != nil {
		return -1
	}
	for _, st := range sts {
		if st.Name == name {
			return st.Waiting
		}
	}
	return -1
}

// endpoint reads an endpoint's records through the Route53 API.
func (s *stack) endpoint(ctx context.Context, ep dnsplan.Endpoint) (dnsplan.EndpointState, error) {
	return dnsplan.ReadEndpoint(ctx, s.store, s.zones, ep)
}

// lookup asks the stack's DNS for name's A records.
func (s *stack) lookup(name string) ([]string, int, error) { return lookupA(s.ep.DNS, name) }

// emptyEndpoints are the endpoints real DNS answers without an address.
func (s *stack) emptyEndpoints() ([]string, error) {
	var out []string
	for _, ep := range s.eps {
		ips, _, err := s.lookup(ep.Name)
		if err != nil {
			return out, err
		}
		if len(ips) == 0 {
			out = append(out, ep.ID)
		}
	}
	return out, nil
}

// waitResolvable waits until real DNS answers every endpoint with an
// address (the stack is ready once the regional one resolves; the others
// follow within the first run).
func (s *stack) waitResolvable(ctx context.Context) error {
	return waitFor(ctx, 10*time.Second, func() bool {
		empty, err := s.emptyEndpoints()
		return err == nil && len(empty) == 0
	})
}

// stuckEndpoints are those whose CNAME references a deleted plan and whose
// claim is gone: the state no Enactor can leave.
func (s *stack) stuckEndpoints(ctx context.Context) []string {
	var out []string
	for _, ep := range s.eps {
		st, err := s.endpoint(ctx, ep)
		if err == nil && st.CNAME != nil && st.PlanRecords == 0 && !st.Claim {
			out = append(out, ep.ID)
		}
	}
	return out
}

// restoreAll is the operator's repair by hand of every endpoint, through
// the ledger (faults.RestoreDNS).
func (s *stack) restoreAll(ctx context.Context) error {
	for _, ep := range s.eps {
		if _, err := s.ledger.Apply(ctx, &faults.RestoreDNS{Endpoint: ep}); err != nil {
			return err
		}
	}
	return nil
}

// waitFor polls cond every millisecond until it holds or d passes.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// eventLog collects the stack's merged event stream.
type eventLog struct {
	mu     sync.Mutex
	events []kit.Event
	cancel func()
	done   chan struct{}
}

func (l *eventLog) follow(s harness.Stack) {
	ch, cancel := s.Events(1 << 16)
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		for ev := range ch {
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
		}
	}()
}

func (l *eventLog) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// count counts the events of kind from service whose fields match.
func (l *eventLog) count(service, kind string, fields map[string]any) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
next:
	for _, ev := range l.events {
		if ev.Kind != kind || (service != "" && ev.Service != service) {
			continue
		}
		for k, v := range fields {
			if fmt.Sprint(ev.Fields[k]) != fmt.Sprint(v) {
				continue next
			}
		}
		n++
	}
	return n
}

// lookupA asks a DNS server for name's A records with miekg/dns over UDP
// (TCP when the answer is truncated or the datagram got no answer in time).
func lookupA(dnsAddr, name string) ([]string, int, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	resp, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, dnsAddr)
	var netErr net.Error
	if (err == nil && resp.Truncated) || (errors.As(err, &netErr) && netErr.Timeout()) {
		// A truncated answer, or a datagram lost on the way (a stub
		// resolver tries again): ask over TCP.
		resp, _, err = (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(m, dnsAddr)
	}
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

var errNeverPaused = errors.New("never paused")
