package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/nlb/nlbclient"
)

// CapacitySource tells Lambda how much of its invocation fleet it can
// reach, as a fraction 0..1. The fleet sits behind the NLB, so the wiring
// points it at the NLB's healthy capacity; a test passes a value it sets.
type CapacitySource interface {
	Fraction(ctx context.Context) (float64, error)
}

// CapacityFunc adapts a function to CapacitySource.
type CapacityFunc func(ctx context.Context) (float64, error)

// Fraction calls f.
func (f CapacityFunc) Fraction(ctx context.Context) (float64, error) { return f(ctx) }

// Config configures a Lambda server. Durations are incident time. Its
// tagged fields are the mockaws lambda command line (kit.BindFlags).
type Config struct {
	// Mode: as-was or fixed event-source pollers (see CoreConfig).
	Mode kit.Mode `flag:"mode" usage:"aswas, or fixed: a lost lease sends the poller back to acquiring, and an expired lease can be taken"`
	// Addr serves the Lambda REST API (default "127.0.0.1:0").
	Addr string `flag:"addr" usage:"Lambda REST API listen address"`
	// DNSAddr is the mock DNS that resolves the DynamoDB endpoint on every
	// new connection; DynamoDBPort its port; DynamoDBHost overrides the
	// hostname (default dynamodb.us-east-1.amazonaws.com).
	DNSAddr      string `flag:"dns" usage:"mock DNS that resolves the DynamoDB endpoint, host:port"`
	DynamoDBPort int    `flag:"dynamodb-port" usage:"port of the DynamoDB endpoint's load balancers"`
	DynamoDBHost string `flag:"dynamodb-host" usage:"DynamoDB hostname (default dynamodb.us-east-1.amazonaws.com)"`
	// FunctionsTable holds function metadata; LeasesTable the pollers'
	// lease and checkpoint records.
	FunctionsTable string `flag:"functions-table" usage:"function metadata table (default lambda-functions)"`
	LeasesTable    string `flag:"leases-table" usage:"event-source pollers' lease table (default lambda-esm-leases)"`
	// SQSURL is the SQS endpoint (http://host:port) the pollers read.
	SQSURL string `flag:"sqs" usage:"SQS endpoint the event-source pollers read, usually a link proxy"`
	// Capacity is the invocation fleet's reachable share; nil means the
	// whole fleet, always, unless NLBAdmin is set.
	Capacity CapacitySource `flag:"-"`
	// NLBAdmin is the admin API of the NLB in front of the invocation
	// fleet: with Capacity nil, the fleet's share is the NLB's healthy
	// in-service share (nlbclient.Client.Fraction).
	NLBAdmin string `flag:"nlb-admin" usage:"admin API URL of the NLB in front of the invocation fleet (empty: full capacity)"`
	// CapacityRefresh is how often Capacity is read.
	CapacityRefresh time.Duration `flag:"capacity-refresh" usage:"how often the fleet's capacity is read, incident time (default 10s)"`
	// TickInterval is how often the pollers step.
	TickInterval time.Duration `flag:"tick" usage:"pollers' step, incident time (default 10s)"`
	// OpTimeout bounds one DynamoDB or SQS call.
	OpTimeout time.Duration `flag:"op-timeout" usage:"DynamoDB or SQS call timeout, incident time (default 30s)"`
	// MinWallTimeout floors OpTimeout in wall time: at a stack's speed 30 s
	// of incident time is a few dozen wall milliseconds, and a loaded
	// machine must not fail the pollers' calls (and lose leases) by itself.
	MinWallTimeout time.Duration `flag:"min-wall-timeout" usage:"floor of the DynamoDB and SQS call timeout, wall time (default 1s)"`
	// Core parameters (rates, workers, lease timing); see CoreConfig.
	InvokeRatePerSecond float64       `flag:"invoke-rate" usage:"invocations admitted per incident second at full capacity (default 50)"`
	BurstSeconds        float64       `flag:"burst-seconds" usage:"token bucket size in seconds of the rate (default 2)"`
	Workers             []string      `flag:"workers" usage:"poller workers per mapping (default poller-1,poller-2)"`
	LeaseTTL            time.Duration `flag:"lease-ttl" usage:"poller lease TTL, incident time (default 3m)"`
	RenewEvery          time.Duration `flag:"renew-every" usage:"lease renewal interval, incident time (default 1m)"`
	RetryEvery          time.Duration `flag:"retry-every" usage:"acquire retry interval, incident time"`
	// MaxBodyBytes bounds a request body (default 6 MiB, Invoke's limit).
	MaxBodyBytes int64 `flag:"max-body-bytes" usage:"request body limit (default 6 MiB)"`
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.DNSAddr == "" || c.DynamoDBPort <= 0 {
		return fmt.Errorf("DNSAddr %q and DynamoDBPort %d are required", c.DNSAddr, c.DynamoDBPort)
	}
	if c.FunctionsTable == "" {
		c.FunctionsTable = "lambda-functions"
	}
	if c.LeasesTable == "" {
		c.LeasesTable = "lambda-esm-leases"
	}
	if c.CapacityRefresh == 0 {
		c.CapacityRefresh = 10 * time.Second
	}
	if c.TickInterval == 0 {
		c.TickInterval = 10 * time.Second
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 30 * time.Second
	}
	if c.MinWallTimeout == 0 {
		c.MinWallTimeout = time.Second
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 6 << 20
	}
	if c.CapacityRefresh < 0 || c.TickInterval < 0 || c.OpTimeout < 0 || c.MaxBodyBytes < 0 {
		return fmt.Errorf("capacity refresh %v, tick %v, op timeout %v, max body %d: must be positive",
			c.CapacityRefresh, c.TickInterval, c.OpTimeout, c.MaxBodyBytes)
	}
	return nil
}

