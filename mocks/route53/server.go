package route53

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

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// DefaultZones are the hosted zones the stack serves: the regional endpoint
// zone and the dual-stack endpoint zone.
var DefaultZones = []string{"us-east-1.amazonaws.com.", "api.aws."}

// Config configures a Server.
type Config struct {
	// DNSAddr is where DNS is served, on the same port for UDP and TCP
	// (default "127.0.0.1:0": a free port from the kernel).
	DNSAddr string `flag:"dns-addr" usage:"DNS address, served on UDP and TCP"`
	// APIAddr is where the Route53 REST API is served (default "127.0.0.1:0").
	APIAddr string `flag:"api-addr" usage:"Route53 REST API address"`
	// Mode is aswas (Route53's native checks only) or fixed (a shorthand
	// for CNAMEGuard).
	Mode kit.Mode `flag:"mode" usage:"aswas, or fixed: a shorthand for --cname-guard"`
	// CNAMEGuard also refuses a batch that leaves a CNAME or alias pointing
	// at a name with no records (see StoreConfig; not real Route53).
	CNAMEGuard bool `flag:"cname-guard" usage:"also refuse a batch that leaves a CNAME or alias dangling (not real Route53)"`
	// Zones are hosted zones created at construction.
	Zones []string `flag:"zone" usage:"hosted zones created at start, comma-separated or repeated"`
	// MaxChangesPerBatch bounds a change batch (default 1000, Route53's limit;
	// scale tests raise it).
	MaxChangesPerBatch int `flag:"max-changes-per-batch" usage:"most changes in one change batch"`
	// MaxBodyBytes bounds an API request body (default 32 MiB).
	MaxBodyBytes int64 `flag:"max-body-bytes" usage:"largest API request body"`
}

func (c *Config) validate() error {
	if c.DNSAddr == "" {
		c.DNSAddr = "127.0.0.1:0"
	}
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:0"
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.MaxChangesPerBatch == 0 {
		c.MaxChangesPerBatch = 1000
	}
	if c.MaxChangesPerBatch < 0 {
		return fmt.Errorf("max changes per batch %d: must be positive", c.MaxChangesPerBatch)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("max body bytes %d: must be positive", c.MaxBodyBytes)
	}
	for _, z := range c.Zones {
		if cn, err := CanonicalName(z); err != nil || cn == "." {
			return fmt.Errorf("zone %q: not a valid domain name", z)
		}
	}
	return nil
}

// Server is the Route53 mock: an authoritative DNS server on UDP and TCP and
// the Route53 REST API, over one Store.
//
//	DNS query --udp/tcp--> dnsHandler --RLock--> Store.Resolve
//	SDK call  --http-----> api         --Lock---> Store.ChangeRecordSets / List / ...
type Server struct {
	cfg Config
	env *kit.Env

	mu    sync.RWMutex
	store *Store
	rngMu sync.Mutex // env.Rand draws for weighted answers

	fpServfail *kit.Failpoint
	fpDrop     *kit.Failpoint
	fpAPIError *kit.Failpoint

	dnsQueries  *prometheus.CounterVec
	apiRequests *prometheus.CounterVec
	records     atomic.Int64
	requestSeq  atomic.Uint64

	udp, tcp  *dns.Server
	dnsAddr   string
	api       *kit.HTTPServer
	serveWG   sync.WaitGroup
	done      chan struct{}
	closeOnce sync.Once
}

var _ kit.Service = (*Server)(nil)

// New builds a server and creates cfg.Zones; Start serves it.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("route53 config: %w", err)
	}
	if env == nil {
		return nil, errors.New("route53: nil env")
	}
	s := &Server{
		cfg:  cfg,
		env:  env,
		done: make(chan struct{}),
		store: NewStore(StoreConfig{
			Mode:               cfg.Mode,
			CNAMEGuard:         cfg.CNAMEGuard,
			MaxChangesPerBatch: cfg.MaxChangesPerBatch,
			Clock:              env.Clock,
			Rand:               rand.New(rand.NewSource(env.Rand.Int63())),
		}),
		fpServfail: env.Failpoints.Register(env.Name + "/dns-servfail"),
		fpDrop:     env.Failpoints.Register(env.Name + "/dns-drop"),
		fpAPIError: env.Failpoints.Register(env.Name + "/api-error"),
		dnsQueries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cascade_route53_dns_queries_total", Help: "DNS queries answered, by rcode (dropped: no answer).",
		}, []string{"rcode"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cascade_route53_api_requests_total", Help: "Route53 API requests by action and outcome (ok or the error code).",
		}, []string{"action", "outcome"}),
	}
	records := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cascade_route53_record_sets", Help: "Resource record sets across every hosted zone.",
	}, func() float64 { return float64(s.records.Load()) })
	for _, c := range []prometheus.Collector{s.dnsQueries, s.apiRequests, records} {
		if err := env.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("route53 metrics: %w", err)
		}
	}
	for _, z := range cfg.Zones {
		if _, _, err := s.store.CreateZone(z, "cascade-"+z, "created at start"); err != nil {
			return nil, fmt.Errorf("route53 zone %s: %w", z, err)
		}
	}
	s.records.Store(int64(s.store.Records()))
	return s, nil
}

