package sts

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbsdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/nlb/nlbclient"
)

// Table is the DynamoDB table that holds STS's principals (roles and
// long-term access keys), one item per key.
const Table = "cascade-sts-principals"

// DefaultAccount is the account of the default principals.
const DefaultAccount = "123456789012"

// DefaultRole is the role every stack can assume.
var DefaultRole = Record{Key: "arn:aws:iam::" + DefaultAccount + ":role/cascade-app", Account: DefaultAccount,
	ID: "AROACASCADEAPP000001", ARN: "arn:aws:iam::" + DefaultAccount + ":role/cascade-app"}

// DefaultUser is the user of awsclient's static access key.
var DefaultUser = Record{Key: "AKIDCASCADE", Account: DefaultAccount, ID: "AIDACASCADEUSER00001",
	ARN: "arn:aws:iam::" + DefaultAccount + ":user/cascade"}

// Store reads principals. The server's default is DynamoDB reached through
// the mock DNS; tests may pass another.
type Store interface {
	// Get returns the record of key, found=false when there is none, or the
	// error of a read that did not complete.
	Get(ctx context.Context, key string) (rec Record, found bool, err error)
	// Put writes a record (seeding).
	Put(ctx context.Context, rec Record) error
}

// Config configures an STS server. Durations are incident time unless noted.
type Config struct {
	// Mode: aswas or fixed (see CoreConfig.Mode).
	Mode kit.Mode `flag:"mode" usage:"aswas, or fixed: a principal read before an outage is served stale up to --max-stale"`
	// Addr serves the STS Query API.
	Addr string `flag:"addr" usage:"STS Query API listen address"`
	// DNSAddr is the mock DNS server the DynamoDB client resolves through.
	DNSAddr string `flag:"dns" usage:"mock DNS that resolves the DynamoDB endpoint, host:port"`
	// DynamoDBPort is the port of dynamodb.us-east-1.amazonaws.com.
	DynamoDBPort int `flag:"dynamodb-port" usage:"port of the DynamoDB endpoint's load balancers"`
	// Store replaces the DynamoDB store (tests).
	Store Store `flag:"-"`
	// Principals are seeded into the store (default DefaultRole, DefaultUser).
	Principals []Record `flag:"-"`
	// Capacity is the fleet's healthy-host source; default all Hosts
	// healthy, or the NLB's healthy share when NLBAdmin is set.
	Capacity Capacity `flag:"-"`
	// NLBAdmin is the admin API of the NLB in front of STS's fleet: with
	// Capacity nil, the healthy hosts are Hosts times the NLB's healthy
	// in-service share, read every CapacityRefresh.
	NLBAdmin string `flag:"nlb-admin" usage:"admin API URL of the NLB in front of the fleet (empty: every host healthy)"`
	// CapacityRefresh is how often NLBAdmin is read (incident time).
	CapacityRefresh time.Duration `flag:"capacity-refresh" usage:"how often the NLB's healthy share is read, incident time (default 10s)"`
	// Hosts, PerHostPerSecond, AdmitWindow, FreshTTL, MaxStale: see CoreConfig.
	Hosts            int           `flag:"hosts" usage:"hosts in the fleet (default 6)"`
	PerHostPerSecond float64       `flag:"per-host-per-second" usage:"requests a healthy host admits per incident second (default 50)"`
	AdmitWindow      time.Duration `flag:"admit-window" usage:"window admission counts requests in, incident time (default 1s)"`
	FreshTTL         time.Duration `flag:"fresh-ttl" usage:"how long a principal read is used without reading again, incident time (default 1m)"`
	MaxStale         time.Duration `flag:"max-stale" usage:"fixed: how long a principal is served stale while the store fails, incident time (default 4h)"`
	// StoreTimeout bounds one store read (wall time).
	StoreTimeout time.Duration `flag:"store-timeout" usage:"store read timeout, wall time (default 2s)"`
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.Principals == nil {
		c.Principals = []Record{DefaultRole, DefaultUser}
	}
	if c.CapacityRefresh <= 0 {
		c.CapacityRefresh = 10 * time.Second
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = 2 * time.Second
	}
	if c.Store == nil && (c.DNSAddr == "" || c.DynamoDBPort <= 0) {
		return errors.New("sts config: DNSAddr and DynamoDBPort are required without a Store")
	}
	return nil
}

// Server is the STS transport: the Query API over HTTP around a Core, with
// principals read from the store outside the core's lock.
type Server struct {
	cfg   Config
	env   *kit.Env
	store Store

	mu   sync.Mutex
	core *Core
	last map[string]string // action -> last outcome, for outcome-change events

	seedMu sync.Mutex
	seeded bool

	http     *kit.HTTPServer
	loops    kit.Loop
	nlb      *nlbShare // nil unless Config.NLBAdmin
	requests *prometheus.CounterVec
}