// Validated is c with its defaults filled in, or the error New would
// return: the one reading of a Config, for transports other than Server
// (the simulation backend).
func (c Config) Validated() (Config, error) {
	err := c.validate()
	return c, err
}

// CoreConfig is the core configuration of a Validated Config: what New
// builds its Core from.
func (c Config) CoreConfig() CoreConfig { return c.core() }

func (c Config) core() CoreConfig {
	return CoreConfig{Mode: c.Mode, InvokeRatePerSecond: c.InvokeRatePerSecond, BurstSeconds: c.BurstSeconds,
		Workers: c.Workers, LeaseTTL: c.LeaseTTL, RenewEvery: c.RenewEvery, RetryEvery: c.RetryEvery}
}

// Server is the Lambda transport: the REST API, the metadata store in
// DynamoDB and the pollers' loop around a Core.
//
//	CreateFunction / UpdateFunctionConfiguration / GetFunction
//	    --> Core.Prepare* --> DynamoDB (through the mock DNS) --> Core.Put
//	Invoke --> Core.Invoke(capacity) <-- CapacitySource (the NLB), every CapacityRefresh
//	loop: Core.Tick --> ops: acquire/renew/release (DynamoDB lease table),
//	                         poll (SQS receive --> Invoke --> SQS delete) --> Core.Done
type Server struct {
	cfg Config
	env *kit.Env

	mu   sync.Mutex
	core *Core

	http  *kit.HTTPServer
	loops kit.Loop
	ddb   *dynamodb.Client
	sqs   *sqs.Client

	capacity atomic.Uint64 // float64 bits
	ready    atomic.Bool   // tables exist
	inflight atomic.Int64
	rounds   atomic.Int64
	urls     sync.Map // queue ARN -> URL

	requests *prometheus.CounterVec
	invokes  *prometheus.CounterVec
}

// New builds a server; nothing listens until Start.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("lambda config: %w", err)
	}
	core, err := NewCore(cfg.core(), env.Clock, env.Rand)
	if err != nil {
		return nil, err
	}
	cfg.Mode = core.cfg.Mode
	if cfg.Capacity == nil && cfg.NLBAdmin != "" {
		cfg.Capacity = nlbclient.New(cfg.NLBAdmin, nil)
	}
	s := &Server{cfg: cfg, env: env, core: core,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_lambda_requests_total", Help: "Lambda API requests by operation and outcome."}, []string{"op", "outcome"}),
		invokes:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_lambda_invocations_total", Help: "Invocations by source and outcome."}, []string{"source", "outcome"}),
	}
	s.capacity.Store(math.Float64bits(1))
	env.Metrics.MustRegister(s.requests, s.invokes)
	return s, nil
}

