package dwfm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
)

// Config configures one DWFM host. Durations are incident durations.
type Config struct {
	// CoreConfig is the mechanism: leases, the re-lease queue and its
	// workers, the work owed to Network Manager. Its Owner and Droplets are
	// the server's to fill (from the instance's name and Droplets below).
	CoreConfig
	// AZ is the zone id the host manages (use1-az1); ZoneName its name
	// (us-east-1a). Allocation requests may name either.
	AZ       string `flag:"az" usage:"zone id this host manages"`
	ZoneName string `flag:"zone-name" usage:"zone name (default us-east-1a/b/c from --az)"`
	// Mode picks the queue policy: kit.AsWas (default) or kit.Fixed.
	Mode kit.Mode `flag:"mode" usage:"aswas, or fixed: admission by queue size, expired work dropped, backoff with jitter"`
	// Droplets is the fleet size (it shadows CoreConfig.Droplets, the ids
	// built from it); DropletPrefix names them (default AZ+"-d").
	Droplets      int    `flag:"droplets" usage:"droplets in the fleet"`
	DropletPrefix string `flag:"droplet-prefix" usage:"droplet id prefix (default <az>-d)"`
	// Tick is the resolution of the host's loop.
	Tick time.Duration `flag:"tick" usage:"loop resolution, incident time (default 10s)"`
	// OpTimeout bounds one DynamoDB call (converted to wall time, never
	// below MinWallTimeout so a loaded machine does not fail calls by itself).
	OpTimeout      time.Duration `flag:"op-timeout" usage:"DynamoDB call timeout, incident time (default 2m)"`
	MinWallTimeout time.Duration `flag:"min-wall-timeout" usage:"floor of the DynamoDB call timeout, wall time (default 1s)"`
	// Table is the lease table; it is created if missing.
	Table string `flag:"table" usage:"lease table"`
	// DNSAddr is the mock DNS (host:port) that resolves the DynamoDB
	// endpoint; DynamoDBPort its port; DynamoDBHost overrides the hostname.
	DNSAddr      string `flag:"dns" usage:"mock DNS that resolves the DynamoDB endpoint, host:port"`
	DynamoDBPort int    `flag:"dynamodb-port" usage:"DynamoDB endpoint port"`
	DynamoDBHost string `flag:"dynamodb-host" usage:"DynamoDB hostname (default dynamodb.us-east-1.amazonaws.com)"`
	// APIAddr is where the allocation API listens.
	APIAddr string `flag:"api-addr" usage:"allocation API address"`
	// OpConcurrency is how many DynamoDB calls run at once.
	OpConcurrency int `flag:"op-concurrency" usage:"DynamoDB calls in flight at most (default 8)"`
	// NetMgrURL is Network Manager's API (a link, http://host:port): each
	// lease write a worker performs posts NetWorkPerWrite "droplet-relet"
	// items there (default DefaultNetWorkPerWrite). Empty: no hand-off.
	NetMgrURL string `flag:"netmgr" usage:"Network Manager API that re-lease work is posted to, http://host:port; empty: no hand-off"`
}

