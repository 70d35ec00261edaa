package ec2

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/dwfm/dwfmclient"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
)

// Config configures EC2. Durations are incident durations.
type Config struct {
	// APIAddr is where the Query API listens.
	APIAddr string `flag:"api-addr" usage:"Query API address"`
	// Mode is accepted for symmetry with the other services; EC2's own
	// behaviour does not change with it.
	Mode kit.Mode `flag:"mode" usage:"aswas or fixed (EC2 itself does not change with it)"`
	// Zones lists the zones; DWFM maps a zone id or name to its DWFM host's
	// URL and fills Zones' DWFM fields (defaults: DefaultZones).
	Zones []Zone
	DWFM  map[string]string `flag:"dwfm" usage:"DWFM host per zone: use1-az1=http://dwfm-a:8080,... (zone id or name)"`
	// NetMgrURL is Network Manager's base URL ("" leaves every hand-off
	// pending and every instance without connectivity).
	NetMgrURL string `flag:"netmgr" usage:"Network Manager base URL"`
	// RunPerMinute throttles RunInstances from the start (0: none);
	// RunBurst is the bucket's size (default RunPerMinute/6, at least 1).
	RunPerMinute float64 `flag:"run-rate" usage:"RunInstances throttle, calls per incident minute (0: none)"`
	RunBurst     float64 `flag:"run-burst" usage:"RunInstances throttle bucket size (default rate/6, at least 1)"`
	// BootTime is how long a new instance stays pending.
	BootTime time.Duration `flag:"boot-time" usage:"time an instance stays pending, incident time (default 1m)"`
	// HandoffRetry is the period of hand-off retries and connectivity polls.
	HandoffRetry time.Duration `flag:"handoff-retry" usage:"Network Manager hand-off retry and poll period, incident time (default 1m)"`
	// NetWorkPerLaunch is the bulk setup work each new instance owes Network
	// Manager once its own state has propagated (its interfaces, routes and
	// security groups pushed to the hosts of its network), posted as
	// "instance-setup" work (0: none). Refused work is posted again after a
	// backoff from HandoffRetry.
	NetWorkPerLaunch int `flag:"net-work-per-launch" usage:"bulk setup work items each new instance owes Network Manager (0: none)"`
	// CallTimeout bounds a call to DWFM or Network Manager (wall time at
	// least MinWallTimeout).
	CallTimeout    time.Duration `flag:"call-timeout" usage:"DWFM and Network Manager call timeout, incident time (default 1m)"`
	MinWallTimeout time.Duration `flag:"min-wall-timeout" usage:"floor of the call timeout, wall time (default 500ms)"`
	// OwnerID is the account id in responses.
	OwnerID string `flag:"owner-id" usage:"account id in responses (default 123456789012)"`
}

func (c *Config) validate() error {
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:0"
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return fmt.Errorf("ec2 config: %w", err)
	}
	if len(c.Zones) == 0 {
		c.Zones = DefaultZones()
	}
	for key, u := range c.DWFM {
		found := false
		for i := range c.Zones {
			if c.Zones[i].ID == key || c.Zones[i].Name == key {
				c.Zones[i].DWFM, found = u, true
			}
		}
		if !found {
			return fmt.Errorf("ec2 config: DWFM for unknown zone %q: valid zones are %s", key, zoneList(c.Zones))
		}
	}
	if c.RunPerMinute < 0 {
		return fmt.Errorf("ec2 config: RunPerMinute %v must be >= 0", c.RunPerMinute)
	}
	if c.BootTime <= 0 {
		c.BootTime = time.Minute
	}
	if c.HandoffRetry <= 0 {
		c.HandoffRetry = time.Minute
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = time.Minute
	}
	if c.MinWallTimeout <= 0 {
		c.MinWallTimeout = 500 * time.Millisecond
	}
	if c.OwnerID == "" {
		c.OwnerID = "123456789012"
	}
	return nil
}