// Start creates the clients, binds the API and runs the loops.
func (s *Server) Start(ctx context.Context) error {
	wall := s.opWall()
	opts := []awsclient.Option{awsclient.WithMaxAttempts(1), awsclient.WithTimeout(wall)}
	if s.cfg.DynamoDBHost != "" {
		opts = append(opts, awsclient.WithHost(s.cfg.DynamoDBHost))
	}
	ddb, err := awsclient.DynamoDB(s.cfg.DNSAddr, s.cfg.DynamoDBPort, opts...)
	if err != nil {
		return fmt.Errorf("start lambda: %w", err)
	}
	s.ddb = ddb
	if s.cfg.SQSURL != "" {
		if s.sqs, err = awsclient.SQS(s.cfg.SQSURL, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(wall)); err != nil {
			return fmt.Errorf("start lambda: %w", err)
		}
	}
	h, err := kit.StartHTTP(s.cfg.Addr, s.Handler())
	if err != nil {
		return fmt.Errorf("start lambda: %w", err)
	}
	s.http = h
	s.loops.Start(ctx, s.loop)
	s.env.Events.Emit("lambda-started", "addr", h.Addr(), "mode", string(s.cfg.Mode))
	return nil
}

// Close stops the loops and the listener; it may be called more than once.
func (s *Server) Close() error {
	s.loops.Close()
	return s.http.Close()
}

// opWall is one DynamoDB or SQS call's timeout in wall time: OpTimeout at
// the clock's speed, at least MinWallTimeout.
func (s *Server) opWall() time.Duration {
	return max(kit.WallDuration(s.env.Clock, s.cfg.OpTimeout), s.cfg.MinWallTimeout)
}

// URL is http://host:port of the API (after Start).
func (s *Server) URL() string { return s.http.URL() }

// Pollers returns every mapping's pollers.
func (s *Server) Pollers() []PollerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.Pollers()
}

// RestartPollers is the operator's action (see Core.RestartPollers).
func (s *Server) RestartPollers() int {
	s.mu.Lock()
	n := s.core.RestartPollers()
	s.mu.Unlock()
	s.env.Events.Emit("pollers-restarted", "mappings", n)
	return n
}

// AdminRoutes adds the operator action and inspection:
//
//	POST /admin/pollers/restart   release every lease record, restart every poller
//	GET  /admin/pollers           every mapping's pollers
//	GET  /admin/stats             functions, mappings, admitted/throttled, capacity
func (s *Server) AdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/pollers/restart", func(w http.ResponseWriter, r *http.Request) {
		n := s.RestartPollers()
		kit.WriteJSON(w, http.StatusOK, map[string]any{"restarted": n, "pollers": s.Pollers()})
	})
	mux.HandleFunc("GET /admin/pollers", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Pollers())
	})
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		st := s.core.Stats()
		s.mu.Unlock()
		kit.WriteJSON(w, http.StatusOK, map[string]any{"stats": st, "capacity": s.Capacity()})
	})
}

// Capacity is the fleet share last read from the CapacitySource.
func (s *Server) Capacity() float64 { return math.Float64frombits(s.capacity.Load()) }