func (c *Config) validate() error {
	if c.AZ == "" {
		return errors.New("dwfm config: AZ is required (use1-az1, use1-az2, use1-az3)")
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return fmt.Errorf("dwfm config: %w", err)
	}
	if c.DNSAddr == "" || c.DynamoDBPort <= 0 {
		return fmt.Errorf("dwfm config: DNSAddr %q and DynamoDBPort %d are required", c.DNSAddr, c.DynamoDBPort)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Droplets <= 0 {
		c.Droplets = DefaultDroplets
	}
	if c.DropletPrefix == "" {
		c.DropletPrefix = c.AZ + "-d"
	}
	def(&c.CheckPeriod, DefaultCheckPeriod)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	def(&c.WorkTimeout, DefaultWorkTimeout)
	def(&c.StateSync, DefaultStateSync)
	def(&c.BackoffBase, DefaultBackoffBase)
	def(&c.BackoffMax, DefaultBackoffMax)
	def(&c.Tick, 10*time.Second)
	def(&c.OpTimeout, 2*time.Minute)
	def(&c.MinWallTimeout, time.Second)
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.DispatchPerMinute <= 0 {
		c.DispatchPerMinute = DefaultDispatchPerMinute
	}
	if c.Table == "" {
		c.Table = "dwfm-leases"
	}
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:0"
	}
	if c.OpConcurrency <= 0 {
		c.OpConcurrency = 8
	}
	if c.NetWorkPerWrite < 0 {
		return fmt.Errorf("dwfm config: network work per write %d: must be >= 0", c.NetWorkPerWrite)
	}
	if c.NetMgrURL != "" && c.NetWorkPerWrite == 0 {
		c.NetWorkPerWrite = DefaultNetWorkPerWrite
	}
	def(&c.NetBackoffBase, DefaultBackoffBase)
	def(&c.NetBackoffMax, DefaultBackoffMax)
	return nil
}

// Validated is c with its defaults filled in, or the error New would
// return: the one reading of a Config, for transports other than Server
// (the simulation backend).
func (c Config) Validated() (Config, error) {
	err := c.validate()
	return c, err
}

// CoreConfigFor is the core configuration of host owner (a Validated
// Config): what New builds its Core from.
func (c *Config) CoreConfigFor(owner string) CoreConfig { return c.coreConfig(owner) }

func (c *Config) coreConfig(owner string) CoreConfig {
	cc := c.CoreConfig
	cc.Owner, cc.Droplets, cc.NetWorkPerWrite = owner, DropletIDs(c.DropletPrefix, c.Droplets), c.netWork()
	return cc
}

// netWork is the work each lease write owes Network Manager: none without
// a Network Manager to post it to.
func (c *Config) netWork() int {
	if c.NetMgrURL == "" {
		return 0
	}
	return c.NetWorkPerWrite
}

// Server is a DWFM host: its Core, the DynamoDB calls the Core asks for, and
// the allocation API EC2 calls:
//
//	POST /v1/allocate {"az": "use1-az1"} -> 200 {"droplet": ..., "az": ...}
//	                                      | 409 {"error": "...", "code": "InsufficientCapacity"}
//	GET  /v1/capacity                    -> {"az", "droplets", "leasesHeld"}
//
// Operator actions are on the admin mux (AdminRoutes).
type Server struct {
	cfg Config
	env *kit.Env

	mu   sync.Mutex
	core *Core

	stats   atomic.Pointer[Stats]
	ddb     *dynamodb.Client
	nm      *netmgrclient.Client // nil: no hand-off
	netDone chan int             // items Network Manager admitted of the post in flight
	results chan opResult
	ops     chan Op
	api     *kit.HTTPServer
	loops   kit.Loop
	wallTO  time.Duration

	fpDDB, fpAllocate *kit.Failpoint
	failures          failureLog
	requests          *prometheus.CounterVec
	latency           prometheus.Histogram

	// inflight counts calls sent and not yet taken back by the loop; rounds
	// counts the loop's rounds. Tests on a fake clock wait on them.
	inflight, rounds atomic.Int64
}

type opResult struct {
	id  uint64
	res Result
}

// New builds a host; Start runs it.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ccfg := cfg.coreConfig(env.Name)
	core, err := NewCore(ccfg, PolicyFor(cfg.Mode, ccfg), env.Clock, env.Rand, env.Events)
	if err != nil {
		return nil, fmt.Errorf("new dwfm: %w", err)
	}
	s := &Server{
		cfg: cfg, env: env, core: core,
		results:    make(chan opResult, cfg.Droplets+cfg.Workers+64),
		netDone:    make(chan int, 1),
		ops:        make(chan Op, cfg.Droplets+cfg.Workers+64),
		fpDDB:      env.Failpoints.Register(env.Name + "/ddb"),
		fpAllocate: env.Failpoints.Register(env.Name + "/allocate"),
		failures:   failureLog{clock: env.Clock, events: env.Events, last: map[string]time.Time{}, count: map[string]int{}},
	}
	st := core.Stats()
	s.stats.Store(&st)
	s.registerMetrics()
	return s, nil
}