// Validated is c with its defaults filled in (and its zones' DWFM hosts),
// or the error New would return: the one reading of a Config, for
// transports other than Server (the simulation backend).
func (c Config) Validated() (Config, error) {
	c.Zones = slices.Clone(c.Zones)
	err := c.validate()
	return c, err
}

// CoreConfig is the core configuration of a Validated Config: what New
// builds its Core from.
func (c Config) CoreConfig() CoreConfig {
	return CoreConfig{BootTime: c.BootTime, RunPerMinute: c.RunPerMinute, RunBurst: c.RunBurst,
		SetupWork: c.NetWorkPerLaunch, SetupBackoff: c.HandoffRetry, Zones: c.Zones}
}

func zoneList(zs []Zone) string {
	var s []string
	for _, z := range zs {
		s = append(s, z.ID+" ("+z.Name+")")
	}
	return strings.Join(s, ", ")
}

// Server is the EC2 Query API.
type Server struct {
	cfg Config
	env *kit.Env

	mu   sync.Mutex
	core *Core

	hc       *http.Client
	nm       *netmgrclient.Client // nil: no Network Manager
	wallTO   time.Duration
	api      *kit.HTTPServer
	loops    kit.Loop
	wake     chan struct{}
	sampler  sampler
	fpRun    *kit.Failpoint
	launches *prometheus.CounterVec
	conn     *prometheus.GaugeVec
	pending  prometheus.Gauge
}

// New builds EC2; Start serves it.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, env: env,
		core:  NewCore(cfg.CoreConfig(), env.Clock, env.Rand),
		wake:  make(chan struct{}, 1),
		fpRun: env.Failpoints.Register(env.Name + "/run-instances"),
	}
	s.sampler = sampler{clock: env.Clock, events: env.Events, every: time.Minute, last: map[string]time.Time{}, count: map[string]int{}}
	s.launches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_ec2_launches_total", Help: "RunInstances calls by outcome (ok or the EC2 error code)."}, []string{"outcome"})
	s.conn = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cascade_ec2_instances", Help: "Live instances by connectivity (propagated or pending)."}, []string{"connectivity"})
	s.pending = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_ec2_handoffs_pending", Help: "Instances whose network state Network Manager has not accepted yet."})
	env.Metrics.MustRegister(s.launches, s.conn, s.pending)
	return s, nil
}

// Start binds the API and runs the hand-off loop.
func (s *Server) Start(ctx context.Context) error {
	s.wallTO = max(kit.WallDuration(s.env.Clock, s.cfg.CallTimeout), s.cfg.MinWallTimeout)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 32
	s.hc = &http.Client{Transport: tr, Timeout: s.wallTO}
	if s.cfg.NetMgrURL != "" {
		s.nm = netmgrclient.NewClient(strings.TrimRight(s.cfg.NetMgrURL, "/"), s.env.Clock, s.hc)
	}
	api, err := kit.StartHTTP(s.cfg.APIAddr, s)
	if err != nil {
		return fmt.Errorf("start ec2: %w", err)
	}
	s.api = api
	s.loops.Start(ctx, s.handoffLoop)
	return nil
}

// Close stops EC2 and releases its port.
func (s *Server) Close() error {
	s.loops.Close()
	return s.api.Close()
}

// APIAddr is the Query API's address (after Start).
func (s *Server) APIAddr() string { return s.api.Addr() }

// URL is the Query API's base URL (after Start), for awsclient.EC2.
func (s *Server) URL() string { return s.api.URL() }

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.RequestID()
}

