package netmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Config configures a Network Manager server. Durations are incident time.
type Config struct {
	// CoreConfig is the mechanism: mode, nodes, rate and admission.
	CoreConfig
	// APIAddr serves the API (/v1/...) and the data plane (/dataplane/...).
	APIAddr string `flag:"api-addr" usage:"API and data-plane address"`
	// TickInterval is how often the worker runs.
	TickInterval time.Duration `flag:"tick" usage:"worker tick, incident time (default 15s)"`
	// SampleInterval is how often a "backlog" event (and a "propagated"
	// aggregate) is emitted.
	SampleInterval time.Duration `flag:"sample" usage:"backlog event interval, incident time (default 10m)"`
}

func (c *Config) validate() error {
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:0"
	}
	if c.TickInterval == 0 {
		c.TickInterval = 15 * time.Second
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = 10 * time.Minute
	}
	if c.TickInterval < 0 || c.SampleInterval < 0 {
		return fmt.Errorf("tick %v, sample %v: must be positive", c.TickInterval, c.SampleInterval)
	}
	return nil
}

func (c Config) core() CoreConfig { return c.CoreConfig }

// Server is the Network Manager transport: HTTP API, data plane and the
// worker loop around a Core.
type Server struct {
	cfg Config
	env *kit.Env

	mu   sync.Mutex
	core *Core

	http  *kit.HTTPServer
	loops kit.Loop

	fpTick, fpDataplane *kit.Failpoint

	depth     prometheus.Gauge
	headWait  prometheus.Gauge
	delay     prometheus.Histogram
	admitted  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	processed prometheus.Counter

	// aggregates for the "propagated" event since the last sample
	aggCount int
	aggSum   time.Duration
	aggMax   time.Duration
	lastRej  int64
}

// New builds a server; nothing listens until Start.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("netmgr config: %w", err)
	}
	core, err := NewCore(cfg.core(), env.Clock, env.Rand)
	if err != nil {
		return nil, err
	}
	cfg.Mode, cfg.Nodes = core.cfg.Mode, core.cfg.Nodes
	cfg.RatePerMinute, cfg.QueueLimit = core.cfg.RatePerMinute, core.cfg.QueueLimit
	s := &Server{cfg: cfg, env: env, core: core,
		fpTick:      env.Failpoints.Register(env.Name + "/tick"),
		fpDataplane: env.Failpoints.Register(env.Name + "/dataplane"),
		depth:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_netmgr_queue_depth", Help: "Work items waiting to be propagated."}),
		headWait:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_netmgr_queue_head_wait_seconds", Help: "Incident seconds the oldest waiting item has waited."}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cascade_netmgr_propagation_delay_seconds",
			Help:    "Incident seconds from an instance's registration to its state reaching every node.",
			Buckets: []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800}}),
		admitted:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_netmgr_work_admitted_total", Help: "Work items admitted."}, []string{"kind"}),
		rejected:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_netmgr_work_rejected_total", Help: "Work items refused by admission control."}, []string{"kind"}),
		processed: prometheus.NewCounter(prometheus.CounterOpts{Name: "cascade_netmgr_work_processed_total", Help: "Work items completed."}),
	}
	env.Metrics.MustRegister(s.depth, s.headWait, s.delay, s.admitted, s.rejected, s.processed)
	return s, nil
}

// Config returns the validated configuration.
func (s *Server) Config() Config { return s.cfg }

// Start binds the API listener and starts the worker loop.
func (s *Server) Start(ctx context.Context) error {
	h, err := kit.StartHTTP(s.cfg.APIAddr, s.Handler())
	if err != nil {
		return fmt.Errorf("start netmgr: %w", err)
	}
	s.http = h
	s.loops.Start(ctx, s.loop)
	s.env.Events.Emit("netmgr-started", "addr", h.Addr(), "mode", string(s.cfg.Mode), "nodes", s.cfg.Nodes)
	return nil
}

// APIAddr is the bound API and data-plane address (after Start).
func (s *Server) APIAddr() string { return s.http.Addr() }

