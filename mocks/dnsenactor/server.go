package dnsenactor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Config configures one Enactor instance (env.Name is its instance name,
// dnsenactor-a .. dnsenactor-c).
type Config struct {
	// Route53API is the Route53 API's base URL (http://host:port); required
	// unless Store is set.
	Route53API string `flag:"route53-api" usage:"Route53 API base URL"`
	// Store replaces the Route53 client (tests that run without the route53 mock).
	Store dnsplan.Store
	Mode  kit.Mode `flag:"mode" usage:"aswas, or fixed: per-endpoint compare-and-swap and safe clean-up"`
	// Period between runs (incident time).
	Period time.Duration `flag:"period" usage:"between runs, incident time"`
	// KeepGenerations is K: clean-up deletes generations more than K older
	// than the one just applied.
	KeepGenerations uint64 `flag:"keep-generations" usage:"clean up generations more than K older than the one applied"`
	// Accounts get account-specific endpoints (12 digits each).
	Accounts []string `flag:"accounts" usage:"12-digit accounts with account-specific endpoints"`
	// SyntheticEndpoints adds that many endpoints for scale.
	SyntheticEndpoints int `flag:"synthetic-endpoints" usage:"synthetic endpoints added for scale"`
	// MaxRetries and RetryBackoff (incident) bound the retries of an endpoint.
	MaxRetries   int           `flag:"max-retries" usage:"retries of an endpoint whose transaction failed"`
	RetryBackoff time.Duration `flag:"retry-backoff" usage:"first retry's wait, incident time"`
	// EndpointsPerBatch, ReadAhead, MaxChangesPerBatch: see CoreConfig.
	EndpointsPerBatch  int `flag:"endpoints-per-batch" usage:"endpoints per Route53 transaction"`
	ReadAhead          int `flag:"read-ahead" usage:"record sets listed per read of the endpoints"`
	MaxChangesPerBatch int `flag:"max-changes-per-batch" usage:"changes per Route53 batch"`
	// RequestTimeoutWall bounds one Route53 call in wall time (a network timeout).
	RequestTimeoutWall time.Duration `flag:"request-timeout" usage:"one Route53 call's timeout, wall time"`
	// Disabled starts the instance with its automation disabled.
	Disabled bool `flag:"disabled" usage:"start with the automation disabled"`
}

func (c *Config) validate() error {
	if c.Route53API == "" && c.Store == nil {
		return errors.New("route53 api url is required")
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.Period <= 0 {
		c.Period = time.Minute
	}
	if c.RequestTimeoutWall <= 0 {
		c.RequestTimeoutWall = 5 * time.Second
	}
	return nil
}

// Server is one Enactor: a loop that runs the core every Period through the
// Route53 API, its failpoints and its operator actions.
type Server struct {
	cfg  Config
	env  *kit.Env
	eps  []dnsplan.Endpoint
	core *Core // guarded by runMu

	runMu   sync.Mutex
	zones   dnsplan.ZoneIDs
	store   dnsplan.Store
	enabled atomic.Bool
	running atomic.Bool

	stateMu     sync.Mutex
	last        Summary
	lastApplied uint64
	runs        int

	fpBeforeRun, fpBeforeApply, fpAfterApply, fpBeforeCleanup *kit.Failpoint

	mRuns     *prometheus.CounterVec
	mGen      prometheus.Gauge
	mFailures *prometheus.CounterVec
	mDeleted  prometheus.Counter

	loop kit.Loop
}

var _ kit.Service = (*Server)(nil)

// New builds an Enactor; it registers its failpoints and metrics on env.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dnsenactor %s: %w", env.Name, err)
	}
	eps, err := dnsplan.Endpoints(cfg.Accounts, cfg.SyntheticEndpoints)
	if err != nil {
		return nil, fmt.Errorf("dnsenactor %s: %w", env.Name, err)
	}
	s := &Server{cfg: cfg, env: env, eps: eps, store: cfg.Store}
	s.enabled.Store(!cfg.Disabled)
	s.fpBeforeRun = env.Failpoints.Register(env.Name + "/before-run")
	s.fpBeforeApply = env.Failpoints.Register(env.Name + "/before-apply-endpoint")
	s.fpAfterApply = env.Failpoints.Register(env.Name + "/after-apply-endpoint")
	s.fpBeforeCleanup = env.Failpoints.Register(env.Name + "/before-cleanup")
	labels := prometheus.Labels{"instance": env.Name}
	s.mRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_dnsenactor_runs_total", Help: "Enactor runs by result (applied, stale, error).", ConstLabels: labels}, []string{"result"})
	s.mGen = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_dnsenactor_generation_applied", Help: "The plan generation the last run applied.", ConstLabels: labels})
	s.mFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_dnsenactor_endpoint_failures_total", Help: "Endpoint transactions that failed after their retries, by Route53 error code.", ConstLabels: labels}, []string{"code"})
	s.mDeleted = prometheus.NewCounter(prometheus.CounterOpts{Name: "cascade_dnsenactor_plans_deleted_total", Help: "Generations deleted by clean-up.", ConstLabels: labels})
	for _, c := range []prometheus.Collector{s.mRuns, s.mGen, s.mFailures, s.mDeleted} {
		if err := env.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("dnsenactor %s: metrics: %w", env.Name, err)
		}
	}
	return s, nil
}

// Endpoints are the endpoints this Enactor manages.
func (s *Server) Endpoints() []dnsplan.Endpoint { return s.eps }

// Start builds the Route53 client and starts the run loop.
func (s *Server) Start(ctx context.Context) error {
	if s.store == nil {
		c, err := awsclient.Route53(s.cfg.Route53API, awsclient.WithTimeout(s.cfg.RequestTimeoutWall))
		if err != nil {
			return fmt.Errorf("start dnsenactor %s: %w", s.env.Name, err)
		}
		s.store = dnsplan.NewRoute53Store(c)
	}
	s.loop.Start(ctx, s.runLoop)
	return nil
}