// ServeHTTP serves the Query API: POST form-encoded (or GET with a query).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := s.requestID()
	req, err := s.decode(w, r)
	if err != nil {
		s.writeError(w, rid, err)
		return
	}
	var resp any
	switch req.Action {
	case "RunInstances":
		resp, err = s.InstancesRun(r.Context(), req, rid)
	case "DescribeInstances":
		resp, err = s.InstancesDescribe(req, rid)
	case "TerminateInstances":
		resp, err = s.InstancesTerminate(req, rid)
	}
	if err != nil {
		s.writeError(w, rid, err)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(resp); err != nil {
		s.writeError(w, rid, apiErr(CodeInternalError, "encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", rid)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request) (*Request, error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, apiErr(CodeInvalidAction, "method %s: the EC2 Query API takes POST or GET", r.Method)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, apiErr(CodeInvalidParameterValue, "malformed request body: %v", err)
	}
	if r.Header.Get("Authorization") == "" && r.Form.Get("X-Amz-Signature") == "" {
		return nil, apiErr(CodeAuthFailure, "AWS was not able to validate the provided access credentials")
	}
	return DecodeQuery(r.Form)
}

// writeError is the one place where errors become EC2's error document.
func (s *Server) writeError(w http.ResponseWriter, rid string, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = apiErr(CodeInternalError, "An internal error has occurred: %v", err)
	}
	doc := xmlErrorResponse{RequestID: rid}
	doc.Errors = append(doc.Errors, struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}{ae.Code, ae.Message})
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	_ = xml.NewEncoder(&buf).Encode(doc)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", rid)
	w.WriteHeader(ae.Status())
	_, _ = w.Write(buf.Bytes())
}

// InstancesRun is RunInstances: throttle, placement on leased droplets,
// hand-off to Network Manager.
func (s *Server) InstancesRun(ctx context.Context, req *Request, rid string) (any, error) {
	resp, err := s.run(ctx, req.Run, req.DryRun, rid)
	outcome := "ok"
	if err != nil {
		outcome = CodeInternalError
		var ae *APIError
		if errors.As(err, &ae) {
			outcome = ae.Code
		}
		s.sampler.emit("launch-failed", outcome, "code", outcome)
	}
	s.launches.WithLabelValues(outcome).Inc()
	return resp, err
}

func (s *Server) run(ctx context.Context, rr *RunRequest, dryRun bool, rid string) (any, error) {
	if v, ok := s.fpRun.Eval(ctx); ok {
		code := CodeRequestLimitExceeded
		if v == CodeInsufficientCapacity || v == CodeInternalError {
			code = v
		}
		return nil, apiErr(code, "Request limit exceeded. (failpoint %s)", s.fpRun.Name())
	}
	spec := LaunchSpec{ImageID: rr.ImageID, InstanceType: rr.InstanceType, KeyName: rr.KeyName, Tags: rr.Tags,
		Zone: rr.Zone, ZoneID: rr.ZoneID, MinCount: rr.MinCount, MaxCount: rr.MaxCount}
	s.mu.Lock()
	p, err := s.core.StartRun(spec)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if dryRun {
		return nil, apiErr(CodeDryRunOperation, "Request would have succeeded, but DryRun flag is set.")
	}
	for z, ok := p.Next(); ok; z, ok = p.Next() {
		p.Answer(s.allocate(ctx, z))
	}
	s.mu.Lock()
	resID, insts, err := s.core.Place(p)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := xmlRunResponse{Xmlns: xmlns, RequestID: rid, ReservationID: resID, OwnerID: s.cfg.OwnerID}
	for _, in := range insts {
		out.Instances = append(out.Instances, xmlInstanceOf(in, s.core.State(in)))
	}
	s.mu.Unlock()
	s.sampler.emit("instance-launched", insts[0].ZoneID, "instanceId", insts[0].ID, "az", insts[0].ZoneID, "droplet", insts[0].Droplet, "instances", len(insts))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return out, nil
}

// allocate asks zone z's DWFM host for one droplet with a valid lease.
func (s *Server) allocate(ctx context.Context, z Zone) (Allocation, string) {
	a, err := (&dwfmclient.Client{BaseURL: z.DWFM, HTTP: s.hc}).Allocate(ctx, z.ID)
	switch {
	case errors.Is(err, dwfmclient.ErrNoCapacity):
		return NoCapacity, ""
	case err != nil:
		return Unreachable, ""
	}
	return Allocated, a.Droplet
}