// URL is http://APIAddr.
func (s *Server) URL() string { return s.http.URL() }

// Close stops the loop and the listener; it may be called more than once.
func (s *Server) Close() error {
	s.loops.Close()
	return s.http.Close()
}

// Stats is a snapshot of the queue.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.Stats()
}

func (s *Server) loop(ctx context.Context) {
	t := s.env.Clock.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	lastSample := s.env.Clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		// A paused or sleeping tick failpoint stalls the worker: the queue grows.
		_, _ = s.fpTick.Eval(ctx)
		now := s.env.Clock.Now()
		s.mu.Lock()
		r := s.core.Tick(now)
		st := s.core.Stats()
		s.mu.Unlock()
		s.processed.Add(float64(r.Processed))
		for _, p := range r.Propagated {
			s.delay.Observe(p.Delay.Seconds())
			s.aggCount++
			s.aggSum += p.Delay
			s.aggMax = max(s.aggMax, p.Delay)
		}
		s.depth.Set(float64(st.Depth))
		s.headWait.Set(st.HeadWait.Seconds())
		if now.Sub(lastSample) >= s.cfg.SampleInterval {
			lastSample = now
			s.sample(st)
		}
	}
}

func (s *Server) sample(st Stats) {
	s.env.Events.Emit("backlog", "depth", st.Depth, "headWaitMin", round1(st.HeadWait.Minutes()),
		"pending", st.Pending, "admitted", st.Admitted, "rejected", st.Rejected, "rejectedSince", st.Rejected-s.lastRej)
	s.lastRej = st.Rejected
	if s.aggCount > 0 {
		s.env.Events.Emit("propagated", "count", s.aggCount,
			"meanDelayMin", round1((s.aggSum / time.Duration(s.aggCount)).Minutes()), "maxDelayMin", round1(s.aggMax.Minutes()))
		s.aggCount, s.aggSum, s.aggMax = 0, 0, 0
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// Handler is the API and data-plane handler.
//
//	POST   /v1/instances            {"instanceId","az"} -> 202 InstanceState
//	GET    /v1/instances/{id}       -> InstanceState ({"propagated":bool,...})
//	DELETE /v1/instances/{id}       -> 202 (termination work queued) | 429
//	POST   /v1/work                 {"kind","count"} -> 202 {"admitted"} | 429 {"__type":"ThrottlingException","admitted"}
//	GET    /v1/queue                -> Stats
//	GET    /dataplane/{id}/health?node=N -> 200 | 503 (state not at N) | 404 | 400
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/instances", s.InstanceCreate)
	mux.HandleFunc("GET /v1/instances/{id}", s.InstanceGet)
	mux.HandleFunc("DELETE /v1/instances/{id}", s.InstanceDelete)
	mux.HandleFunc("POST /v1/work", s.WorkCreate)
	mux.HandleFunc("GET /v1/queue", s.QueueGet)
	mux.HandleFunc("GET /dataplane/{id}/health", s.DataplaneGet)
	mux.HandleFunc("GET /dataplane/{id}", s.DataplaneGet)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no route %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	return mux
}

// AdminRoutes adds GET /admin/queue to the shared admin mux.
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/queue", s.QueueGet)
}

var errNoRoute = errors.New("no such route")

// DecodeRegister decodes and checks a POST /v1/instances body.
func DecodeRegister(r io.Reader) (RegisterRequest, error) {
	var req RegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	if req.InstanceID == "" {
		return req, fmt.Errorf("%w: instanceId is required", ErrInvalid)
	}
	return req, nil
}

// DecodeWork decodes and checks a POST /v1/work body.
func DecodeWork(r io.Reader) (WorkRequest, error) {
	var req WorkRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	if req.Kind == "" || req.Count <= 0 || req.Count > 1_000_000 {
		return req, fmt.Errorf("%w: kind must be non-empty and count in 1..1000000", ErrInvalid)
	}
	return req, nil
}

func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(r, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body: trailing data after the JSON object", ErrInvalid)
	}
	return nil
}