func (s *Server) loop(ctx context.Context) {
	s.ensureTables(ctx)
	t := s.env.Clock.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	var lastCap time.Time
	for {
		now := s.env.Clock.Now()
		if s.cfg.Capacity != nil && (lastCap.IsZero() || now.Sub(lastCap) >= s.cfg.CapacityRefresh) {
			lastCap = now
			s.refreshCapacity(ctx)
		}
		s.mu.Lock()
		ops := s.core.Tick(now)
		s.mu.Unlock()
		for _, op := range ops {
			s.inflight.Add(1)
			s.loops.Go(func(ctx context.Context) {
				defer s.inflight.Add(-1)
				res := s.perform(ctx, op)
				s.mu.Lock()
				kind := s.core.Done(op, res)
				s.mu.Unlock()
				if kind != "" {
					kv := []any{"mapping", op.Mapping, "worker", op.Worker}
					if res.Err != nil {
						kv = append(kv, "error", res.Err.Error())
					}
					s.env.Events.Emit(kind, kv...)
				}
			})
		}
		s.rounds.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

func (s *Server) refreshCapacity(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, s.opWall())
	defer cancel()
	f, err := s.cfg.Capacity.Fraction(cctx)
	if err != nil {
		return // keep the last reading: the fleet did not change because we could not look
	}
	f = min(1, max(0, f))
	if old := s.Capacity(); old != f {
		s.capacity.Store(math.Float64bits(f))
		s.env.Events.Emit("fleet-capacity", "fraction", f, "was", old)
	}
}

// ensureTables creates the metadata and lease tables, retrying until
// DynamoDB answers; requests before then fail with ServiceException.
func (s *Server) ensureTables(ctx context.Context) {
	for _, tb := range []struct{ name, key string }{{s.cfg.FunctionsTable, "name"}, {s.cfg.LeasesTable, "mapping"}} {
		for {
			cctx, cancel := context.WithTimeout(ctx, max(kit.WallDuration(s.env.Clock, s.cfg.OpTimeout), time.Second))
			_, err := s.ddb.CreateTable(cctx, &dynamodb.CreateTableInput{
				TableName:            aws.String(tb.name),
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(tb.key), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(tb.key), KeyType: types.KeyTypeHash}},
				BillingMode:          types.BillingModePayPerRequest,
			})
			cancel()
			var inUse *types.ResourceInUseException
			if err == nil || errors.As(err, &inUse) {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond): // wall: a start-up retry, not part of the mechanism
			}
		}
	}
	s.ready.Store(true)
	s.env.Events.Emit("tables-ready", "functions", s.cfg.FunctionsTable, "leases", s.cfg.LeasesTable)
}

func (s *Server) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opWall())
}

// perform makes one poller call. The lease record's conditions are the
// mechanism: acquire takes an unowned record or the caller's own, and
// (fixed only, ExpiryCheck) one whose expiry has passed.
func (s *Server) perform(ctx context.Context, op Op) OpResult {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if op.Kind == OpPoll {
		return s.poll(ctx, op)
	}
	lc, ok := LeaseRequest(op)
	if !ok {
		return OpResult{Err: fmt.Errorf("unknown op %q", op.Kind)}
	}
	vals := map[string]types.AttributeValue{}
	for k, v := range lc.Strings {
		vals[k] = &types.AttributeValueMemberS{Value: v}
	}
	for k, v := range lc.Numbers {
		vals[k] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	in := &dynamodb.UpdateItemInput{TableName: aws.String(s.cfg.LeasesTable), UpdateExpression: aws.String(lc.Update),
		Key:                      map[string]types.AttributeValue{"mapping": &types.AttributeValueMemberS{Value: lc.Mapping}},
		ExpressionAttributeNames: lc.Names}
	if len(vals) > 0 {
		in.ExpressionAttributeValues = vals
	}
	if lc.Condition != "" {
		in.ConditionExpression = aws.String(lc.Condition)
	}
	err := awsclient.RetryLostConnection(ctx, func() error { _, err := s.ddb.UpdateItem(ctx, in); return err })
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return OpResult{Conflict: true}
	}
	return OpResult{Err: err}
}

// sqsRecord is one message as Lambda hands it to a function (the SQS event).
type sqsRecord struct {
	MessageID      string `json:"messageId"`
	ReceiptHandle  string `json:"receiptHandle"`
	Body           string `json:"body"`
	MD5OfBody      string `json:"md5OfBody"`
	EventSource    string `json:"eventSource"`
	EventSourceARN string `json:"eventSourceARN"`
	AWSRegion      string `json:"awsRegion"`
}