func (s *Server) registerMetrics() {
	reg := s.env.Metrics
	gauge := func(name, help string, f func(*Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cascade_dwfm_" + name, Help: help},
			func() float64 { return f(s.stats.Load()) }))
	}
	counter := func(name, help string, f func(*Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cascade_dwfm_" + name, Help: help},
			func() float64 { return f(s.stats.Load()) }))
	}
	gauge("droplets", "Droplets in the fleet.", func(st *Stats) float64 { return float64(st.Droplets) })
	gauge("leases_held", "Droplets holding a valid lease.", func(st *Stats) float64 { return float64(st.LeasesHeld) })
	gauge("queue_depth", "Re-lease work waiting in the queue.", func(st *Stats) float64 { return float64(st.QueueDepth) })
	gauge("goodput_per_minute", "Successful re-leases per incident minute.", func(st *Stats) float64 { return st.GoodputPerMinute })
	gauge("intake_throttle_per_minute", "Operator throttle on intake (0: none).", func(st *Stats) float64 { return st.IntakePerMinute })
	counter("leases_established_total", "Leases established.", func(st *Stats) float64 { return float64(st.Established) })
	counter("leases_expired_total", "Leases that ran out or were lost.", func(st *Stats) float64 { return float64(st.Expired) })
	counter("work_timed_out_total", "Re-leases finished (or abandoned) after their deadline.", func(st *Stats) float64 { return float64(st.TimedOut) })
	counter("work_wasted_expired_total", "Re-leases a worker performed although they could no longer finish in time.", func(st *Stats) float64 { return float64(st.Wasted) })
	counter("work_dropped_expired_total", "Expired re-leases dropped before they were done.", func(st *Stats) float64 { return float64(st.DroppedExpired) })
	counter("work_rejected_total", "Re-leases refused by the throttle or admission.", func(st *Stats) float64 { return float64(st.Rejected) })
	counter("work_failed_total", "Re-leases whose DynamoDB calls failed.", func(st *Stats) float64 { return float64(st.Failed) })
	counter("lease_writes_total", "Lease writes by workers (honoured or not): each owes Network Manager work.", func(st *Stats) float64 { return float64(st.LeaseWrites) })
	gauge("netmgr_work_owed", "Network Manager work items owed and not yet admitted.", func(st *Stats) float64 { return float64(st.NetWorkOwed) })
	counter("netmgr_work_posted_total", "Network Manager work items admitted.", func(st *Stats) float64 { return float64(st.NetWorkPosted) })
	counter("netmgr_work_refused_total", "Network Manager work items refused (or not delivered), owed again.", func(st *Stats) float64 { return float64(st.NetWorkRefused) })
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_dwfm_dynamodb_requests_total", Help: "DynamoDB calls by operation and outcome."}, []string{"op", "outcome"})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cascade_dwfm_dynamodb_call_seconds",
		Help:    "Wall time of a DynamoDB call (retry included): on a loaded machine it eats into the incident time of a re-lease.",
		Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2}})
	reg.MustRegister(s.requests, s.latency)
}

