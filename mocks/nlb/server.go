package nlb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
)

// Config configures an NLB server. Durations are incident time.
type Config struct {
	// CoreConfig is the mechanism: mode, zones, health checking, failover.
	CoreConfig
	// ListenAddr is the data-plane listener: GET / is forwarded to a target.
	ListenAddr string `flag:"listen-addr" usage:"data-plane listener"`
	// NodeAddrs maps each AZ to the IPv4 address of its node: one A record
	// of DNSName per AZ in DNS. Default 127.0.3.1, .2, .3.
	NodeAddrs map[string]string `flag:"node-addrs" usage:"az=ipv4 of each AZ node's A record (default 127.0.3.1-3)"`
	// DNSName is the NLB's name; Zone is the hosted zone created for it
	// when no existing hosted zone contains the name.
	DNSName string `flag:"dns-name" usage:"the NLB's DNS name (default cascade-nlb.elb.us-east-1.amazonaws.com.)"`
	Zone    string `flag:"zone" usage:"hosted zone holding the name (default elb.us-east-1.amazonaws.com.)"`
	// HostedZoneID is Zone's id; empty looks it up (or creates it) by name.
	HostedZoneID string `flag:"hosted-zone-id" usage:"hosted zone id (default: looked up or created by name)"`
	// TTL of the A record set, seconds.
	TTL int64 `flag:"ttl" usage:"record TTL in seconds (default 60)"`
	// Route53API is the Route53 API base URL; empty disables publishing.
	Route53API string `flag:"route53-api" usage:"Route53 API URL; empty disables DNS publishing"`
	// NetMgrURL is where health checks and forwarded requests go (the
	// Network Manager data plane, usually through a link proxy).
	NetMgrURL string `flag:"netmgr" usage:"Network Manager data plane URL for health checks, usually a link proxy"`
	// NetMgrAPI is the Network Manager API asked about propagation (fixed);
	// defaults to NetMgrURL.
	NetMgrAPI string `flag:"netmgr-api" usage:"Network Manager API URL for propagation state (default --netmgr)"`
	// EC2API is the EC2 Query API polled for targets: running instances
	// tagged cascade:target-group=TargetGroup. Empty: targets only come from
	// POST /admin/targets.
	EC2API string `flag:"ec2-api" usage:"EC2 Query API polled for running instances tagged cascade:target-group=<target-group>; empty: targets only via POST /admin/targets"`
	// TargetGroup is the tag value that makes an instance a target.
	TargetGroup string `flag:"target-group" usage:"target group tag value (default cascade-nlb)"`
	// PollInterval is how often EC2 is polled.
	PollInterval time.Duration `flag:"poll-interval" usage:"EC2 poll interval, incident time (default 1m)"`
	// TickInterval is how often the core runs.
	TickInterval time.Duration `flag:"tick" usage:"core tick, incident time (default 15s)"`
	// MinWallTimeout is the least wall time a health-check request may take
	// before it fails: at replay speed CheckTimeout is a few dozen
	// milliseconds, and a loaded machine must not fail checks by itself.
	MinWallTimeout time.Duration `flag:"min-wall-timeout" usage:"least wall time a health-check request may take (default 1s)"`
	// CheckWorkers bounds concurrent health-check requests (wall resources).
	CheckWorkers int `flag:"check-workers" usage:"concurrent health-check requests (default 16)"`
	// SampleInterval is how often an "nlb-state" event is emitted.
	SampleInterval time.Duration `flag:"sample" usage:"nlb-state event interval, incident time (default 10m)"`
}

// NodeAddrsFor is given (the Config's NodeAddrs) with every AZ of azs
// that has no address given its default, 127.0.3.<its index+1>.
func NodeAddrsFor(given map[string]string, azs []string) map[string]string {
	out := map[string]string{}
	for az, a := range given {
		out[az] = a
	}
	for i, az := range azs {
		if out[az] == "" {
			out[az] = fmt.Sprintf("127.0.3.%d", i+1)
		}
	}
	return out
}

