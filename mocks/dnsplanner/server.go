package dnsplanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Config configures the planner.
type Config struct {
	// Route53API is the Route53 API's base URL; required unless Store is set.
	Route53API string `flag:"route53-api" usage:"Route53 API base URL"`
	// Store replaces the Route53 client (tests without the route53 mock).
	Store dnsplan.Store
	// LBs are the DynamoDB load balancers (ddb-lb-a/b/c) and LBPort the port
	// their health checks (GET /) go to.
	LBs    []LBConfig `flag:"lb" usage:"load balancer name=ip, repeatable"`
	LBPort int        `flag:"lb-port" usage:"port of the load balancers' health checks"`
	// Period: a generation at least this often (incident time).
	Period time.Duration `flag:"period" usage:"write a generation at least this often, incident time"`
	// HealthInterval between rounds of health checks (incident time).
	HealthInterval time.Duration `flag:"health-interval" usage:"between health-check rounds, incident time"`
	// HealthTimeoutWall bounds one health check; SlowLatencyWall is the
	// latency above which an LB loses weight. Both are wall time: they
	// measure the network, whose latencies (toxics) are not scaled.
	HealthTimeoutWall  time.Duration `flag:"health-timeout" usage:"one health check's timeout, wall time"`
	SlowLatencyWall    time.Duration `flag:"slow-latency" usage:"latency above which an LB loses weight, wall time"`
	Accounts           []string      `flag:"accounts" usage:"12-digit accounts with account-specific endpoints"`
	SyntheticEndpoints int           `flag:"synthetic-endpoints" usage:"synthetic endpoints added for scale"`
	MaxChangesPerBatch int           `flag:"max-changes-per-batch" usage:"changes per Route53 batch"`
	// Disabled starts the planner without its loop writing generations
	// (Generate still does).
	Disabled bool `flag:"disabled" usage:"start without the loop writing generations"`
}

func (c *Config) validate() error {
	if c.Route53API == "" && c.Store == nil {
		return errors.New("route53 api url is required")
	}
	if len(c.LBs) == 0 {
		return errors.New("no load balancers: want --lb name=ip")
	}
	if c.LBPort <= 0 || c.LBPort > 65535 {
		c.LBPort = 8000
	}
	if c.Period <= 0 {
		c.Period = time.Minute
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = 10 * time.Second
	}
	if c.HealthTimeoutWall <= 0 {
		c.HealthTimeoutWall = time.Second
	}
	if c.SlowLatencyWall <= 0 {
		c.SlowLatencyWall = 100 * time.Millisecond
	}
	return nil
}

// Server is the planner: health checks on a loop, generations written
// through the Route53 API.
type Server struct {
	cfg   Config
	env   *kit.Env
	store dnsplan.Store
	http  *http.Client

	mu      sync.Mutex // one generation at a time; guards core
	core    *Core
	zones   dnsplan.ZoneIDs
	resumed bool
	enabled atomic.Bool

	mGen     prometheus.Gauge
	mWritten prometheus.Counter
	mHealthy *prometheus.GaugeVec

	loop kit.Loop
}

var _ kit.Service = (*Server)(nil)

// New builds the planner.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dnsplanner: %w", err)
	}
	eps, err := dnsplan.Endpoints(cfg.Accounts, cfg.SyntheticEndpoints)
	if err != nil {
		return nil, fmt.Errorf("dnsplanner: %w", err)
	}
	core, err := NewCore(CoreConfig{LBs: cfg.LBs, Endpoints: eps, Period: cfg.Period, SlowLatency: cfg.SlowLatencyWall, MaxChangesPerBatch: cfg.MaxChangesPerBatch}, env.Clock, env.Events)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DisableKeepAlives = true // each check opens a connection, as a health checker does
	s := &Server{cfg: cfg, env: env, store: cfg.Store, core: core, http: &http.Client{Transport: tr, Timeout: cfg.HealthTimeoutWall}}
	s.enabled.Store(!cfg.Disabled)
	s.mGen = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_dnsplanner_generation", Help: "The newest plan generation written."})
	s.mWritten = prometheus.NewCounter(prometheus.CounterOpts{Name: "cascade_dnsplanner_plans_written_total", Help: "Plan generations written."})
	s.mHealthy = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cascade_dnsplanner_lb_weight", Help: "Each load balancer's weight in the newest plan (0: out)."}, []string{"lb"})
	for _, c := range []prometheus.Collector{s.mGen, s.mWritten, s.mHealthy} {
		if err := env.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("dnsplanner: metrics: %w", err)
		}
	}
	return s, nil
}