// poll receives one batch, invokes the function with it and deletes the
// messages only if the invocation succeeded; otherwise they return to the
// queue when their visibility timeout passes.
func (s *Server) poll(ctx context.Context, op Op) OpResult {
	if s.sqs == nil {
		return OpResult{Err: errors.New("no SQS endpoint configured")}
	}
	url, err := s.queueURL(ctx, op.Queue)
	if err != nil {
		return OpResult{Err: err}
	}
	out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: int32(op.Batch)})
	if err != nil || len(out.Messages) == 0 {
		return OpResult{Err: err}
	}
	records := make([]sqsRecord, len(out.Messages))
	for i, m := range out.Messages {
		records[i] = sqsRecord{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), MD5OfBody: aws.ToString(m.MD5OfBody), EventSource: "aws:sqs",
			EventSourceARN: op.Queue, AWSRegion: awsclient.Region}
	}
	payload, _ := json.Marshal(map[string]any{"Records": records})
	if _, err := s.invoke(op.Function, payload, "sqs"); err != nil {
		return OpResult{Err: err}
	}
	entries := 0
	for _, m := range out.Messages {
		if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err == nil {
			entries++
		}
	}
	return OpResult{Processed: entries}
}

func (s *Server) queueURL(ctx context.Context, arn string) (string, error) {
	if u, ok := s.urls.Load(arn); ok {
		return u.(string), nil
	}
	parts := strings.Split(arn, ":")
	out, err := s.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[len(parts)-1])})
	if err != nil {
		var dne *sqstypes.QueueDoesNotExist
		if errors.As(err, &dne) {
			return "", fmt.Errorf("event source %s: %w", arn, err)
		}
		return "", err
	}
	s.urls.Store(arn, aws.ToString(out.QueueUrl))
	return aws.ToString(out.QueueUrl), nil
}

// invoke runs one invocation against the current fleet capacity; a
// function error counts as a failed invocation for the poller.
func (s *Server) invoke(function string, payload []byte, source string) (InvokeResult, error) {
	s.mu.Lock()
	res, err := s.core.Invoke(function, payload, s.Capacity())
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrThrottled):
		s.invokes.WithLabelValues(source, "throttled").Inc()
	case err != nil:
		s.invokes.WithLabelValues(source, "error").Inc()
	case res.FunctionError != "":
		s.invokes.WithLabelValues(source, "function-error").Inc()
		if source != "api" {
			err = fmt.Errorf("function error: %s", res.FunctionError)
		}
	default:
		s.invokes.WithLabelValues(source, "ok").Inc()
	}
	return res, err
}

// ---- the REST API ----