func (c *Config) validate() error {
	if c.ListenAddr == "" {
		c.ListenAddr = "127.0.0.1:0"
	}
	if c.DNSName == "" {
		c.DNSName = "cascade-nlb.elb.us-east-1.amazonaws.com."
	}
	if c.Zone == "" {
		c.Zone = "elb.us-east-1.amazonaws.com."
	}
	if !strings.HasSuffix(c.DNSName, ".") {
		c.DNSName += "."
	}
	if !strings.HasSuffix(c.Zone, ".") {
		c.Zone += "."
	}
	if !strings.HasSuffix(c.DNSName, "."+c.Zone) {
		return fmt.Errorf("dns name %q is not inside zone %q", c.DNSName, c.Zone)
	}
	if c.TTL == 0 {
		c.TTL = 60
	}
	if c.TickInterval == 0 {
		c.TickInterval = 15 * time.Second
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = 10 * time.Minute
	}
	if c.TargetGroup == "" {
		c.TargetGroup = "cascade-nlb"
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Minute
	}
	if c.PollInterval < 0 {
		return fmt.Errorf("poll interval %v: must be positive", c.PollInterval)
	}
	if c.MinWallTimeout == 0 {
		c.MinWallTimeout = time.Second
	}
	if c.CheckWorkers == 0 {
		c.CheckWorkers = 16
	}
	if c.TickInterval < 0 || c.SampleInterval < 0 || c.CheckWorkers < 0 || c.TTL < 0 || c.MinWallTimeout < 0 {
		return fmt.Errorf("tick, sample, workers and ttl must be positive")
	}
	if c.NetMgrURL == "" {
		return errors.New("netmgr url is required (the data plane health checks go to)")
	}
	if c.NetMgrAPI == "" {
		c.NetMgrAPI = c.NetMgrURL
	}
	return nil
}

func (c Config) core() CoreConfig { return c.CoreConfig }

// Validated is c with its defaults filled in, or the error New would
// return: the one reading of a Config, for transports other than Server
// (the simulation backend).
func (c Config) Validated() (Config, error) {
	err := c.validate()
	return c, err
}

// Server is the NLB transport: health-check workers, the DNS publisher,
// the data-plane listener and the admin routes around a Core.
type Server struct {
	cfg Config
	env *kit.Env

	mu   sync.Mutex
	core *Core

	http   *kit.HTTPServer
	hc     *http.Client
	r53    *route53.Client
	ec2    *ec2.Client
	loops  kit.Loop
	checks chan Check
	dns    chan []string
	props  chan []string

	fpDNS, fpCheck *kit.Failpoint

	mHealthy   prometheus.Gauge
	mAZHealthy *prometheus.GaugeVec
	mInDNS     prometheus.Gauge
	mRemoved   prometheus.Gauge
	mFlaps     prometheus.Counter
	mFailovers *prometheus.CounterVec
	mDNS       *prometheus.CounterVec
	mChecks    *prometheus.CounterVec
	mRequests  *prometheus.CounterVec
}

