package dynamodb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:0"
	DefaultMaxConnAge   = time.Minute
	DefaultIdleTimeout  = time.Minute
	DefaultMaxBodyBytes = 16 << 20
	// DefaultTTLSweepInterval is how often expired items are deleted. Real
	// DynamoDB takes up to days; a minute keeps expiry visible within a
	// replay. It is a choice, not a calibration.
	DefaultTTLSweepInterval = time.Minute
)

// Config configures a DynamoDB server. Durations are incident durations.
type Config struct {
	// Addr is the listen address (DefaultAddr when empty).
	Addr string `flag:"addr" usage:"API address"`
	// MaxConnAge is how long a client connection may live: the first
	// request after it answers with "Connection: close", and idle
	// connections past it are closed, so clients dial (and resolve the
	// endpoint) again. 0 means DefaultMaxConnAge, negative disables it.
	MaxConnAge time.Duration `flag:"max-conn-age" usage:"close client connections older than this, incident time; 0 = default 1m, negative = never"`
	// IdleTimeout closes keep-alive connections idle this long. 0 means
	// DefaultIdleTimeout, negative disables it.
	IdleTimeout time.Duration `flag:"idle-timeout" usage:"close keep-alive connections idle this long, incident time; 0 = default 1m, negative = never"`
	// MaxBodyBytes bounds a request body (DynamoDB's limit is 16 MB).
	MaxBodyBytes int64 `flag:"max-body-bytes" usage:"largest request body; 0 = DynamoDB's 16 MB"`
	// Tables are created at start.
	Tables []TableSpec `flag:"table" usage:"table to create at start, name:hash[:S|N|B][,range[:S|N|B]], repeatable"`
	// TTLSweepInterval is the period of the time-to-live sweep. 0 means
	// DefaultTTLSweepInterval, negative disables expiry.
	TTLSweepInterval time.Duration `flag:"ttl-sweep-interval" usage:"period of the time-to-live sweep, incident time (0: one minute; negative: no expiry)"`
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxConnAge == 0 {
		c.MaxConnAge = DefaultMaxConnAge
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.TTLSweepInterval == 0 {
		c.TTLSweepInterval = DefaultTTLSweepInterval
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("max body bytes %d: must not be negative", c.MaxBodyBytes)
	}
	seen := map[string]bool{}
	for _, t := range c.Tables {
		if t.Name == "" || t.HashKey == "" {
			return fmt.Errorf("table spec %+v: name and hash key are required", t)
		}
		if seen[t.Name] {
			return fmt.Errorf("table spec %q: listed twice", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// Server is the DynamoDB mock's transport: the JSON 1.0 API over HTTP in
// front of a Core.
//
//	client --TCP--> conn tracker (accept time, MaxConnAge, IdleTimeout)
//	          --> ServeHTTP: auth, target, body limit, failpoints
//	          --> decode --> Core (one mutex) --> encode (+x-amz-crc32)
type Server struct {
	cfg Config
	env *kit.Env

	mu   sync.Mutex
	core *Core

	ops   map[string]*operation
	anyFP *kit.Failpoint

	maxAgeWall time.Duration
	idleWall   time.Duration

	httpSrv *kit.HTTPServer
	conns   connTracker

	reqPrefix string
	reqSeq    atomic.Uint64

	metrics   metrics
	throttled atomic.Int64

	startOnce sync.Once
	closeOnce sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
}

type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	connsOpened prometheus.Counter
	connsAged   prometheus.Counter
	connsOpen   prometheus.GaugeFunc
}

var _ kit.Service = (*Server)(nil)

// New builds a server; Start binds it.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dynamodb config: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		env:        env,
		core:       NewCore(env.Clock),
		ops:        map[string]*operation{},
		stop:       make(chan struct{}),
		reqPrefix:  randomPrefix(),
		maxAgeWall: -1,
		idleWall:   -1,
	}
	if cfg.MaxConnAge > 0 {
		s.maxAgeWall = max(kit.WallDuration(env.Clock, cfg.MaxConnAge), time.Millisecond)
	}
	if cfg.IdleTimeout > 0 {
		s.idleWall = max(kit.WallDuration(env.Clock, cfg.IdleTimeout), time.Millisecond)
	}
	s.conns.conns = map[net.Conn]*connInfo{}
	s.registerMetrics()
	s.anyFP = env.Failpoints.Register(env.Name + "/any")
	for _, name := range Operations {
		s.ops[name] = &operation{
			name:    name,
			run:     runners[name],
			fp:      env.Failpoints.Register(env.Name + "/" + name),
			ok:      s.metrics.requests.WithLabelValues(name, "ok"),
			latency: s.metrics.latency.WithLabelValues(name),
		}
	}
	for _, t := range cfg.Tables {
		if _, err := s.core.TableCreate(t.Input()); err != nil {
			return nil, fmt.Errorf("dynamodb table %s: %w", t.Name, err)
		}
	}
	return s, nil
}

func (s *Server) registerMetrics() {
	s.metrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cascade_dynamodb_requests_total",
		Help: "DynamoDB API requests by operation and outcome (ok or the error code).",
	}, []string{"operation", "outcome"})
	s.metrics.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cascade_dynamodb_request_duration_seconds",
		Help:    "DynamoDB API request latency (wall time) by operation.",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
	}, []string{"operation"})
	s.metrics.connsOpened = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cascade_dynamodb_connections_opened_total",
		Help: "Client connections accepted.",
	})
	s.metrics.connsAged = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cascade_dynamodb_connections_aged_out_total",
		Help: "Client connections closed because they reached MaxConnAge.",
	})
	s.metrics.connsOpen = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cascade_dynamodb_connections_open",
		Help: "Client connections currently open.",
	}, func() float64 { return float64(s.conns.open()) })
	for _, c := range []prometheus.Collector{s.metrics.requests, s.metrics.latency, s.metrics.connsOpened, s.metrics.connsAged, s.metrics.connsOpen} {
		if err := s.env.Metrics.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				panic(fmt.Sprintf("dynamodb: register metrics: %v", err))
			}
		}
	}
}