// Start creates the DynamoDB client, binds the API and runs the host.
func (s *Server) Start(ctx context.Context) error {
	s.wallTO = max(kit.WallDuration(s.env.Clock, s.cfg.OpTimeout), s.cfg.MinWallTimeout)
	opts := []awsclient.Option{awsclient.WithMaxAttempts(1), awsclient.WithTimeout(s.wallTO)}
	if s.cfg.DynamoDBHost != "" {
		opts = append(opts, awsclient.WithHost(s.cfg.DynamoDBHost))
	}
	ddb, err := awsclient.DynamoDB(s.cfg.DNSAddr, s.cfg.DynamoDBPort, opts...)
	if err != nil {
		return fmt.Errorf("start dwfm: %w", err)
	}
	s.ddb = ddb
	if s.cfg.NetMgrURL != "" {
		// one attempt per post, bounded in wall time like a DynamoDB call:
		// the core owes what was not admitted and paces the next post
		hc := &http.Client{Timeout: s.wallTO, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2}}
		s.nm = netmgrclient.NewClient(strings.TrimRight(s.cfg.NetMgrURL, "/"), s.env.Clock, hc)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/allocate", s.DropletAllocate)
	mux.HandleFunc("GET /v1/capacity", s.CapacityGet)
	api, err := kit.StartHTTP(s.cfg.APIAddr, mux)
	if err != nil {
		return fmt.Errorf("start dwfm: %w", err)
	}
	s.api = api
	ready := make(chan struct{})
	loops := []func(context.Context){
		func(ctx context.Context) {
			if s.ensureTable(ctx) {
				s.boot(ctx)
				close(ready)
			}
		},
		func(ctx context.Context) {
			select { // the host runs its checks once its lease table answers
			case <-ready:
				s.loop(ctx)
			case <-ctx.Done():
			}
		},
	}
	for range s.cfg.OpConcurrency {
		loops = append(loops, s.perform)
	}
	s.loops.Start(ctx, loops...)
	return nil
}

// Close stops the host and releases its port.
func (s *Server) Close() error {
	s.loops.Close()
	return s.api.Close()
}

// APIAddr is the allocation API's address (after Start).
func (s *Server) APIAddr() string { return s.api.Addr() }

// URL is the allocation API's base URL (after Start).
func (s *Server) URL() string { return s.api.URL() }

// State is the host's state as served by GET /admin/state.
type State struct {
	Name   string   `json:"name"`
	AZ     string   `json:"az"`
	Zone   string   `json:"zone,omitempty"`
	Mode   kit.Mode `json:"mode"`
	Policy Policy   `json:"policy"`
	Stats
}

// State returns the host's current state.
func (s *Server) State() State {
	s.mu.Lock()
	st, p := s.core.Stats(), s.core.Policy()
	s.mu.Unlock()
	return State{Name: s.env.Name, AZ: s.cfg.AZ, Zone: s.cfg.ZoneName, Mode: s.cfg.Mode, Policy: p, Stats: st}
}