// New builds a server; nothing runs until Start.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("nlb config: %w", err)
	}
	core, err := NewCore(cfg.core(), env.Clock, env.Rand)
	if err != nil {
		return nil, err
	}
	cfg.Mode, cfg.AZs = core.cfg.Mode, core.cfg.AZs
	cfg.NodeAddrs = NodeAddrsFor(cfg.NodeAddrs, cfg.AZs)
	for az := range cfg.NodeAddrs {
		if _, ok := core.azIndex[az]; !ok {
			return nil, fmt.Errorf("nlb config: node address for %w %q (valid: %v)", ErrUnknownAZ, az, cfg.AZs)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = cfg.CheckWorkers + 8
	s := &Server{cfg: cfg, env: env, core: core,
		hc:      &http.Client{Transport: tr, Timeout: max(kit.WallDuration(env.Clock, core.cfg.CheckTimeout), cfg.MinWallTimeout)},
		checks:  make(chan Check, 4096),
		dns:     make(chan []string, 1),
		props:   make(chan []string, 1),
		fpDNS:   env.Failpoints.Register(env.Name + "/dns-change"),
		fpCheck: env.Failpoints.Register(env.Name + "/health-check"),
		mHealthy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_nlb_healthy_capacity",
			Help: "Healthy in-service targets in AZs that are in DNS."}),
		mAZHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cascade_nlb_az_healthy_targets", Help: "Healthy in-service targets per AZ."}, []string{"az"}),
		mInDNS:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_nlb_azs_in_dns", Help: "AZs whose node address is in the NLB's DNS name."}),
		mRemoved:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "cascade_nlb_capacity_removed_ratio", Help: "Share of AZs removed from DNS."}),
		mFlaps:     prometheus.NewCounter(prometheus.CounterOpts{Name: "cascade_nlb_target_flaps_total", Help: "Changes of a target's health."}),
		mFailovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_nlb_az_failovers_total", Help: "AZs removed from or restored to DNS."}, []string{"action"}),
		mDNS:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_nlb_dns_changes_total", Help: "Route53 changes of the NLB's record set."}, []string{"result"}),
		mChecks:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_nlb_health_checks_total", Help: "Health checks by result."}, []string{"result"}),
		mRequests:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_nlb_requests_total", Help: "Requests through the NLB's listener by status code."}, []string{"code"}),
	}
	env.Metrics.MustRegister(s.mHealthy, s.mAZHealthy, s.mInDNS, s.mRemoved, s.mFlaps, s.mFailovers, s.mDNS, s.mChecks, s.mRequests)
	if cfg.Route53API != "" {
		if s.r53, err = awsclient.Route53(cfg.Route53API, awsclient.WithMaxAttempts(2)); err != nil {
			return nil, fmt.Errorf("nlb: %w", err)
		}
	}
	if cfg.EC2API != "" {
		if s.ec2, err = awsclient.EC2(cfg.EC2API, awsclient.WithMaxAttempts(1)); err != nil {
			return nil, fmt.Errorf("nlb: %w", err)
		}
	}
	return s, nil
}

// Config returns the validated configuration.
func (s *Server) Config() Config { return s.cfg }

// Start binds the data-plane listener and starts the loops.
func (s *Server) Start(ctx context.Context) error {
	h, err := kit.StartHTTP(s.cfg.ListenAddr, http.HandlerFunc(s.RequestForward))
	if err != nil {
		return fmt.Errorf("start nlb: %w", err)
	}
	s.http = h
	loops := []func(context.Context){s.dnsPublisher, s.propagationPoller, s.loop}
	for range s.cfg.CheckWorkers {
		loops = append(loops, s.checkWorker)
	}
	if s.ec2 != nil {
		loops = append(loops, s.ec2Poller)
	}
	s.loops.Start(ctx, loops...)
	s.publish(s.core.dnsSet())
	s.env.Events.Emit("nlb-started", "addr", h.Addr(), "mode", string(s.cfg.Mode), "dnsName", s.cfg.DNSName, "azs", s.cfg.AZs)
	return nil
}

// ListenAddr is the bound data-plane address (after Start).
func (s *Server) ListenAddr() string { return s.http.Addr() }

// URL is http://ListenAddr.
func (s *Server) URL() string { return s.http.URL() }

// Close stops every loop and the listener; it may be called more than once.
func (s *Server) Close() error {
	s.loops.Close()
	err := s.http.Close()
	s.hc.CloseIdleConnections()
	return err
}

// State returns the NLB's state.
func (s *Server) State(withTargets bool) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.State(withTargets)
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
		now := s.env.Clock.Now()
		s.mu.Lock()
		r := s.core.Tick(now)
		st := s.core.State(false)
		s.mu.Unlock()
		s.publishReady(r)
		for _, ch := range r.Checks {
			select {
			case s.checks <- ch:
			default: // the workers are saturated: the probe never starts and fails
				s.result(ch, false, "overloaded")
			}
		}
		if len(r.NeedPropagation) > 0 {
			select {
			case s.props <- r.NeedPropagation:
			default: // the poller is busy; the core asks again later
			}
		}
		s.mHealthy.Set(float64(st.HealthyCapacity))
		s.mInDNS.Set(float64(len(st.AZsInDNS)))
		s.mRemoved.Set(st.CapacityRemoved)
		for _, a := range st.AZs {
			s.mAZHealthy.WithLabelValues(a.AZ).Set(float64(a.Healthy))
		}
		if now.Sub(lastSample) >= s.cfg.SampleInterval {
			lastSample = now
			s.env.Events.Emit("nlb-state", "healthyCapacity", st.HealthyCapacity, "inService", st.InService,
				"azsInDNS", st.AZsInDNS, "flaps", st.Flaps, "lateChecks", st.LateChecks, "failoverEnabled", st.FailoverEnabled)
		}
	}
}