// nlbShare is STS's fleet as the NLB in front of it routes to it: Hosts
// times the NLB's healthy in-service share, as last read. A failed read
// keeps the last share: the fleet did not change because STS could not
// look.
type nlbShare struct {
	hosts  int
	client *nlbclient.Client
	share  atomic.Uint64 // float64 bits
}

// Healthy implements Capacity.
func (n *nlbShare) Healthy() (int, int) {
	return HealthyHosts(math.Float64frombits(n.share.Load()), n.hosts), n.hosts
}

// HealthyHosts is how many of hosts a load balancer whose healthy
// in-service share is share routes to: round(share × hosts).
func HealthyHosts(share float64, hosts int) int { return int(math.Round(share * float64(hosts))) }

// Validated is c with its defaults filled in, or the error New would
// return: the one reading of a Config, for transports other than Server
// (the simulation backend).
func (c Config) Validated() (Config, error) {
	err := c.validate()
	return c, err
}

// CoreConfig is the core configuration of a Validated Config: what New
// builds its Core from.
func (c Config) CoreConfig() CoreConfig {
	return CoreConfig{Mode: c.Mode, Capacity: c.Capacity, Hosts: c.Hosts,
		PerHostPerSecond: c.PerHostPerSecond, AdmitWindow: c.AdmitWindow, FreshTTL: c.FreshTTL, MaxStale: c.MaxStale}
}

// New validates cfg and builds a server; Start serves it.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	core, err := NewCore(cfg.CoreConfig(), env.Clock, env.Rand)
	if err != nil {
		return nil, err
	}
	cfg.Mode = core.cfg.Mode
	var share *nlbShare
	if cfg.Capacity == nil && cfg.NLBAdmin != "" {
		share = &nlbShare{hosts: core.cfg.Hosts, client: nlbclient.New(cfg.NLBAdmin, nil)}
		share.share.Store(math.Float64bits(1))
		core.SetCapacity(share)
	}
	store := cfg.Store
	if store == nil {
		c, err := awsclient.DynamoDB(cfg.DNSAddr, cfg.DynamoDBPort, awsclient.WithTimeout(cfg.StoreTimeout), awsclient.WithMaxAttempts(1))
		if err != nil {
			return nil, fmt.Errorf("sts: %w", err)
		}
		store = &DynamoStore{Client: c}
	}
	s := &Server{cfg: cfg, env: env, store: store, core: core, last: map[string]string{}, nlb: share,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_sts_requests_total",
			Help: "STS API requests by action and outcome (ok or the error code)."}, []string{"action", "outcome"})}
	env.Metrics.MustRegister(s.requests)
	return s, nil
}

// Start serves the API.
func (s *Server) Start(ctx context.Context) error {
	h, err := kit.StartHTTP(s.cfg.Addr, s.Handler())
	if err != nil {
		return fmt.Errorf("start sts: %w", err)
	}
	s.http = h
	if s.nlb != nil {
		s.loops.Start(ctx, s.watchNLB)
	}
	s.env.Events.Emit("sts-started", "addr", h.Addr(), "mode", string(s.cfg.Mode))
	return nil
}