// InstancesDescribe is DescribeInstances.
func (s *Server) InstancesDescribe(req *Request, rid string) (any, error) {
	d := req.Describe
	s.mu.Lock()
	defer s.mu.Unlock()
	insts, next, err := s.core.Describe(d.IDs, d.Filters, d.MaxResults, d.NextToken)
	if err != nil {
		return nil, err
	}
	out := xmlDescribeResponse{Xmlns: xmlns, RequestID: rid, NextToken: next}
	idx := map[string]int{}
	for _, in := range insts {
		i, ok := idx[in.ReservationID]
		if !ok {
			i = len(out.Reservations)
			idx[in.ReservationID] = i
			out.Reservations = append(out.Reservations, xmlReservation{ReservationID: in.ReservationID, OwnerID: s.cfg.OwnerID})
		}
		out.Reservations[i].Instances = append(out.Reservations[i].Instances, xmlInstanceOf(in, s.core.State(in)))
	}
	return out, nil
}

// InstancesTerminate is TerminateInstances.
func (s *Server) InstancesTerminate(req *Request, rid string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changes, err := s.core.Terminate(req.Terminate.IDs)
	if err != nil {
		return nil, err
	}
	out := xmlTerminateResponse{Xmlns: xmlns, RequestID: rid}
	for _, c := range changes {
		out.Instances = append(out.Instances, xmlStateChange{InstanceID: c.ID,
			CurrentState: xmlState{Code: StateCode(c.Current), Name: c.Current}, PreviousState: xmlState{Code: StateCode(c.Previous), Name: c.Previous}})
	}
	return out, nil
}

// handoffLoop hands new instances' network state to Network Manager
// (retrying while it is absent or refuses), polls for propagation, and
// reports terminations.
func (s *Server) handoffLoop(ctx context.Context) {
	ticker := s.env.Clock.NewTicker(s.cfg.HandoffRetry)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
		case <-s.wake:
		}
		s.syncNetMgr(ctx)
	}
}