// Start binds DNS (UDP and TCP on one port) and the API, and returns once
// they accept. The server stops when ctx ends or on Close.
func (s *Server) Start(ctx context.Context) error {
	ln, pc, err := listenDNS(s.cfg.DNSAddr)
	if err != nil {
		return fmt.Errorf("start route53: %w", err)
	}
	s.dnsAddr = ln.Addr().String()
	h := dnsHandler{s}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.tcp = &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: notify}
	s.udp = &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: notify}
	errs := make(chan error, 2)
	for _, srv := range []*dns.Server{s.tcp, s.udp} {
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := srv.ActivateAndServe(); err != nil {
				errs <- err
			}
		}()
	}
	for range 2 {
		select {
		case <-started:
		case err := <-errs:
			_ = s.Close()
			return fmt.Errorf("start route53 dns: %w", err)
		}
	}
	s.api, err = kit.StartHTTP(s.cfg.APIAddr, http.HandlerFunc(s.serveAPI))
	if err != nil {
		_ = s.Close()
		return fmt.Errorf("start route53 api: %w", err)
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	s.env.Events.Emit("route53-started", "dns", s.dnsAddr, "api", s.api.URL(), "mode", string(s.cfg.Mode))
	return nil
}

// listenDNS binds TCP and UDP on one port. With port 0 the kernel picks the
// TCP port and UDP is bound on the same number, retrying when another
// process already holds that UDP port.
func listenDNS(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns addr %q: %w", addr, err)
	}
	attempts := 1
	if port == "0" {
		attempts = 50
	}
	var lastErr error
	for range attempts {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen tcp %s: %w", addr, err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return ln, pc, nil
		}
		_ = ln.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("listen udp beside tcp on %s: %w", addr, lastErr)
}

// Close stops DNS and the API and releases their ports; it may be called
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for _, srv := range []*dns.Server{s.tcp, s.udp} {
			if srv != nil {
				_ = srv.Shutdown()
			}
		}
		s.serveWG.Wait()
		// Shutdown only closes what it started; close the sockets in any case.
		if s.tcp != nil && s.tcp.Listener != nil {
			_ = s.tcp.Listener.Close()
		}
		if s.udp != nil && s.udp.PacketConn != nil {
			_ = s.udp.PacketConn.Close()
		}
		_ = s.api.Close()
	})
	return nil
}

// DNSAddr is the DNS address (host:port), served on UDP and TCP.
func (s *Server) DNSAddr() string { return s.dnsAddr }

// APIAddr is the API's listening address (host:port).
func (s *Server) APIAddr() string {
	if s.api == nil {
		return ""
	}
	return s.api.Addr()
}

// APIURL is the API's base URL (http://host:port), for awsclient.Route53.
func (s *Server) APIURL() string {
	if s.api == nil {
		return ""
	}
	return s.api.URL()
}

// Mode is the server's mode.
func (s *Server) Mode() kit.Mode { return s.cfg.Mode }

// ZoneID returns the ID ("Z...") of the hosted zone called name.
func (s *Server) ZoneID(name string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	z, ok := s.store.ZoneByName(name)
	if !ok {
		return "", false
	}
	return z.ID, true
}

// Lookup returns the record sets stored at (name, type) ("" is every type),
// read-only, for tests and inspection.
func (s *Server) Lookup(name, typ string) []RecordSet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.store.Lookup(name, typ)
}

// AdminRoutes serves GET /admin/zones: the hosted zones with their IDs and
// record set counts.
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/zones", func(w http.ResponseWriter, r *http.Request) {
		type zone struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Records int    `json:"recordSets"`
		}
		s.mu.RLock()
		out := []zone{}
		for _, z := range s.store.Zones() {
			out = append(out, zone{z.ID, z.Name, z.RecordSetCount()})
		}
		s.mu.RUnlock()
		kit.WriteJSON(w, http.StatusOK, out)
	})
}

func (s *Server) countQuery(rcode int) {
	name := "dropped"
	if rcode >= 0 {
		name = dns.RcodeToString[rcode]
	}
	s.dnsQueries.WithLabelValues(name).Inc()
}