// Start binds the listener and serves until ctx ends or Close.
func (s *Server) Start(ctx context.Context) error {
	var err error
	s.startOnce.Do(func() {
		s.httpSrv, err = kit.StartHTTP(s.cfg.Addr, s, func(hs *http.Server) {
			if s.idleWall > 0 {
				hs.IdleTimeout = s.idleWall
			}
			hs.ConnContext = s.connContext
			hs.ConnState = s.connState
		})
		if err != nil {
			err = fmt.Errorf("start dynamodb: %w", err)
			return
		}
		for _, t := range s.cfg.Tables {
			s.env.Events.Emit("table-created", "table", t.Name)
		}
		s.wg.Add(1)
		go s.sweep(ctx)
		if s.cfg.TTLSweepInterval > 0 {
			s.wg.Add(1)
			go s.expire(ctx)
		}
	})
	return err
}

// Close stops the server, closing every connection; it may be called more
// than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		err = s.httpSrv.Close()
		s.wg.Wait()
	})
	return err
}

// Addr is the listening address (host:port) after Start.
func (s *Server) Addr() string { return s.httpSrv.Addr() }

// URL is http://Addr after Start.
func (s *Server) URL() string { return s.httpSrv.URL() }

// Port is the listening port after Start.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Do runs fn with the core locked, for embedders and tests that inspect or
// seed state without going through HTTP.
func (s *Server) Do(fn func(c *Core)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.core)
}

// AdminRoutes serves GET /admin/tables: every table with its item count.
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/tables", func(w http.ResponseWriter, r *http.Request) {
		type tableInfo struct {
			Name  string `json:"name"`
			Items int    `json:"items"`
		}
		var out []tableInfo
		s.Do(func(c *Core) {
			for _, n := range c.TableNames() {
				out = append(out, tableInfo{Name: n, Items: c.ItemCount(n)})
			}
		})
		kit.WriteJSON(w, http.StatusOK, out)
	})
}

func randomPrefix() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 26)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// requestIDLen is the length of DynamoDB's x-amzn-RequestId.
const requestIDLen = 52

// appendRequestID appends a 52-character id like DynamoDB's
// x-amzn-RequestId: the server's random prefix, then a sequence number in
// base 36, zero-padded.
func (s *Server) appendRequestID(dst []byte) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	dst = append(dst, s.reqPrefix...)
	var seq [26]byte
	n := s.reqSeq.Add(1)
	for i := len(seq) - 1; i >= 0; i-- {
		seq[i] = digits[n%36]
		n /= 36
	}
	return append(dst, seq[:]...)
}

func (s *Server) observe(op *operation, code ErrorCode, start time.Time) {
	name := "unknown"
	if op != nil {
		name = op.name
	}
	if code == "" && op != nil {
		op.ok.Inc()
		op.latency.Observe(time.Since(start).Seconds())
		return
	}
	outcome := "ok"
	if code != "" {
		outcome = string(code)
	}
	s.metrics.requests.WithLabelValues(name, outcome).Inc()
	s.metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

// noteThrottled emits a sampled "throttled" event: the 1st, 10th, 100th,
// 1000th... throttled request, then every 1000th.
func (s *Server) noteThrottled(op string, code ErrorCode) {
	n := s.throttled.Add(1)
	if n == 1 || n == 10 || n == 100 || n%1000 == 0 {
		s.env.Events.Emit("throttled", "operation", op, "code", string(code), "count", n)
	}
}

// connTracker knows every open connection, its accept time and state.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]*connInfo
	// agedSinceEvent counts connections closed by age since the last
	// "conn-aged-out" event.
	agedSinceEvent int
	agedTotal      int
}