func (s *Server) runLoop(ctx context.Context) {
	ticker := s.env.Clock.NewTicker(s.cfg.Period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
			_, _, _ = s.runOnce(ctx, true)
		}
	}
}

// Close stops the loop, aborting a run in progress (a paused failpoint included).
func (s *Server) Close() error {
	s.loop.Close()
	return nil
}

type serverIO struct {
	dnsplan.Store
	clock kit.Clock
}

func (io serverIO) Wait(ctx context.Context, d time.Duration) error {
	t := io.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RunOnce makes one run now (runs never overlap), with the failpoints
// between its steps: before-run, before-apply-endpoint and
// after-apply-endpoint around each endpoint, before-cleanup.
func (s *Server) RunOnce(ctx context.Context) (Summary, error) {
	sum, _, err := s.runOnce(ctx, false)
	return sum, err
}

// runOnce makes one run; the loop's runs (onlyEnabled) check that the
// automation is enabled under the run lock, after marking the run as
// running: once SetEnabled(false) returned and State reports no run in
// progress, no run of the loop starts (running and enabled are atomics,
// sequentially consistent, so one side always sees the other's store).
func (s *Server) runOnce(ctx context.Context, onlyEnabled bool) (Summary, bool, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.running.Store(true)
	defer s.running.Store(false)
	if onlyEnabled && !s.enabled.Load() {
		return Summary{}, false, nil
	}
	sum, err := s.run(ctx)
	result := "applied"
	switch {
	case err != nil:
		result = "error"
		if sum.Err == "" {
			sum.Err = err.Error()
		}
	case sum.Stale:
		result = "stale"
	}
	s.mRuns.WithLabelValues(result).Inc()
	if !sum.Stale && err == nil {
		s.mGen.Set(float64(sum.Generation))
	}
	for _, code := range sum.Failed {
		s.mFailures.WithLabelValues(code).Inc()
	}
	s.mDeleted.Add(float64(len(sum.Deleted)))
	s.stateMu.Lock()
	s.last, s.runs = sum, s.runs+1
	if s.core != nil {
		s.lastApplied = s.core.LastApplied()
	}
	s.stateMu.Unlock()
	return sum, true, err
}

func (s *Server) run(ctx context.Context) (Summary, error) {
	if err := s.fpBeforeRun.Err(ctx); err != nil {
		return Summary{}, err
	}
	if err := s.ensureCore(ctx); err != nil {
		return Summary{}, err
	}
	io := serverIO{Store: s.store, clock: s.env.Clock}
	return s.core.Drive(ctx, io, io, Pauses{BeforeApply: s.fpBeforeApply.Err, AfterApply: s.fpAfterApply.Err, BeforeCleanup: s.fpBeforeCleanup.Err})
}

// ensureCore looks the zones up (the route53 service may start after us).
func (s *Server) ensureCore(ctx context.Context) error {
	if s.core != nil {
		return nil
	}
	zl, ok := s.store.(dnsplan.ZoneLister)
	if !ok {
		return fmt.Errorf("store %T cannot list zones", s.store)
	}
	zones, err := zl.Zones(ctx, false)
	if err != nil {
		return err
	}
	core, err := NewCore(CoreConfig{
		Mode: s.cfg.Mode, Endpoints: s.eps, Zones: zones, KeepGenerations: s.cfg.KeepGenerations,
		MaxRetries: s.cfg.MaxRetries, RetryBackoff: s.cfg.RetryBackoff, EndpointsPerBatch: s.cfg.EndpointsPerBatch,
		ReadAhead: s.cfg.ReadAhead, MaxChangesPerBatch: s.cfg.MaxChangesPerBatch,
	}, s.env.Clock, s.env.Events)
	if err != nil {
		return err
	}
	s.core, s.zones = core, zones
	return nil
}

// SetEnabled is the operator action "disable/enable the DNS automation": a
// disabled Enactor starts no run (one in progress finishes).
func (s *Server) SetEnabled(on bool) {
	if s.enabled.Swap(on) != on {
		kind := "automation-disabled"
		if on {
			kind = "automation-enabled"
		}
		s.env.Events.Emit(kind)
	}
}

// State is what GET /admin/state returns.
type State struct {
	Name        string   `json:"name"`
	Mode        kit.Mode `json:"mode"`
	Enabled     bool     `json:"enabled"`
	Running     bool     `json:"running"`
	Runs        int      `json:"runs"`
	LastApplied uint64   `json:"lastApplied"`
	LastRun     Summary  `json:"lastRun"`
	Endpoints   int      `json:"endpoints"`
}

// State describes the Enactor.
func (s *Server) State() State {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return State{Name: s.env.Name, Mode: s.cfg.Mode, Enabled: s.enabled.Load(), Running: s.running.Load(),
		Runs: s.runs, LastApplied: s.lastApplied, LastRun: s.last, Endpoints: len(s.eps)}
}

// AdminRoutes serves the operator actions:
//
//	POST /admin/disable   stop starting runs ("disable the DNS automation")
//	POST /admin/enable    start them again
//	POST /admin/run       make one run now and return its summary
//	GET  /admin/state     State as JSON
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	kit.SwitchRoutes(mux, s.SetEnabled, s.State)
	mux.HandleFunc("POST /admin/run", func(w http.ResponseWriter, r *http.Request) {
		sum, err := s.RunOnce(r.Context())
		if err != nil {
			kit.WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error(), "summary": sum})
			return
		}
		kit.WriteJSON(w, http.StatusOK, sum)
	})
}