// Start builds the Route53 client and starts the health-check loop.
func (s *Server) Start(ctx context.Context) error {
	if s.store == nil {
		c, err := awsclient.Route53(s.cfg.Route53API)
		if err != nil {
			return fmt.Errorf("start dnsplanner: %w", err)
		}
		s.store = dnsplan.NewRoute53Store(c)
	}
	s.loop.Start(ctx, s.runLoop)
	return nil
}

// Close stops the loop.
func (s *Server) Close() error {
	s.loop.Close()
	return nil
}

func (s *Server) runLoop(ctx context.Context) {
	ticker := s.env.Clock.NewTicker(s.cfg.HealthInterval)
	defer ticker.Stop()
	for {
		if s.enabled.Load() {
			probes := s.Check(ctx)
			s.mu.Lock()
			s.core.Observe(probes)
			reason, due := s.core.Due()
			s.mu.Unlock()
			if due {
				if _, err := s.Generate(ctx, reason); err != nil && ctx.Err() == nil {
					s.env.Events.Emit("plan-error", "error", err.Error())
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
		}
	}
}

// Check health-checks every load balancer concurrently: GET / with a
// timeout; 200 is healthy.
func (s *Server) Check(ctx context.Context) []Probe {
	probes := make([]Probe, len(s.cfg.LBs))
	var wg sync.WaitGroup
	for i, lb := range s.cfg.LBs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probes[i] = s.check(ctx, lb)
		}()
	}
	wg.Wait()
	return probes
}

func (s *Server) check(ctx context.Context, lb LBConfig) Probe {
	p := Probe{LB: lb.Name}
	url := "http://" + net.JoinHostPort(lb.IP, strconv.Itoa(s.cfg.LBPort)) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		p.Detail = err.Error()
		return p
	}
	start := time.Now()
	resp, err := s.http.Do(req)
	p.Latency = time.Since(start)
	if err != nil {
		p.Detail = err.Error()
		return p
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	p.Healthy = resp.StatusCode == http.StatusOK
	p.Detail = resp.Status
	return p
}

// Generate writes the next generation now, for reason. On the first call it
// finds the zones (creating them if missing) and resumes after the newest
// generation already in Route53.
func (s *Server) Generate(ctx context.Context, reason string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.resume(ctx); err != nil {
		return 0, err
	}
	zoneID, err := s.zones.ID(dnsplan.RegionalZone)
	if err != nil {
		return 0, err
	}
	p := s.core.Build(reason)
	if err := p.Write(ctx, s.store, zoneID); err != nil {
		return 0, err
	}
	s.core.Written(p)
	s.mGen.Set(float64(p.Gen))
	s.mWritten.Inc()
	for _, lb := range p.Weights {
		s.mHealthy.WithLabelValues(lb.Name).Set(float64(lb.Weight))
	}
	return p.Gen, nil
}

func (s *Server) resume(ctx context.Context) error {
	if s.resumed {
		return nil
	}
	zl, ok := s.store.(dnsplan.ZoneLister)
	if !ok {
		return fmt.Errorf("store %T cannot list zones", s.store)
	}
	zones, err := zl.Zones(ctx, true)
	if err != nil {
		return err
	}
	zoneID, err := zones.ID(dnsplan.RegionalZone)
	if err != nil {
		return err
	}
	gens, err := dnsplan.ListGenerations(ctx, s.store, zoneID, dnsplan.RegionalZone)
	if err != nil {
		return err
	}
	if len(gens) > 0 {
		// Any generation, complete or not: a half-written one is never reused.
		s.core.Resume(gens[len(gens)-1].Gen)
		s.env.Events.Emit("planner-resumed", "generation", gens[len(gens)-1].Gen)
	}
	s.zones, s.resumed = zones, true
	return nil
}

// SetEnabled turns the planner's loop on or off.
func (s *Server) SetEnabled(on bool) { s.enabled.Store(on) }

// State is what GET /admin/state returns.
type State struct {
	Enabled    bool         `json:"enabled"`
	Generation uint64       `json:"generation"`
	Weights    []dnsplan.LB `json:"weights"`
}

// State describes the planner.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return State{Enabled: s.enabled.Load(), Generation: s.core.Generation(), Weights: s.core.Weights()}
}

// AdminRoutes serves:
//
//	POST /admin/generate  write a generation now ({"generation": N})
//	POST /admin/disable   stop the loop from writing generations
//	POST /admin/enable    start it again
//	GET  /admin/state     State as JSON
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/generate", func(w http.ResponseWriter, r *http.Request) {
		gen, err := s.Generate(r.Context(), "operator")
		if err != nil {
			kit.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		kit.WriteJSON(w, http.StatusOK, map[string]uint64{"generation": gen})
	})
	kit.SwitchRoutes(mux, s.SetEnabled, s.State)
}