type connInfo struct {
	accepted  time.Time
	idle      bool
	idleSince time.Time
	aged      atomic.Bool
}

type connKey struct{}

func (t *connTracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	info := &connInfo{accepted: time.Now()}
	s.conns.mu.Lock()
	s.conns.conns[c] = info
	s.conns.mu.Unlock()
	return context.WithValue(ctx, connKey{}, info)
}

func (s *Server) connState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.metrics.connsOpened.Inc()
	case http.StateIdle, http.StateActive:
		s.conns.mu.Lock()
		if info := s.conns.conns[c]; info != nil {
			info.idle = state == http.StateIdle
			if info.idle {
				info.idleSince = time.Now()
			}
		}
		s.conns.mu.Unlock()
	case http.StateClosed, http.StateHijacked:
		s.conns.mu.Lock()
		if info := s.conns.conns[c]; info != nil {
			delete(s.conns.conns, c)
			if info.aged.Load() {
				s.conns.agedSinceEvent++
				s.conns.agedTotal++
				s.metrics.connsAged.Inc()
			}
		}
		s.conns.mu.Unlock()
	}
}

// checkConnAge answers a request on a connection older than MaxConnAge
// with "Connection: close": the request is served, then the connection ends.
func (s *Server) checkConnAge(w http.ResponseWriter, r *http.Request) {
	if s.maxAgeWall <= 0 {
		return
	}
	info, _ := r.Context().Value(connKey{}).(*connInfo)
	if info == nil || time.Since(info.accepted) < s.maxAgeWall {
		return
	}
	info.aged.Store(true)
	w.Header().Set("Connection", "close")
}

// sweep closes idle connections older than MaxConnAge and reports aged-out
// connections as one "conn-aged-out" event (count since the last one, and
// total) at most every 250 ms. A connection must have been idle for a grace
// period (half the age, at most 1 s) before it is closed: a busy client's
// connection is retired by the "Connection: close" of its next response
// instead, which cannot race with a request in flight. Closing an idle
// connection can race with a request the client sends at that very moment,
// as with any HTTP server's idle timeout; the SDKs retry that error.
// expire runs the core's time-to-live sweep every TTLSweepInterval of
// incident time and reports what it deleted as "ttl-expired" events.
func (s *Server) expire(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-s.env.Clock.After(s.cfg.TTLSweepInterval):
		}
		s.mu.Lock()
		gone := s.core.ExpireItems()
		s.mu.Unlock()
		for _, e := range gone {
			s.env.Events.Emit("ttl-expired", "table", e.Table, "items", e.Items)
		}
	}
}

func (s *Server) sweep(ctx context.Context) {
	defer s.wg.Done()
	interval := time.Second
	if s.maxAgeWall > 0 {
		interval = min(max(s.maxAgeWall/4, 5*time.Millisecond), time.Second)
	}
	grace := min(s.maxAgeWall/2, time.Second)
	// At most one "conn-aged-out" event per gap: counts, not a line per
	// connection.
	const minEventGap = 250 * time.Millisecond
	var lastEvent time.Time
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.Close()
			return
		case <-s.stop:
			return
		case <-tick.C:
		}
		var toClose []net.Conn
		s.conns.mu.Lock()
		if s.maxAgeWall > 0 {
			now := time.Now()
			for c, info := range s.conns.conns {
				if info.idle && now.Sub(info.accepted) >= s.maxAgeWall && now.Sub(info.idleSince) >= grace && !info.aged.Load() {
					info.aged.Store(true)
					toClose = append(toClose, c)
				}
			}
		}
		aged, total := 0, s.conns.agedTotal
		if time.Since(lastEvent) >= minEventGap {
			aged = s.conns.agedSinceEvent
			s.conns.agedSinceEvent = 0
		}
		s.conns.mu.Unlock()
		for _, c := range toClose {
			if hasPendingInput(c) {
				// A request is already on its way: let the server read it
				// and answer it with "Connection: close".
				continue
			}
			_ = c.Close()
		}
		if aged > 0 {
			lastEvent = time.Now()
			s.env.Events.Emit("conn-aged-out", "count", aged, "total", total)
		}
	}
}

// OpenConns is the number of client connections open now.
func (s *Server) OpenConns() int { return s.conns.open() }