// publishReady turns a Ready's facts into events, metrics and DNS changes.
func (s *Server) publishReady(r Ready) {
	for _, id := range r.Entered {
		s.env.Events.Emit("target-in-service", "target", id)
	}
	for _, f := range r.Flaps {
		s.mFlaps.Inc()
		s.env.Events.Emit("target-flap", "target", f.Target, "az", f.AZ, "healthy", f.Healthy, "flaps", f.Flaps)
	}
	for _, f := range r.Failovers {
		action := "restored"
		if f.Removed {
			action = "removed"
		}
		s.mFailovers.WithLabelValues(action).Inc()
		s.env.Events.Emit("az-failover", "az", f.AZ, "action", action, "unhealthyShare", f.UnhealthyShare, "reason", f.Reason)
	}
	if r.Late > 0 {
		s.mChecks.WithLabelValues("late").Add(float64(r.Late))
	}
	if r.DNSChanged {
		s.publish(r.DNS)
	}
}

// publish hands the desired AZ set to the DNS publisher; a newer set
// replaces one not yet written.
func (s *Server) publish(azs []string) {
	for {
		select {
		case s.dns <- azs:
			return
		default:
		}
		select {
		case <-s.dns:
		default:
		}
	}
}

func (s *Server) checkWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-s.checks:
			ok, why := s.probe(ctx, ch.Target, ch.Node)
			s.result(ch, ok, why)
		}
	}
}

func (s *Server) result(ch Check, ok bool, why string) {
	if ok {
		why = "pass"
	}
	s.mChecks.WithLabelValues(why).Inc()
	s.mu.Lock()
	s.core.Result(ch, ok)
	s.mu.Unlock()
}

// probe asks the target's data plane, as seen from node, for its health.
func (s *Server) probe(ctx context.Context, target, node string) (bool, string) {
	if err := s.fpCheck.Err(ctx); err != nil {
		return false, "failpoint"
	}
	u := s.cfg.NetMgrURL + "/dataplane/" + url.PathEscape(target) + "/health?node=" + url.QueryEscape(node)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, "error"
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return false, "unreachable"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, "fail"
	}
	return true, ""
}

// propagationPoller (fixed) asks Network Manager whether targets waiting to
// enter service have their network state everywhere.
func (s *Server) propagationPoller(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ids := <-s.props:
			for _, id := range ids {
				if ctx.Err() != nil {
					return
				}
				if s.propagated(ctx, id) {
					s.mu.Lock()
					_ = s.core.MarkPropagated(id)
					s.mu.Unlock()
				}
			}
		}
	}
}

// propagated asks Network Manager's API whether id's network state is
// everywhere; no answer counts as not yet.
func (s *Server) propagated(ctx context.Context, id string) bool {
	st, err := netmgrclient.NewClient(s.cfg.NetMgrAPI, s.env.Clock, s.hc).Instance(ctx, id)
	return err == nil && st.Propagated
}

// dnsPublisher writes the NLB's A record set: one value per AZ in DNS.
// Failed writes are retried with the newest desired set.
func (s *Server) dnsPublisher(ctx context.Context) {
	if s.r53 == nil {
		for {
			select {
			case <-ctx.Done():
				return
			case azs := <-s.dns:
				s.env.Events.Emit("dns-change", "azs", azs, "published", false)
			}
		}
	}
	zoneID := s.cfg.HostedZoneID
	var pending []string
	havePending := false
	retry := s.env.Clock.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case pending = <-s.dns:
			havePending = true
		case <-retry.Chan():
		}
		if !havePending {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		if zoneID == "" {
			zoneID, err = s.zoneID(wctx)
		}
		if err == nil {
			err = s.writeRecord(wctx, zoneID, pending)
		}
		cancel()
		if err != nil {
			s.mDNS.WithLabelValues("error").Inc()
			s.env.Events.Emit("dns-change-failed", "azs", pending, "error", err.Error())
			retry.Reset(s.cfg.TickInterval * 4)
			continue
		}
		havePending = false
		s.mDNS.WithLabelValues("ok").Inc()
		s.env.Events.Emit("dns-change", "azs", pending, "published", true)
	}
}