// Handler serves the Lambda REST API subset (restJson1, 2015-03-31).
//
//	POST /2015-03-31/functions                          CreateFunction (201)
//	PUT  /2015-03-31/functions/{name}/configuration     UpdateFunctionConfiguration
//	GET  /2015-03-31/functions/{name}                   GetFunction
//	POST /2015-03-31/functions/{name}/invocations       Invoke
//	POST /2015-03-31/event-source-mappings[/]           CreateEventSourceMapping (202)
//	GET  /2015-03-31/event-source-mappings[/]           ListEventSourceMappings
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions", s.FunctionCreate)
	mux.HandleFunc("POST /2015-03-31/functions/{$}", s.FunctionCreate)
	mux.HandleFunc("PUT /2015-03-31/functions/{name}/configuration", s.FunctionConfigurationUpdate)
	mux.HandleFunc("GET /2015-03-31/functions/{name}", s.FunctionGet)
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.FunctionInvoke)
	mux.HandleFunc("POST /2015-03-31/event-source-mappings", s.MappingCreate)
	mux.HandleFunc("POST /2015-03-31/event-source-mappings/{$}", s.MappingCreate)
	mux.HandleFunc("GET /2015-03-31/event-source-mappings", s.MappingList)
	mux.HandleFunc("GET /2015-03-31/event-source-mappings/{$}", s.MappingList)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, "Unknown", fmt.Errorf("%w: %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			s.writeError(w, "Auth", errMissingAuth)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

var (
	errNoRoute     = errors.New("unknown operation")
	errMissingAuth = errors.New("missing authentication token")
)

// CreateFunctionInput is the subset of CreateFunction's body read; the
// rest (VpcConfig, Layers, ...) is accepted and ignored.
type CreateFunctionInput struct {
	FunctionName string
	Runtime      *string
	Role         *string
	Handler      *string
	Description  *string
	Timeout      *int
	MemorySize   *int
	Code         *struct {
		ZipFile  []byte
		S3Bucket string
		ImageUri string
	}
	Environment *Environment
}

// UpdateFunctionConfigurationInput is the subset of
// UpdateFunctionConfiguration's body read.
type UpdateFunctionConfigurationInput struct {
	Runtime     *string
	Role        *string
	Handler     *string
	Description *string
	Timeout     *int
	MemorySize  *int
	Environment *Environment
	RevisionId  string
}

// CreateEventSourceMappingInput is the subset of CreateEventSourceMapping's
// body read.
type CreateEventSourceMappingInput struct {
	FunctionName   string
	EventSourceArn string
	BatchSize      *int
	Enabled        *bool
}

// DecodeCreateFunction decodes a CreateFunction body.
func DecodeCreateFunction(body io.Reader) (FunctionSpec, error) {
	var in CreateFunctionInput
	if err := decodeJSON(body, &in); err != nil {
		return FunctionSpec{}, err
	}
	spec := FunctionSpec{FunctionName: in.FunctionName, Runtime: in.Runtime, Role: in.Role, Handler: in.Handler,
		Description: in.Description, Timeout: in.Timeout, MemorySize: in.MemorySize, Environment: in.Environment}
	if in.Code != nil {
		spec.ZipFile = in.Code.ZipFile
	}
	return spec, nil
}

// DecodeUpdateFunctionConfiguration decodes an UpdateFunctionConfiguration body.
func DecodeUpdateFunctionConfiguration(name string, body io.Reader) (FunctionSpec, error) {
	var in UpdateFunctionConfigurationInput
	if err := decodeJSON(body, &in); err != nil {
		return FunctionSpec{}, err
	}
	return FunctionSpec{FunctionName: name, Runtime: in.Runtime, Role: in.Role, Handler: in.Handler,
		Description: in.Description, Timeout: in.Timeout, MemorySize: in.MemorySize, Environment: in.Environment}, nil
}

// DecodeCreateEventSourceMapping decodes a CreateEventSourceMapping body.
func DecodeCreateEventSourceMapping(body io.Reader) (CreateEventSourceMappingInput, error) {
	var in CreateEventSourceMappingInput
	if err := decodeJSON(body, &in); err != nil {
		return in, err
	}
	if in.FunctionName == "" {
		return in, fmt.Errorf("%w: FunctionName is required", ErrInvalidParameter)
	}
	return in, nil
}

func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidContent, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidContent)
	}
	return nil
}

func (s *Server) body(w http.ResponseWriter, r *http.Request) io.Reader {
	return http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
}

// storeErr maps a DynamoDB failure of the metadata store: a refused
// condition is the caller's conflict (or a missing function), anything
// else is Lambda's own ServiceException.
func storeErr(err error, onCondition error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return onCondition
	}
	return fmt.Errorf("%w: metadata store: %v", ErrService, err)
}

func (s *Server) putFunction(ctx context.Context, f Function, cond string, onCondition error) error {
	if !s.ready.Load() {
		return fmt.Errorf("%w: metadata store not ready", ErrService)
	}
	doc, _ := json.Marshal(f)
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	in := &dynamodb.PutItemInput{TableName: aws.String(s.cfg.FunctionsTable),
		Item: map[string]types.AttributeValue{"name": &types.AttributeValueMemberS{Value: f.FunctionName},
			"config": &types.AttributeValueMemberS{Value: string(doc)}},
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: map[string]string{"#n": "name"}}
	err := awsclient.RetryLostConnection(ctx, func() error { _, err := s.ddb.PutItem(ctx, in); return err })
	if err != nil {
		return storeErr(err, onCondition)
	}
	return nil
}

// FunctionCreate handles CreateFunction: the record is written to DynamoDB
// (conditionally on the name being free) before Lambda knows the function.
func (s *Server) FunctionCreate(w http.ResponseWriter, r *http.Request) {
	spec, err := DecodeCreateFunction(s.body(w, r))
	if err == nil {
		var f Function
		s.mu.Lock()
		f, err = s.core.PrepareCreate(spec)
		s.mu.Unlock()
		if err == nil {
			err = s.putFunction(r.Context(), f, CreateCondition,
				fmt.Errorf("%w: Function already exist: %s", ErrConflict, f.FunctionName))
		}
		if err == nil {
			s.mu.Lock()
			s.core.Put(f)
			s.mu.Unlock()
			s.env.Events.Emit("function-created", "function", f.FunctionName)
			s.ok(w, "CreateFunction", http.StatusCreated, f)
			return
		}
	}
	s.env.Events.Emit("function-create-failed", "error", err.Error())
	s.writeError(w, "CreateFunction", err)
}