// ensureTable creates the lease table, retrying until DynamoDB answers; false
// when ctx ended first.
func (s *Server) ensureTable(ctx context.Context) bool {
	for {
		cctx, cancel := context.WithTimeout(ctx, max(s.wallTO, time.Second))
		_, err := s.ddb.CreateTable(cctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(s.cfg.Table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("droplet"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("droplet"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		cancel()
		var inUse *types.ResourceInUseException
		if err == nil || errors.As(err, &inUse) {
			s.env.Events.Emit("table-ready", "table", s.cfg.Table)
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond): // wall: a start-up retry, not part of the mechanism
		}
	}
}

// boot starts the host's leases once its table answers. A first boot is the
// steady state: every droplet leased from now (Core.Boot), so a slow start
// (DNS not yet resolving, the table not yet created) costs no lease. A host
// that finds a lease item of its own in the table is a restarted process: it
// remembers none of its leases and re-leases every droplet (Core.Restart),
// whether the operators restarted it through the admin API or its container.
func (s *Server) boot(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, max(s.wallTO, time.Second))
	defer cancel()
	restarted := false
	out, err := s.ddb.GetItem(cctx, &dynamodb.GetItemInput{TableName: aws.String(s.cfg.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"droplet": &types.AttributeValueMemberS{Value: DropletIDs(s.cfg.DropletPrefix, 1)[0]}}})
	if err == nil {
		if o, ok := out.Item["owner"].(*types.AttributeValueMemberS); ok && o.Value == s.env.Name {
			restarted = true
		}
	}
	throttle := 0.0
	if restarted {
		throttle = s.savedThrottle(cctx)
	}
	s.mu.Lock()
	if restarted {
		if throttle > 0 {
			s.core.SetIntake(throttle)
		}
		s.core.Restart()
	} else {
		s.core.Boot()
	}
	st := s.core.Stats()
	s.mu.Unlock()
	s.stats.Store(&st)
	s.env.Events.Emit("host-booted", "restarted", restarted, "held", st.LeasesHeld, "droplets", st.Droplets)
}

func (s *Server) loop(ctx context.Context) {
	ticker := s.env.Clock.NewTicker(s.cfg.Tick)
	defer ticker.Stop()
	var batch []Op
	for {
		done := 0
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
		case n := <-s.netDone:
			s.mu.Lock()
			s.core.NetWorkDone(n)
			s.mu.Unlock()
			done++
		case r := <-s.results:
			s.mu.Lock()
			s.core.OpDone(r.id, r.res)
			done++
			for more := true; more; {
				select {
				case r = <-s.results:
					s.core.OpDone(r.id, r.res)
					done++
				default:
					more = false
				}
			}
			s.mu.Unlock()
		}
		s.mu.Lock()
		batch = append(batch[:0], s.core.Tick()...)
		netWork := 0
		if s.nm != nil {
			netWork = s.core.TakeNetWork()
		}
		st := s.core.Stats()
		s.mu.Unlock()
		s.stats.Store(&st)
		if netWork > 0 {
			s.inflight.Add(1) // taken back when its result is
			s.loops.Go(func(ctx context.Context) { s.postNetWork(ctx, netWork) })
		}
		for _, op := range batch {
			select {
			case s.ops <- op:
			default: // never expected: each droplet and worker has at most one call in flight
				s.deliver(ctx, op.ID, Result{Outcome: Failed})
			}
		}
		// after the round's new calls are out: 0 means nothing in flight
		// and nothing unprocessed (tests on a fake clock wait for it)
		s.inflight.Add(int64(len(batch) - done))
		s.rounds.Add(1)
	}
}

// postNetWork posts n "droplet-relet" items to Network Manager once and
// hands what was admitted back to the loop (the core owes the rest).
func (s *Server) postNetWork(ctx context.Context, n int) {
	admitted, err := s.nm.PostWork(ctx, NetWorkKind, n)
	if err != nil && !errors.Is(err, netmgrclient.ErrThrottled) {
		s.failures.noteNet(err)
	}
	select {
	case s.netDone <- admitted:
	case <-ctx.Done():
	}
}

func (s *Server) deliver(ctx context.Context, id uint64, res Result) {
	select {
	case s.results <- opResult{id: id, res: res}:
	case <-ctx.Done():
	}
}

func (s *Server) perform(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case op := <-s.ops:
			start := time.Now()
			res := s.call(ctx, op)
			s.latency.Observe(time.Since(start).Seconds())
			s.requests.WithLabelValues(op.Kind.String(), outcomeName(res.Outcome)).Inc()
			s.deliver(ctx, op.ID, res)
		}
	}
}

func outcomeName(o Outcome) string {
	switch o {
	case OK:
		return "ok"
	case Conflict:
		return "conflict"
	}
	return "failed"
}

// call performs one lease operation on DynamoDB; errors become outcomes here
// and nowhere else. A call that met a pooled connection the other side was
// closing (DynamoDB retires connections by age, and the load balancer passes
// the close on) is sent once more at once, on a new connection, as the SDK's
// retryer would: a lost connection is not an unavailable DynamoDB, and
// without it the steady state would lose leases to a race of the transport.
// DNS failures, refusals and timeouts are not retried.
func (s *Server) call(ctx context.Context, op Op) Result {
	if err := s.fpDDB.Err(ctx); err != nil {
		return Result{Outcome: Failed}
	}
	ctx, cancel := context.WithTimeout(ctx, s.wallTO)
	defer cancel()
	res, err := s.callOnce(ctx, op)
	if err != nil && lostConnection(err) && ctx.Err() == nil {
		res, err = s.callOnce(ctx, op)
	}
	if err == nil {
		return res
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Result{Outcome: Conflict}
	}
	s.failures.note(op.Kind, err)
	return Result{Outcome: Failed}
}