func (s *Server) writeRecord(ctx context.Context, zoneID string, azs []string) error {
	if err := s.fpDNS.Err(ctx); err != nil {
		return err
	}
	addrs := make([]string, 0, len(azs))
	for _, az := range azs {
		addrs = append(addrs, s.cfg.NodeAddrs[az])
	}
	sort.Strings(addrs)
	var change r53types.Change
	if len(addrs) == 0 {
		return errors.New("refusing to publish an empty record set")
	}
	rrs := make([]r53types.ResourceRecord, len(addrs))
	for i, a := range addrs {
		rrs[i] = r53types.ResourceRecord{Value: aws.String(a)}
	}
	change = r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
		Name: aws.String(s.cfg.DNSName), Type: r53types.RRTypeA, TTL: aws.Int64(s.cfg.TTL), ResourceRecords: rrs}}
	_, err := s.r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch:  &r53types.ChangeBatch{Comment: aws.String("nlb az failover"), Changes: []r53types.Change{change}},
	})
	if err != nil {
		return fmt.Errorf("change %s: %w", s.cfg.DNSName, err)
	}
	return nil
}

// zoneID finds the hosted zone holding DNSName (the longest existing zone
// the name is in, e.g. the stack's us-east-1.amazonaws.com.), creating
// Zone when there is none.
func (s *Server) zoneID(ctx context.Context) (string, error) {
	for range 2 {
		best, bestID := "", ""
		var marker *string
		for {
			out, err := s.r53.ListHostedZones(ctx, &route53.ListHostedZonesInput{Marker: marker})
			if err != nil {
				return "", fmt.Errorf("list hosted zones: %w", err)
			}
			for _, hz := range out.HostedZones {
				name := strings.ToLower(strings.TrimSuffix(aws.ToString(hz.Name), ".") + ".")
				if (strings.EqualFold(s.cfg.DNSName, name) || strings.HasSuffix(strings.ToLower(s.cfg.DNSName), "."+name)) && len(name) > len(best) {
					best, bestID = name, strings.TrimPrefix(aws.ToString(hz.Id), "/hostedzone/")
				}
			}
			if !out.IsTruncated || out.NextMarker == nil {
				break
			}
			marker = out.NextMarker
		}
		if bestID != "" {
			return bestID, nil
		}
		out, err := s.r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(s.cfg.Zone), CallerReference: aws.String("cascade-nlb-" + s.cfg.Zone)})
		if err == nil {
			return strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/"), nil
		}
		var exists *r53types.HostedZoneAlreadyExists
		if !errors.As(err, &exists) {
			return "", fmt.Errorf("create hosted zone: %w", err)
		}
	}
	return "", fmt.Errorf("hosted zone %s: not found", s.cfg.Zone)
}

// RequestForward handles every request on the data-plane listener: it is
// forwarded to a target chosen by Core.Route, through the node of the AZ a
// client would have resolved. 200 when the target answered, 502 when it
// could not be reached, 503 when no target is in service.
func (s *Server) RequestForward(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rt, err := s.core.Route()
	s.mu.Unlock()
	if err != nil {
		s.mRequests.WithLabelValues("503").Inc()
		writeError(w, err)
		return
	}
	ok, why := s.probe(r.Context(), rt.Target, rt.Node)
	if !ok {
		s.mRequests.WithLabelValues("502").Inc()
		kit.WriteJSON(w, http.StatusBadGateway, apiError{Type: "TargetUnreachable", Message: fmt.Sprintf("target %s via %s: %s", rt.Target, rt.Node, why), Error: "target unreachable"})
		return
	}
	s.mRequests.WithLabelValues("200").Inc()
	kit.WriteJSON(w, http.StatusOK, map[string]string{"target": rt.Target, "az": rt.Node})
}