// FunctionConfigurationUpdate handles UpdateFunctionConfiguration.
func (s *Server) FunctionConfigurationUpdate(w http.ResponseWriter, r *http.Request) {
	spec, err := DecodeUpdateFunctionConfiguration(r.PathValue("name"), s.body(w, r))
	if err == nil {
		var f Function
		s.mu.Lock()
		f, err = s.core.PrepareUpdate(spec)
		s.mu.Unlock()
		if err == nil {
			err = s.putFunction(r.Context(), f, UpdateCondition,
				fmt.Errorf("%w: Function not found: %s", ErrNotFound, f.FunctionArn))
		}
		if err == nil {
			s.mu.Lock()
			s.core.Put(f)
			s.mu.Unlock()
			s.env.Events.Emit("function-updated", "function", f.FunctionName)
			s.ok(w, "UpdateFunctionConfiguration", http.StatusOK, f)
			return
		}
	}
	s.env.Events.Emit("function-update-failed", "error", err.Error())
	s.writeError(w, "UpdateFunctionConfiguration", err)
}

// FunctionGet handles GetFunction, reading the record from DynamoDB.
func (s *Server) FunctionGet(w http.ResponseWriter, r *http.Request) {
	name := FunctionName(r.PathValue("name"))
	if err := validName(name); err != nil {
		s.writeError(w, "GetFunction", err)
		return
	}
	if !s.ready.Load() {
		s.writeError(w, "GetFunction", fmt.Errorf("%w: metadata store not ready", ErrService))
		return
	}
	ctx, cancel := s.opContext(r.Context())
	defer cancel()
	in := &dynamodb.GetItemInput{TableName: aws.String(s.cfg.FunctionsTable), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"name": &types.AttributeValueMemberS{Value: name}}}
	var out *dynamodb.GetItemOutput
	err := awsclient.RetryLostConnection(ctx, func() (err error) { out, err = s.ddb.GetItem(ctx, in); return err })
	if err != nil {
		s.writeError(w, "GetFunction", storeErr(err, err))
		return
	}
	doc, ok := out.Item["config"].(*types.AttributeValueMemberS)
	var f Function
	if !ok || json.Unmarshal([]byte(doc.Value), &f) != nil {
		s.mu.Lock()
		arn := s.core.arn(name)
		s.mu.Unlock()
		s.writeError(w, "GetFunction", fmt.Errorf("%w: Function not found: %s", ErrNotFound, arn))
		return
	}
	s.mu.Lock()
	s.core.Put(f)
	s.mu.Unlock()
	s.ok(w, "GetFunction", http.StatusOK, map[string]any{"Configuration": f,
		"Code": map[string]string{"RepositoryType": "S3", "Location": s.URL() + "/code/" + name}})
}