// lostConnection reports an error of a request whose connection ended under
// it: EOF, reset, broken pipe, or the transport's "server closed idle
// connection".
func lostConnection(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "server closed idle connection")
}

func (s *Server) callOnce(ctx context.Context, op Op) (Result, error) {
	lc := LeaseRequest(op)
	key := map[string]types.AttributeValue{LeaseKey: &types.AttributeValueMemberS{Value: lc.Droplet}}
	if lc.Get {
		out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.cfg.Table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return Result{}, err
		}
		epoch := ""
		if n, ok := out.Item["epoch"].(*types.AttributeValueMemberN); ok {
			epoch = n.Value
		}
		return ReadResult(out.Item != nil, epoch), nil
	}
	values := map[string]types.AttributeValue{}
	for k, v := range lc.Strings {
		values[k] = &types.AttributeValueMemberS{Value: v}
	}
	for k, v := range lc.Numbers {
		values[k] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	_, err := s.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.cfg.Table), Key: key,
		UpdateExpression:          aws.String(lc.Update),
		ConditionExpression:       aws.String(lc.Condition),
		ExpressionAttributeNames:  lc.Names,
		ExpressionAttributeValues: values,
	})
	return Result{Outcome: OK}, err
}

// failureLog emits what DynamoDB calls failed with as "ddb-call-failed"
// events, at most one per error class per incident minute, with the count it
// stands for: the timeline shows whether leases ran out for DNS (no such
// host), timeouts or throttling, without a line per call.
type failureLog struct {
	mu     sync.Mutex
	clock  kit.Clock
	events *kit.Events
	last   map[string]time.Time
	count  map[string]int
}

func (l *failureLog) note(kind OpKind, err error) { l.noteAs(kind.String(), err) }

// noteNet notes a failed post to Network Manager.
func (l *failureLog) noteNet(err error) { l.noteAs("netmgr-post", err) }

func (l *failureLog) noteAs(op string, err error) {
	class := errorClass(err)
	kind, key := "ddb-call-failed", class
	if op == "netmgr-post" {
		kind, key = "netmgr-post-failed", op+"/"+class
	}
	l.mu.Lock()
	l.count[key]++
	now := l.clock.Now()
	if last, ok := l.last[key]; ok && now.Sub(last) < time.Minute {
		l.mu.Unlock()
		return
	}
	n := l.count[key]
	l.count[key], l.last[key] = 0, now
	l.mu.Unlock()
	msg := err.Error()
	if len(msg) > 200 { // the end says what happened; the start is the SDK's preamble
		msg = "..." + msg[len(msg)-200:]
	}
	l.events.Emit(kind, "op", op, "error", class, "count", n, "detail", msg)
}

// errorClass names the kind of a failed call's error.
func errorClass(err error) string {
	var dnsErr *net.DNSError
	var apiErr smithy.APIError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no-such-host"
	case errors.As(err, &dnsErr):
		return "dns-error"
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection-refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection-reset"
	}
	return "error"
}

// DropletAllocate hands a droplet with a valid lease to a launch.
func (s *Server) DropletAllocate(w http.ResponseWriter, r *http.Request) {
	var req AllocateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "bad JSON: " + err.Error()})
		return
	}
	if req.AZ != "" && req.AZ != s.cfg.AZ && req.AZ != s.cfg.ZoneName {
		kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("az %q: this host manages %s (%s)", req.AZ, s.cfg.AZ, s.cfg.ZoneName)})
		return
	}
	if err := s.fpAllocate.Err(r.Context()); err != nil {
		kit.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	s.mu.Lock()
	id, err := s.core.Allocate()
	s.mu.Unlock()
	if err != nil {
		kit.WriteJSON(w, http.StatusConflict, map[string]string{"error": err.Error(), "code": "InsufficientCapacity"})
		return
	}
	kit.WriteJSON(w, http.StatusOK, AllocateResponse{Droplet: id, AZ: s.cfg.AZ})
}