// AdminRoutes registers the operator actions and the state on the admin mux.
//
//	POST   /admin/failover/disable   automatic AZ DNS failover off (every AZ back in DNS)
//	POST   /admin/failover/enable    automatic AZ DNS failover on
//	GET    /admin/state[?targets=1]  State
//	POST   /admin/targets            {"targets":[{"id","az"}]} register
//	DELETE /admin/targets/{id}       deregister
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/failover/disable", s.FailoverDisable)
	mux.HandleFunc("POST /admin/failover/enable", s.FailoverEnable)
	mux.HandleFunc("GET /admin/state", s.StateGet)
	mux.HandleFunc("POST /admin/targets", s.TargetsRegister)
	mux.HandleFunc("DELETE /admin/targets/{id}", s.TargetDeregister)
}

// FailoverDisable handles POST /admin/failover/disable.
func (s *Server) FailoverDisable(w http.ResponseWriter, r *http.Request) {
	s.setFailover(w, false)
}

// FailoverEnable handles POST /admin/failover/enable.
func (s *Server) FailoverEnable(w http.ResponseWriter, r *http.Request) {
	s.setFailover(w, true)
}

func (s *Server) setFailover(w http.ResponseWriter, enabled bool) {
	s.mu.Lock()
	restored := s.core.SetFailover(enabled)
	r := s.core.pending
	s.core.pending.Failovers, s.core.pending.DNSChanged, s.core.pending.DNS = nil, false, nil
	st := s.core.State(false)
	s.mu.Unlock()
	s.publishReady(Ready{Failovers: r.Failovers, DNSChanged: r.DNSChanged, DNS: r.DNS})
	kind := "failover-enabled"
	if !enabled {
		kind = "failover-disabled"
	}
	s.env.Events.Emit(kind, "restored", restored)
	kit.WriteJSON(w, http.StatusOK, st)
}

// StateGet handles GET /admin/state.
func (s *Server) StateGet(w http.ResponseWriter, r *http.Request) {
	kit.WriteJSON(w, http.StatusOK, s.State(r.URL.Query().Get("targets") != ""))
}

// Target is a target registration.
type Target struct {
	ID string `json:"id"`
	AZ string `json:"az"`
}

// RegisterRequest is the body of POST /admin/targets.
type RegisterRequest struct {
	Targets []Target `json:"targets"`
}

// DecodeRegister decodes and checks a POST /admin/targets body.
func DecodeRegister(r io.Reader, azs []string) (RegisterRequest, error) {
	var req RegisterRequest
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if dec.More() {
		return req, fmt.Errorf("%w: body: trailing data after the JSON object", ErrInvalid)
	}
	if len(req.Targets) == 0 {
		return req, fmt.Errorf("%w: targets must not be empty", ErrInvalid)
	}
	for _, t := range req.Targets {
		if t.ID == "" {
			return req, fmt.Errorf("%w: target id is required", ErrInvalid)
		}
		found := false
		for _, az := range azs {
			found = found || az == t.AZ
		}
		if !found {
			return req, fmt.Errorf("%w: %q for target %q (valid: %v)", ErrUnknownAZ, t.AZ, t.ID, azs)
		}
	}
	return req, nil
}

// TargetsRegister handles POST /admin/targets.
func (s *Server) TargetsRegister(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeRegister(r.Body, s.cfg.AZs)
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range req.Targets {
		if err := s.core.RegisterTarget(t.ID, t.AZ); err != nil {
			writeError(w, err)
			return
		}
	}
	kit.WriteJSON(w, http.StatusOK, map[string]int{"registered": len(req.Targets)})
}

// TargetDeregister handles DELETE /admin/targets/{id}.
func (s *Server) TargetDeregister(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	err := s.core.DeregisterTarget(r.PathValue("id"))
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

// writeError is the one place errors become HTTP statuses and codes.
func writeError(w http.ResponseWriter, err error) {
	status, typ := http.StatusInternalServerError, "InternalFailure"
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnknownAZ):
		status, typ = http.StatusBadRequest, "ValidationError"
	case errors.Is(err, ErrUnknownTarget):
		status, typ = http.StatusNotFound, "TargetNotFound"
	case errors.Is(err, ErrNoTarget):
		status, typ = http.StatusServiceUnavailable, "NoHealthyTarget"
	}
	kit.WriteJSON(w, status, apiError{Type: typ, Message: err.Error(), Error: err.Error()})
}