// watchNLB reads the NLB's healthy share every CapacityRefresh (incident
// time), emitting "fleet-capacity" when the healthy hosts change.
func (s *Server) watchNLB(ctx context.Context) {
	t := s.env.Clock.NewTicker(s.cfg.CapacityRefresh)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
		f, err := s.nlb.client.Fraction(cctx)
		cancel()
		if err == nil {
			was, _ := s.nlb.Healthy()
			s.nlb.share.Store(math.Float64bits(f))
			if now, total := s.nlb.Healthy(); now != was {
				s.env.Events.Emit("fleet-capacity", "healthy", now, "total", total, "was", was)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

// URL is http://addr (after Start).
func (s *Server) URL() string { return s.http.URL() }

// Close stops serving; it may be called more than once.
func (s *Server) Close() error {
	s.loops.Close()
	return s.http.Close()
}

// SetCapacity points the fleet at a healthy-capacity source (the wiring's NLB).
func (s *Server) SetCapacity(c Capacity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.core.SetCapacity(c)
}

// Handler is the STS Query API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// request is a decoded STS Query request.
type request struct {
	Action    string
	Version   string
	AccessKey string
	Params    url.Values
}

// maxBody bounds a request body; STS requests are a few hundred bytes.
const maxBody = 64 << 10

var credRE = regexp.MustCompile(`Credential=([A-Za-z0-9]+)/`)

// decode reads an STS Query request from the form body or the query string.
func decode(r *http.Request) (request, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return request{}, apiErr(CodeMalformed, "could not parse the request: %v", err)
	}
	q := request{Action: r.Form.Get("Action"), Version: r.Form.Get("Version"), Params: r.Form}
	if m := credRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		q.AccessKey = m[1]
	} else if c := r.Form.Get("X-Amz-Credential"); c != "" {
		q.AccessKey, _, _ = strings.Cut(c, "/")
	}
	switch {
	case q.Action == "":
		return q, apiErr(CodeMissingAction, "Missing Action")
	case q.Version != Version:
		return q, apiErr(CodeInvalidAction, "Could not find operation %s for version %s", q.Action, q.Version)
	case q.AccessKey == "" && q.Action != "AssumeRoleWithWebIdentity":
		return q, apiErr(CodeMissingAuth, "Request is missing Authentication Token")
	}
	return q, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	q, err := decode(r)
	var body any
	if err == nil {
		body, err = s.dispatch(r.Context(), q)
	}
	reqID := s.requestID()
	outcome := "ok"
	if err != nil {
		ae := toAPIError(err)
		outcome = ae.Code
		writeXML(w, ae.Status(), xmlErrorResponse{Xmlns: xmlns, Error: xmlError{Type: ae.Type(), Code: ae.Code, Message: ae.Message}, RequestID: reqID})
	} else {
		writeXML(w, http.StatusOK, withRequestID(body, reqID))
	}
	s.observe(q.Action, outcome)
}

// observe counts the request and emits an event when an action's outcome
// changes (so the timeline shows each impact's start and end).
func (s *Server) observe(action, outcome string) {
	switch action { // a label per known action only: the rest is caller input
	case "GetCallerIdentity", "AssumeRole", "GetSessionToken":
	default:
		action = "other"
	}
	s.requests.WithLabelValues(action, outcome).Inc()
	s.mu.Lock()
	prev, seen := s.last[action]
	s.last[action] = outcome
	s.mu.Unlock()
	if !seen || prev != outcome {
		s.env.Events.Emit("sts-outcome", "action", action, "outcome", outcome, "previous", prev)
	}
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	const hex = "0123456789abcdef"
	return s.core.random(8, hex) + "-" + s.core.random(4, hex) + "-" + s.core.random(4, hex) + "-" + s.core.random(4, hex) + "-" + s.core.random(12, hex)
}

func (s *Server) dispatch(ctx context.Context, q request) (any, error) {
	switch q.Action {
	case "GetCallerIdentity", "AssumeRole", "GetSessionToken":
	default:
		return nil, apiErr(CodeInvalidAction, "Could not find operation %s for version %s", q.Action, q.Version)
	}
	s.mu.Lock()
	err := s.core.Admit()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	switch q.Action {
	case "GetCallerIdentity":
		return s.CallerIdentityGet(ctx, q)
	case "AssumeRole":
		return s.RoleAssume(ctx, q)
	default:
		return s.SessionTokenGet(ctx, q)
	}
}

// principal reads key through the core's cache and the store.
func (s *Server) principal(ctx context.Context, key string) (Record, error) {
	s.mu.Lock()
	rec, ok := s.core.Cached(key)
	s.mu.Unlock()
	if ok {
		return rec, nil
	}
	rec, found, err := s.read(ctx, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.Read(key, rec, found, err)
}

func (s *Server) read(ctx context.Context, key string) (Record, bool, error) {
	if err := s.seed(ctx); err != nil {
		return Record{}, false, err
	}
	return s.store.Get(ctx, key)
}

// seed writes the configured principals once the store is reachable.
func (s *Server) seed(ctx context.Context) error {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	if s.seeded {
		return nil
	}
	if ts, ok := s.store.(interface{ EnsureTable(context.Context) error }); ok {
		if err := ts.EnsureTable(ctx); err != nil {
			return err
		}
	}
	for _, p := range s.cfg.Principals {
		if err := s.store.Put(ctx, p); err != nil {
			return err
		}
	}
	s.seeded = true
	return nil
}

// caller resolves the signing access key: an issued session, or a long-term
// key in the store.
func (s *Server) caller(ctx context.Context, key string) (Session, error) {
	s.mu.Lock()
	sess, ok := s.core.Session(key)
	s.mu.Unlock()
	if ok {
		return sess, nil
	}
	if strings.HasPrefix(key, "ASIA") {
		return Session{}, apiErr(CodeExpiredToken, "The security token included in the request is expired")
	}
	rec, err := s.principal(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return Session{}, apiErr(CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	if err != nil {
		return Session{}, err
	}
	return Session{Account: rec.Account, UserID: rec.ID, ARN: rec.ARN}, nil
}

// CallerIdentityGet answers GetCallerIdentity.
func (s *Server) CallerIdentityGet(ctx context.Context, q request) (any, error) {
	c, err := s.caller(ctx, q.AccessKey)
	if err != nil {
		return nil, err
	}
	return &xmlGetCallerIdentityResponse{Xmlns: xmlns, Result: xmlCallerIdentity{UserID: c.UserID, Account: c.Account, Arn: c.ARN}}, nil
}

var roleARN = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

// RoleAssume answers AssumeRole.
func (s *Server) RoleAssume(ctx context.Context, q request) (any, error) {
	arn, name := q.Params.Get("RoleArn"), q.Params.Get("RoleSessionName")
	if arn == "" {
		return nil, validation("roleArn")
	}
	if name == "" {
		return nil, validation("roleSessionName")
	}
	if len(arn) < 20 || len(arn) > 2048 || !roleARN.MatchString(arn) {
		return nil, apiErr(CodeValidation, "%s is invalid", arn)
	}
	d, err := duration(q.Params)
	if err != nil {
		return nil, err
	}
	caller, err := s.caller(ctx, q.AccessKey)
	if err != nil {
		return nil, err
	}
	role, err := s.principal(ctx, arn)
	if errors.Is(err, ErrNotFound) {
		return nil, apiErr(CodeAccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, arn)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	sess, err := s.core.AssumeRole(role, name, d)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &xmlAssumeRoleResponse{Xmlns: xmlns, Result: xmlAssumeRoleResult{Credentials: xmlCredentialsOf(sess.Credentials),
		AssumedRoleUser: xmlAssumedRoleUser{AssumedRoleID: sess.UserID, Arn: sess.ARN}, PackedPolicySize: 0}}, nil
}

// SessionTokenGet answers GetSessionToken.
func (s *Server) SessionTokenGet(ctx context.Context, q request) (any, error) {
	d, err := duration(q.Params)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(q.AccessKey, "ASIA") {
		return nil, apiErr(CodeAccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	user, err := s.principal(ctx, q.AccessKey)
	if errors.Is(err, ErrNotFound) {
		return nil, apiErr(CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	sess, err := s.core.GetSessionToken(user, d)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &xmlGetSessionTokenResponse{Xmlns: xmlns, Result: xmlSessionTokenResult{Credentials: xmlCredentialsOf(sess.Credentials)}}, nil
}

func duration(p url.Values) (time.Duration, error) {
	v := p.Get("DurationSeconds")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", v)
	}
	if n < 900 {
		return 0, apiErr(CodeValidation, "1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n)
	}
	return time.Duration(n) * time.Second, nil
}

func validation(member string) error {
	return apiErr(CodeValidation, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte("<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>")
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// DynamoStore keeps principals in the DynamoDB table Table.
type DynamoStore struct {
	Client *ddbsdk.Client
}

// EnsureTable creates Table unless it exists.
func (d *DynamoStore) EnsureTable(ctx context.Context) error {
	err := awsclient.RetryLostConnection(ctx, func() error {
		_, err := d.Client.CreateTable(ctx, &ddbsdk.CreateTableInput{
			TableName:            aws.String(Table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("key"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("key"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		return err
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create %s: %w", Table, err)
	}
	return nil
}

// Get implements Store with a consistent GetItem.
func (d *DynamoStore) Get(ctx context.Context, key string) (Record, bool, error) {
	var out *ddbsdk.GetItemOutput
	err := awsclient.RetryLostConnection(ctx, func() (err error) {
		out, err = d.Client.GetItem(ctx, &ddbsdk.GetItemInput{TableName: aws.String(Table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: key}}})
		return err
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("get %s: %w", key, err)
	}
	if out.Item == nil {
		return Record{}, false, nil
	}
	str := func(n string) string {
		if v, ok := out.Item[n].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return Record{Key: key, Account: str("account"), ID: str("id"), ARN: str("arn")}, true, nil
}

// Put implements Store.
func (d *DynamoStore) Put(ctx context.Context, r Record) error {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	err := awsclient.RetryLostConnection(ctx, func() error {
		_, err := d.Client.PutItem(ctx, &ddbsdk.PutItemInput{TableName: aws.String(Table),
			Item: map[string]types.AttributeValue{"key": s(r.Key), "account": s(r.Account), "id": s(r.ID), "arn": s(r.ARN)}})
		return err
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", r.Key, err)
	}
	return nil
}