// InstanceCreate handles POST /v1/instances.
func (s *Server) InstanceCreate(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeRegister(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	st, err := s.core.RegisterInstance(req.InstanceID, req.AZ)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	s.admitted.WithLabelValues("instance").Inc()
	kit.WriteJSON(w, http.StatusAccepted, st)
}

// InstanceGet handles GET /v1/instances/{id}.
func (s *Server) InstanceGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st, err := s.core.Instance(r.PathValue("id"))
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	kit.WriteJSON(w, http.StatusOK, st)
}

// InstanceDelete handles DELETE /v1/instances/{id} (termination).
func (s *Server) InstanceDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	err := s.core.TerminateInstance(r.PathValue("id"))
	s.mu.Unlock()
	if err != nil {
		if errors.Is(err, ErrThrottled) {
			s.rejected.WithLabelValues("terminate").Add(float64(len(s.cfg.Nodes)))
		}
		writeError(w, err)
		return
	}
	s.admitted.WithLabelValues("terminate").Add(float64(len(s.cfg.Nodes)))
	kit.WriteJSON(w, http.StatusAccepted, map[string]string{"instanceId": r.PathValue("id"), "state": "terminating"})
}

// WorkCreate handles POST /v1/work.
func (s *Server) WorkCreate(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeWork(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	n, err := s.core.AddWork(req.Kind, req.Count)
	s.mu.Unlock()
	s.admitted.WithLabelValues(req.Kind).Add(float64(n))
	resp := WorkResponse{Admitted: n, Rejected: req.Count - n}
	if err != nil {
		s.rejected.WithLabelValues(req.Kind).Add(float64(req.Count - n))
		resp.Type, resp.Message = "ThrottlingException", err.Error()
		w.Header().Set("Retry-After", "1")
		kit.WriteJSON(w, http.StatusTooManyRequests, resp)
		return
	}
	kit.WriteJSON(w, http.StatusAccepted, resp)
}

// QueueGet handles GET /v1/queue.
func (s *Server) QueueGet(w http.ResponseWriter, r *http.Request) {
	kit.WriteJSON(w, http.StatusOK, s.Stats())
}

// DataplaneGet handles GET /dataplane/{id}/health?node=N: the instance as
// seen from checker node N. It answers 200 only once the instance's state
// reached N; otherwise 503, as a connection that is refused would fail.
func (s *Server) DataplaneGet(w http.ResponseWriter, r *http.Request) {
	if err := s.fpDataplane.Err(r.Context()); err != nil {
		writeError(w, fmt.Errorf("%w: %v", errUnreachable, err))
		return
	}
	id, node := r.PathValue("id"), r.URL.Query().Get("node")
	s.mu.Lock()
	ok, err := s.core.Reachable(id, node)
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	if !ok {
		writeError(w, fmt.Errorf("%w: state of %s has not reached node %q", errUnreachable, id, node))
		return
	}
	kit.WriteJSON(w, http.StatusOK, map[string]string{"instanceId": id, "node": node, "status": "ok"})
}

var errUnreachable = errors.New("connection refused")

// writeError is the one place errors become HTTP statuses and __type codes.
func writeError(w http.ResponseWriter, err error) {
	status, typ := http.StatusInternalServerError, "InternalFailure"
	switch {
	case errors.Is(err, ErrInvalid):
		status, typ = http.StatusBadRequest, "ValidationException"
	case errors.Is(err, ErrUnknownNode):
		status, typ = http.StatusBadRequest, "ValidationException"
	case errors.Is(err, ErrUnknownInstance):
		status, typ = http.StatusNotFound, "ResourceNotFoundException"
	case errors.Is(err, ErrThrottled):
		status, typ = http.StatusTooManyRequests, "ThrottlingException"
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, errUnreachable):
		status, typ = http.StatusServiceUnavailable, "ConnectionRefused"
	case errors.Is(err, errNoRoute):
		status, typ = http.StatusNotFound, "UnknownOperationException"
	}
	kit.WriteJSON(w, status, APIError{Type: typ, Message: err.Error(), Status: status})
}