// syncNetMgr carries out one NetRound with Network Manager and posts the
// setup work the instances that connected in it owe.
func (s *Server) syncNetMgr(ctx context.Context) {
	if s.nm != nil {
		s.mu.Lock()
		round := s.core.NetRound()
		s.mu.Unlock()
		res := s.exchange(ctx, round)
		s.mu.Lock()
		conns := s.core.NetRoundDone(res)
		setup := s.core.TakeSetup()
		s.mu.Unlock()
		for _, c := range conns {
			s.env.Events.Emit("instance-connected", "instanceId", c.ID, "az", c.ZoneID, "after", c.After.String())
		}
		if setup > 0 {
			admitted, err := s.nm.PostWork(ctx, SetupWorkKind, setup)
			if err != nil && !errors.Is(err, netmgrclient.ErrThrottled) {
				admitted = 0 // a 429 from admission control carries the count
			}
			s.mu.Lock()
			s.core.SetupDone(admitted)
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	prop, pend := s.core.Connectivity()
	waiting := s.core.HandoffsPending()
	s.mu.Unlock()
	s.conn.WithLabelValues("propagated").Set(float64(prop))
	s.conn.WithLabelValues("pending").Set(float64(pend))
	s.pending.Set(float64(waiting))
}

// exchange performs a round's calls: a hand-off counts when Network Manager
// accepts it or already knows the instance (409), a termination when it is
// reported or unknown there (404).
func (s *Server) exchange(ctx context.Context, r NetRound) NetResult {
	var res NetResult
	for _, in := range r.Register {
		if _, err := s.nm.RegisterInstance(ctx, in.ID, in.ZoneID); err == nil || httpStatus(err) == http.StatusConflict {
			res.Registered = append(res.Registered, in.ID)
		}
	}
	for _, in := range r.Poll {
		if st, err := s.nm.Instance(ctx, in.ID); err == nil && st.Propagated {
			res.Propagated = append(res.Propagated, in.ID)
		}
	}
	for _, id := range r.Delete {
		if err := s.nm.TerminateInstance(ctx, id); err != nil && httpStatus(err) != http.StatusNotFound {
			res.Undelivered = append(res.Undelivered, id)
		}
	}
	return res
}

// httpStatus is the status of Network Manager's error answer (0: none came).
func httpStatus(err error) int {
	var ae *netmgrclient.APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// InstanceView is one instance as GET /admin/instances shows it.
type InstanceView struct {
	*Instance
	State string `json:"state"`
}

// Instances lists every instance with its state and connectivity.
func (s *Server) Instances() []InstanceView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InstanceView, 0, len(s.core.Instances()))
	for _, in := range s.core.Instances() {
		cp := *in
		out = append(out, InstanceView{Instance: &cp, State: s.core.State(in)})
	}
	return out
}

// SetThrottle throttles RunInstances to perMinute calls per incident minute
// (0 removes the throttle); burst <= 0 picks the default.
func (s *Server) SetThrottle(perMinute, burst float64) {
	s.mu.Lock()
	s.core.SetRunRate(perMinute, burst)
	s.mu.Unlock()
	s.env.Events.Emit("throttle-set", "ratePerMinute", perMinute)
}

// ThrottleRequest is the body of POST /admin/throttle.
type ThrottleRequest struct {
	RatePerMinute *float64 `json:"ratePerMinute"`
	Burst         float64  `json:"burst,omitempty"`
}

// AdminRoutes registers:
//
//	POST   /admin/throttle {"ratePerMinute": N, "burst": B}  throttle RunInstances (0 removes it)
//	DELETE /admin/throttle                                   remove the throttle
//	GET    /admin/instances                                  instances with state and connectivity
//	GET    /admin/state                                      throttle and counts
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/throttle", func(w http.ResponseWriter, r *http.Request) {
		var req ThrottleRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.RatePerMinute == nil || *req.RatePerMinute < 0 || req.Burst < 0 {
			kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"ratePerMinute": N, "burst": B} with N >= 0 (0 removes the throttle)`})
			return
		}
		s.SetThrottle(*req.RatePerMinute, req.Burst)
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("DELETE /admin/throttle", func(w http.ResponseWriter, r *http.Request) {
		s.SetThrottle(0, 0)
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /admin/instances", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Instances())
	})
	mux.HandleFunc("GET /admin/state", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
}

// State is EC2's summary for GET /admin/state.
type State struct {
	ThrottlePerMinute float64 `json:"throttlePerMinute"`
	Instances         int     `json:"instances"`
	Propagated        int     `json:"propagated"`
	Unpropagated      int     `json:"unpropagated"`
	// SetupOwed, SetupPosted and SetupRefused count the setup work owed to
	// Network Manager (Config.NetWorkPerLaunch).
	SetupOwed    int    `json:"setupOwed"`
	SetupPosted  uint64 `json:"setupPosted"`
	SetupRefused uint64 `json:"setupRefused"`
}

// State returns EC2's summary.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StateOf(s.core)
}

// StateOf is core's summary, as State serves it (harness/sim reads a core
// it drives itself the same way).
func StateOf(c *Core) State {
	p, u := c.Connectivity()
	owed, posted, refused := c.SetupStats()
	return State{ThrottlePerMinute: c.RunRate(), Instances: len(c.Instances()), Propagated: p, Unpropagated: u,
		SetupOwed: owed, SetupPosted: posted, SetupRefused: refused}
}

// sampler emits at most one event per kind and key per period, with the
// count of occurrences it stands for.
type sampler struct {
	mu     sync.Mutex
	clock  kit.Clock
	events *kit.Events
	every  time.Duration
	last   map[string]time.Time
	count  map[string]int
}

func (p *sampler) emit(kind, key string, kv ...any) {
	p.mu.Lock()
	k := kind + "/" + key
	p.count[k]++
	now := p.clock.Now()
	if last, ok := p.last[k]; ok && now.Sub(last) < p.every {
		p.mu.Unlock()
		return
	}
	n := p.count[k]
	p.count[k] = 0
	p.last[k] = now
	p.mu.Unlock()
	p.events.Emit(kind, append(kv, "count", n)...)
}