// CapacityGet reports the fleet and the leases held.
func (s *Server) CapacityGet(w http.ResponseWriter, r *http.Request) {
	st := s.State()
	kit.WriteJSON(w, http.StatusOK, Capacity{AZ: s.cfg.AZ, Zone: s.cfg.ZoneName, Droplets: st.Droplets, LeasesHeld: st.LeasesHeld})
}

// AdminRoutes registers the operator actions:
//
//	POST   /admin/throttle {"ratePerMinute": N}  throttle intake (0 removes it)
//	DELETE /admin/throttle                       remove the throttle
//	POST   /admin/restart                        restart the host (clears its queue)
//	GET    /admin/state                          leases held, queue depth, goodput, mode
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/throttle", s.ThrottleSet)
	mux.HandleFunc("DELETE /admin/throttle", func(w http.ResponseWriter, r *http.Request) {
		s.SetThrottle(0)
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("POST /admin/restart", func(w http.ResponseWriter, r *http.Request) {
		s.Restart()
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /admin/state", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
}

// ThrottleRequest is the body of POST /admin/throttle.
type ThrottleRequest struct {
	RatePerMinute *float64 `json:"ratePerMinute"`
}

// ThrottleSet applies the operator's intake throttle.
func (s *Server) ThrottleSet(w http.ResponseWriter, r *http.Request) {
	var req ThrottleRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.RatePerMinute == nil || *req.RatePerMinute < 0 {
		kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"ratePerMinute": N} with N >= 0 (0 removes the throttle)`})
		return
	}
	s.SetThrottle(*req.RatePerMinute)
	kit.WriteJSON(w, http.StatusOK, s.State())
}

// SetThrottle throttles intake to perMinute new re-leases (0: no throttle).
// The throttle is kept in the lease table as well (best effort), so a host
// process restarted after it (a container restart) boots throttled, as the
// operators' runbook has it: throttle, then restart.
func (s *Server) SetThrottle(perMinute float64) {
	s.mu.Lock()
	s.core.SetIntake(perMinute)
	s.mu.Unlock()
	if s.ddb == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(s.wallTO, time.Second))
	defer cancel()
	key := map[string]types.AttributeValue{"droplet": &types.AttributeValueMemberS{Value: s.throttleKey()}}
	var err error
	if perMinute > 0 {
		item := map[string]types.AttributeValue{"droplet": key["droplet"],
			"ratePerMinute": &types.AttributeValueMemberN{Value: strconv.FormatFloat(perMinute, 'g', -1, 64)}}
		_, err = s.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: item})
	} else {
		_, err = s.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.cfg.Table), Key: key})
	}
	if err != nil {
		s.failures.note(OpWrite, fmt.Errorf("keep throttle: %w", err))
	}
}

// throttleKey is the item that keeps this host's intake throttle.
func (s *Server) throttleKey() string { return "intake-throttle/" + s.env.Name }

// savedThrottle reads the throttle a previous process of this host kept.
func (s *Server) savedThrottle(ctx context.Context) float64 {
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.cfg.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"droplet": &types.AttributeValueMemberS{Value: s.throttleKey()}}})
	if err != nil {
		return 0
	}
	n, ok := out.Item["ratePerMinute"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.ParseFloat(n.Value, 64)
	return v
}

// Restart restarts the host as a process restart would: queue and leases
// forgotten, every droplet re-leased through the intake throttle.
func (s *Server) Restart() {
	s.mu.Lock()
	s.core.Restart()
	s.mu.Unlock()
}