// FunctionInvoke handles Invoke (RequestResponse, Event, DryRun).
func (s *Server) FunctionInvoke(w http.ResponseWriter, r *http.Request) {
	payload, err := io.ReadAll(s.body(w, r))
	if err != nil {
		s.writeError(w, "Invoke", fmt.Errorf("%w: request body larger than %d bytes", ErrInvalidParameter, s.cfg.MaxBodyBytes))
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	switch typ {
	case "", "RequestResponse", "Event":
	case "DryRun":
		s.mu.Lock()
		_, err := s.core.Function(r.PathValue("name"))
		s.mu.Unlock()
		if err != nil {
			s.writeError(w, "Invoke", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		s.writeError(w, "Invoke", fmt.Errorf("%w: InvocationType %q: valid types are RequestResponse, Event, DryRun", ErrInvalidParameter, typ))
		return
	}
	res, err := s.invoke(r.PathValue("name"), payload, "api")
	if err != nil {
		s.writeError(w, "Invoke", err)
		return
	}
	s.requests.WithLabelValues("Invoke", "ok").Inc()
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if typ == "Event" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if res.FunctionError != "" {
		w.Header().Set("X-Amz-Function-Error", res.FunctionError)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// MappingCreate handles CreateEventSourceMapping: the mapping's lease
// record is written to DynamoDB before its pollers start.
func (s *Server) MappingCreate(w http.ResponseWriter, r *http.Request) {
	in, err := DecodeCreateEventSourceMapping(s.body(w, r))
	if err != nil {
		s.writeError(w, "CreateEventSourceMapping", err)
		return
	}
	batch, enabled := 0, true
	if in.BatchSize != nil {
		batch = *in.BatchSize
	}
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	s.mu.Lock()
	m, err := s.core.PrepareMapping(in.FunctionName, in.EventSourceArn, batch, enabled)
	s.mu.Unlock()
	if err == nil && !s.ready.Load() {
		err = fmt.Errorf("%w: metadata store not ready", ErrService)
	}
	if err == nil {
		ctx, cancel := s.opContext(r.Context())
		in := &dynamodb.PutItemInput{TableName: aws.String(s.cfg.LeasesTable),
			Item: map[string]types.AttributeValue{"mapping": &types.AttributeValueMemberS{Value: m.UUID},
				"checkpoint": &types.AttributeValueMemberN{Value: "0"}}}
		_, err = s.ddb.PutItem(ctx, in)
		if awsclient.LostConnection(err) && ctx.Err() == nil {
			_, err = s.ddb.PutItem(ctx, in)
		}
		cancel()
		if err != nil {
			err = storeErr(err, err)
		}
	}
	if err != nil {
		s.writeError(w, "CreateEventSourceMapping", err)
		return
	}
	s.mu.Lock()
	s.core.AddMapping(m)
	s.mu.Unlock()
	s.env.Events.Emit("mapping-created", "mapping", m.UUID, "source", m.EventSourceArn, "function", m.FunctionArn)
	s.ok(w, "CreateEventSourceMapping", http.StatusAccepted, m)
}

// MappingList handles ListEventSourceMappings (one page: MaxItems and
// Marker are accepted, every mapping is returned).
func (s *Server) MappingList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	ms := s.core.Mappings(q.Get("FunctionName"), q.Get("EventSourceArn"))
	s.mu.Unlock()
	if ms == nil {
		ms = []Mapping{}
	}
	s.ok(w, "ListEventSourceMappings", http.StatusOK, map[string]any{"EventSourceMappings": ms})
}

func (s *Server) ok(w http.ResponseWriter, op string, status int, v any) {
	s.requests.WithLabelValues(op, "ok").Inc()
	w.Header().Set("x-amzn-RequestId", s.requestID())
	kit.WriteJSON(w, status, v)
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.revision()
}

// writeError is the one place errors become Lambda's wire errors: the
// x-amzn-ErrorType header, the status, and a body {"Type","message"} (or
// "Message", as each error's shape spells it).
func (s *Server) writeError(w http.ResponseWriter, op string, err error) {
	typ, status, fault, msgKey := ErrorType(err), http.StatusInternalServerError, "Service", "Message"
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		typ, status, fault, msgKey = "RequestTooLargeException", http.StatusRequestEntityTooLarge, "User", "message"
	case typ == "ResourceNotFoundException":
		status, fault = http.StatusNotFound, "User"
	case typ == "ResourceConflictException":
		status, fault, msgKey = http.StatusConflict, "User", "message"
	case typ == "InvalidParameterValueException", typ == "InvalidRequestContentException":
		status, fault, msgKey = http.StatusBadRequest, "User", "message"
	case typ == "TooManyRequestsException":
		status, fault, msgKey = http.StatusTooManyRequests, "User", "message"
		w.Header().Set("Retry-After", "1")
	case typ == "UnknownOperationException":
		status, fault, msgKey = http.StatusNotFound, "User", "message"
	case typ == "MissingAuthenticationTokenException":
		status, fault, msgKey = http.StatusForbidden, "User", "message"
	}
	s.requests.WithLabelValues(op, typ).Inc()
	body := map[string]string{"Type": fault, msgKey: err.Error()}
	if typ == "TooManyRequestsException" {
		body["message"], body["Reason"] = "Rate Exceeded.", "ConcurrentInvocationLimitExceeded"
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	kit.WriteJSON(w, status, body)
}
