package lambda

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Errors the core returns; the transport maps each to Lambda's
// x-amzn-ErrorType and body in one place (writeError).
var (
	// ErrNotFound: no such function or event-source mapping.
	ErrNotFound = errors.New("resource not found")
	// ErrConflict: CreateFunction of a name in use.
	ErrConflict = errors.New("resource conflict")
	// ErrInvalidParameter: a parameter out of its range or missing.
	ErrInvalidParameter = errors.New("invalid parameter value")
	// ErrInvalidContent: an Invoke payload that is not JSON.
	ErrInvalidContent = errors.New("could not parse request body into json")
	// ErrThrottled: the invocation fleet has no capacity for this call.
	ErrThrottled = errors.New("rate exceeded")
	// ErrService: Lambda's own dependency failed (its metadata store).
	ErrService = errors.New("service exception")
)

// CoreConfig parameterises the function registry, the invocation fleet and
// the event-source pollers. Durations are incident time.
type CoreConfig struct {
	// Mode: as-was pollers die when a lease renewal fails and acquire only
	// an unowned lease; fixed pollers go back to acquiring, and acquire a
	// lease whose expiry has passed.
	Mode kit.Mode
	// AccountID and Region are in every ARN.
	AccountID, Region string
	// InvokeRatePerSecond is what the whole invocation fleet serves per
	// incident second at full capacity; BurstSeconds how many seconds of it
	// an idle fleet can absorb at once. The rate scales with the fleet's
	// reachable capacity (0..1).
	InvokeRatePerSecond float64
	BurstSeconds        float64
	// Workers are the poller workers (one per Lambda host) that compete for
	// each event-source mapping's lease.
	Workers []string
	// LeaseTTL is how long a lease lasts from its last write; RenewEvery how
	// often its holder renews it (and writes its checkpoint); RetryEvery how
	// often a worker without the lease tries to acquire it.
	LeaseTTL, RenewEvery, RetryEvery time.Duration
}

func (c *CoreConfig) validate() error {
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.AccountID == "" {
		c.AccountID = "000000000000"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.InvokeRatePerSecond == 0 {
		c.InvokeRatePerSecond = 50
	}
	if c.BurstSeconds == 0 {
		c.BurstSeconds = 2
	}
	if len(c.Workers) == 0 {
		c.Workers = []string{"poller-1", "poller-2"}
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 3 * time.Minute
	}
	if c.RenewEvery == 0 {
		c.RenewEvery = time.Minute
	}
	if c.RetryEvery == 0 {
		c.RetryEvery = 30 * time.Second
	}
	if c.InvokeRatePerSecond < 0 || c.BurstSeconds < 0 || c.LeaseTTL < 0 || c.RenewEvery <= 0 || c.RetryEvery <= 0 {
		return fmt.Errorf("rate %v, burst %v s, ttl %v, renew %v, retry %v: must be positive",
			c.InvokeRatePerSecond, c.BurstSeconds, c.LeaseTTL, c.RenewEvery, c.RetryEvery)
	}
	if c.RenewEvery >= c.LeaseTTL {
		return fmt.Errorf("renew every %v: must be shorter than the lease TTL %v", c.RenewEvery, c.LeaseTTL)
	}
	return nil
}

// Function is a function's configuration as Lambda returns it
// (FunctionConfiguration); it is also the record kept in DynamoDB.
type Function struct {
	FunctionName string
	FunctionArn  string
	Runtime      string `json:",omitempty"`
	Role         string
	Handler      string `json:",omitempty"`
	Description  string
	Timeout      int
	MemorySize   int
	CodeSize     int64
	CodeSha256   string
	Version      string
	LastModified string
	RevisionId   string
	State        string
	PackageType  string
	Environment  *Environment `json:",omitempty"`
}

// Environment is a function's environment variables.
type Environment struct {
	Variables map[string]string
}

// FunctionSpec is what CreateFunction and UpdateFunctionConfiguration set;
// nil fields are left as they are (update) or defaulted (create).
type FunctionSpec struct {
	FunctionName string
	Runtime      *string
	Role         *string
	Handler      *string
	Description  *string
	Timeout      *int
	MemorySize   *int
	ZipFile      []byte
	Environment  *Environment
}

// Mapping is an event-source mapping as Lambda returns it.
type Mapping struct {
	UUID                  string
	EventSourceArn        string
	FunctionArn           string
	BatchSize             int
	State                 string
	StateTransitionReason string
	LastModified          float64
	LastProcessingResult  string
}

// InvokeResult is what a built-in handler returned.
type InvokeResult struct {
	Payload []byte
	// FunctionError is "Unhandled" when the handler failed.
	FunctionError string
}

// OpKind is a poller's call to DynamoDB or SQS.
type OpKind string

// The poller operations the transport performs.
const (
	// OpAcquire claims the mapping's lease record for Worker.
	OpAcquire OpKind = "acquire"
	// OpRenew extends Worker's lease and writes the checkpoint.
	OpRenew OpKind = "renew"
	// OpPoll receives one batch from the queue, invokes, deletes.
	OpPoll OpKind = "poll"
	// OpRelease clears the lease record (the operator's restart).
	OpRelease OpKind = "release"
)

// Op is one call a poller asks the transport to make.
type Op struct {
	Kind     OpKind
	Mapping  string
	Worker   string
	Queue    string // the queue's ARN (OpPoll)
	Function string // the function's name (OpPoll)
	Batch    int
	Now      time.Time
	// Expires is the lease's new expiry (OpAcquire, OpRenew).
	Expires time.Time
	// Checkpoint is how many messages the mapping has processed (OpRenew).
	Checkpoint int64
	// ExpiryCheck lets OpAcquire take a lease whose expiry has passed
	// (fixed); as-was it takes only an unowned lease (or its own).
	ExpiryCheck bool
}

// OpResult is how an Op ended.
type OpResult struct {
	// Err is a failed call (DynamoDB unreachable, SQS error).
	Err error
	// Conflict is a conditional write refused: the lease is someone else's.
	Conflict bool
	// Processed is how many messages an OpPoll deleted after a successful
	// invocation.
	Processed int
}

type workerState string

const (
	idle   workerState = "idle"
	leader workerState = "leader"
	dead   workerState = "dead"
)

type worker struct {
	name          string
	state         workerState
	busy          bool
	next, renewAt time.Time
	expires       time.Time
}

type mapping struct {
	m          Mapping
	function   string
	workers    []*worker
	release    bool // the operator's release is pending
	releasing  bool
	processed  int64
	lastPolled time.Time
}

// Core is Lambda's control plane, invocation admission and event-source
// pollers. It is not safe for concurrent use: the transport serialises
// calls. Time comes from the clock, ids from rng.
type Core struct {
	cfg   CoreConfig
	clock kit.Clock
	rng   *rand.Rand

	functions map[string]*Function
	mappings  map[string]*mapping

	tokens    float64
	lastToken time.Time
	admitted  int64
	throttled int64

	// renewFailed is what a leader does when its renewal call fails:
	// as-was it dies holding the record, fixed it goes back to acquiring.
	renewFailed func(w *worker, now time.Time) string
}

// NewCore returns a core; it returns an error for a bad config.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("lambda core: %w", err)
	}
	if rng == nil {
		rng = rand.New(rand.NewSource(1))
	}
	c := &Core{cfg: cfg, clock: clock, rng: rng, functions: map[string]*Function{}, mappings: map[string]*mapping{},
		lastToken: clock.Now()}
	c.tokens = c.burst(1)
	c.renewFailed = func(w *worker, _ time.Time) string {
		// The worker's poll loop exits on the error; nothing restarts it,
		// and its claim stays in the lease record.
		w.state = dead
		return "poller-died"
	}
	if cfg.Mode.IsFixed() {
		c.renewFailed = func(w *worker, now time.Time) string {
			w.state, w.next = idle, now.Add(c.cfg.RetryEvery)
			return "lease-lost"
		}
	}
	return c, nil
}

// Config returns the validated configuration.
func (c *Core) Config() CoreConfig { return c.cfg }

func validName(name string) error {
	if name == "" || len(name) > 64 || strings.TrimFunc(name, func(r rune) bool {
		return r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}) != "" {
		return fmt.Errorf("%w: 1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+", ErrInvalidParameter, name)
	}
	return nil
}

// FunctionName accepts a name or a function ARN and returns the name.
func FunctionName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.Split(s, ":")
		if len(parts) >= 7 {
			return parts[6]
		}
	}
	return s
}

func (c *Core) arn(name string) string {
	return "arn:aws:lambda:" + c.cfg.Region + ":" + c.cfg.AccountID + ":function:" + name
}

func (c *Core) revision() string {
	b := make([]byte, 16)
	c.rng.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func apply(f *Function, s FunctionSpec) error {
	if s.Runtime != nil {
		f.Runtime = *s.Runtime
	}
	if s.Role != nil {
		if !strings.HasPrefix(*s.Role, "arn:aws:iam::") {
			return fmt.Errorf("%w: The role defined for the function cannot be assumed by Lambda.", ErrInvalidParameter)
		}
		f.Role = *s.Role
	}
	if s.Handler != nil {
		f.Handler = *s.Handler
	}
	if s.Description != nil {
		f.Description = *s.Description
	}
	if s.Timeout != nil {
		if *s.Timeout < 1 || *s.Timeout > 900 {
			return fmt.Errorf("%w: Timeout %d must be between 1 and 900", ErrInvalidParameter, *s.Timeout)
		}
		f.Timeout = *s.Timeout
	}
	if s.MemorySize != nil {
		if *s.MemorySize < 128 || *s.MemorySize > 10240 {
			return fmt.Errorf("%w: MemorySize %d must be between 128 and 10240", ErrInvalidParameter, *s.MemorySize)
		}
		f.MemorySize = *s.MemorySize
	}
	if s.Environment != nil {
		f.Environment = s.Environment
	}
	return nil
}

// PrepareCreate validates a CreateFunction and builds its record; nothing
// is registered until Put (after the transport stored it in DynamoDB).
func (c *Core) PrepareCreate(s FunctionSpec) (Function, error) {
	if err := validName(s.FunctionName); err != nil {
		return Function{}, err
	}
	if s.Role == nil {
		return Function{}, fmt.Errorf("%w: Role is required", ErrInvalidParameter)
	}
	if len(s.ZipFile) == 0 {
		return Function{}, fmt.Errorf("%w: Code.ZipFile is required (S3 and image code are not modelled)", ErrInvalidParameter)
	}
	if _, ok := c.functions[s.FunctionName]; ok {
		return Function{}, fmt.Errorf("%w: Function already exist: %s", ErrConflict, s.FunctionName)
	}
	sum := sha256.Sum256(s.ZipFile)
	f := Function{FunctionName: s.FunctionName, FunctionArn: c.arn(s.FunctionName), Timeout: 3, MemorySize: 128,
		CodeSize: int64(len(s.ZipFile)), CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), Version: "$LATEST",
		State: "Active", PackageType: "Zip"}
	if err := apply(&f, s); err != nil {
		return Function{}, err
	}
	c.stamp(&f)
	return f, nil
}

func (c *Core) stamp(f *Function) {
	f.LastModified = c.clock.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
	f.RevisionId = c.revision()
}

// PrepareUpdate validates an UpdateFunctionConfiguration against the
// function as last known and builds the new record.
func (c *Core) PrepareUpdate(s FunctionSpec) (Function, error) {
	name := FunctionName(s.FunctionName)
	old, ok := c.functions[name]
	if !ok {
		return Function{}, fmt.Errorf("%w: Function not found: %s", ErrNotFound, c.arn(name))
	}
	f := *old
	if err := apply(&f, s); err != nil {
		return Function{}, err
	}
	c.stamp(&f)
	return f, nil
}

// Put registers a function record (created, updated, or read back from
// DynamoDB).
func (c *Core) Put(f Function) {
	c.functions[f.FunctionName] = &f
}

// Function returns the function as last known (nameOrArn may be an ARN).
func (c *Core) Function(nameOrArn string) (Function, error) {
	name := FunctionName(nameOrArn)
	f, ok := c.functions[name]
	if !ok {
		return Function{}, fmt.Errorf("%w: Function not found: %s", ErrNotFound, c.arn(name))
	}
	return *f, nil
}

func (c *Core) burst(capacity float64) float64 {
	return max(1, c.cfg.InvokeRatePerSecond*c.cfg.BurstSeconds*capacity)
}

// Invoke admits an invocation against the fleet's capacity (0..1: the
// share of the invocation fleet Lambda can reach) and runs the function's
// built-in handler. Admission is a token bucket whose rate and size scale
// with capacity: a fleet with half its hosts reachable serves half the rate,
// and the rest is TooManyRequestsException. Handlers: "echo" (the default)
// returns the payload; "fail" returns a function error.
func (c *Core) Invoke(nameOrArn string, payload []byte, capacity float64) (InvokeResult, error) {
	f, err := c.Function(nameOrArn)
	if err != nil {
		return InvokeResult{}, err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		return InvokeResult{}, fmt.Errorf("%w: Could not parse request body into json", ErrInvalidContent)
	}
	capacity = min(1, max(0, capacity))
	now := c.clock.Now()
	if el := now.Sub(c.lastToken); el > 0 {
		c.tokens += el.Seconds() * c.cfg.InvokeRatePerSecond * capacity
	}
	c.lastToken = now
	c.tokens = min(c.tokens, c.burst(capacity))
	if capacity == 0 || c.tokens < 1 {
		c.throttled++
		return InvokeResult{}, fmt.Errorf("%w: fleet capacity %.0f%%", ErrThrottled, capacity*100)
	}
	c.tokens--
	c.admitted++
	if f.Handler == "fail" {
		return InvokeResult{Payload: []byte(`{"errorMessage":"handler failed","errorType":"Error"}`), FunctionError: "Unhandled"}, nil
	}
	return InvokeResult{Payload: payload}, nil
}

// PrepareMapping validates a CreateEventSourceMapping (an SQS queue ARN and
// a known function) and builds it; it is registered by AddMapping after
// the transport wrote its lease record.
func (c *Core) PrepareMapping(function, sourceArn string, batch int, enabled bool) (Mapping, error) {
	f, err := c.Function(function)
	if err != nil {
		return Mapping{}, err
	}
	if !strings.HasPrefix(sourceArn, "arn:aws:sqs:") || strings.Count(sourceArn, ":") != 5 {
		return Mapping{}, fmt.Errorf("%w: Unsupported event source: %q (only SQS queue ARNs are modelled)", ErrInvalidParameter, sourceArn)
	}
	if batch == 0 {
		batch = 10
	}
	if batch < 1 || batch > 10 {
		return Mapping{}, fmt.Errorf("%w: BatchSize %d must be between 1 and 10 (batching windows are not modelled)", ErrInvalidParameter, batch)
	}
	state := "Enabled"
	if !enabled {
		state = "Disabled"
	}
	return Mapping{UUID: c.revision(), EventSourceArn: sourceArn, FunctionArn: f.FunctionArn, BatchSize: batch,
		State: state, StateTransitionReason: "USER_INITIATED", LastModified: float64(c.clock.Now().UnixMilli()) / 1000,
		LastProcessingResult: "No records processed"}, nil
}

// AddMapping registers a mapping and its pollers.
func (c *Core) AddMapping(m Mapping) {
	mp := &mapping{m: m, function: FunctionName(m.FunctionArn)}
	now := c.clock.Now()
	for _, w := range c.cfg.Workers {
		mp.workers = append(mp.workers, &worker{name: w, state: idle, next: now})
	}
	c.mappings[m.UUID] = mp
}

// Mappings lists mappings, filtered by function (name or ARN) and source
// ARN when non-empty, in UUID order.
func (c *Core) Mappings(function, sourceArn string) []Mapping {
	var out []Mapping
	for _, id := range c.mappingIDs() {
		mp := c.mappings[id]
		if function != "" && mp.function != FunctionName(function) || sourceArn != "" && mp.m.EventSourceArn != sourceArn {
			continue
		}
		out = append(out, mp.m)
	}
	return out
}

func (c *Core) mappingIDs() []string {
	ids := make([]string, 0, len(c.mappings))
	for id := range c.mappings {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Tick returns the poller calls due now: an operator's pending release
// first, then each free worker's acquire, renewal or next batch.
func (c *Core) Tick(now time.Time) []Op {
	var ops []Op
	for _, id := range c.mappingIDs() {
		mp := c.mappings[id]
		if mp.release {
			if !mp.releasing {
				mp.releasing = true
				ops = append(ops, Op{Kind: OpRelease, Mapping: id, Now: now})
			}
			continue
		}
		for _, w := range mp.workers {
			if w.busy {
				continue
			}
			switch w.state {
			case idle:
				if now.Before(w.next) {
					continue
				}
				ops = append(ops, Op{Kind: OpAcquire, Mapping: id, Worker: w.name, Now: now,
					Expires: now.Add(c.cfg.LeaseTTL), ExpiryCheck: c.cfg.Mode.IsFixed()})
			case leader:
				if !now.Before(w.renewAt) {
					ops = append(ops, Op{Kind: OpRenew, Mapping: id, Worker: w.name, Now: now,
						Expires: now.Add(c.cfg.LeaseTTL), Checkpoint: mp.processed})
				} else if mp.m.State == "Enabled" {
					ops = append(ops, Op{Kind: OpPoll, Mapping: id, Worker: w.name, Now: now,
						Queue: mp.m.EventSourceArn, Function: mp.function, Batch: mp.m.BatchSize})
				} else {
					continue
				}
			default:
				continue
			}
			w.busy = true
		}
	}
	return ops
}

// Done records how op ended and returns the event kind of the change it
// made ("" when none): lease-acquired, lease-lost, poller-died,
// leases-released.
func (c *Core) Done(op Op, res OpResult) string {
	mp, ok := c.mappings[op.Mapping]
	if !ok {
		return ""
	}
	now := c.clock.Now()
	if op.Kind == OpRelease {
		mp.releasing = false
		if res.Err != nil {
			return "" // the operator's release is retried at the next tick
		}
		mp.release = false
		for _, w := range mp.workers {
			if !w.busy {
				w.state, w.next = idle, now
			}
		}
		return "leases-released"
	}
	var w *worker
	for _, x := range mp.workers {
		if x.name == op.Worker {
			w = x
		}
	}
	if w == nil {
		return ""
	}
	w.busy = false
	if mp.release {
		w.state, w.next = idle, now
		return ""
	}
	switch op.Kind {
	case OpAcquire:
		if res.Err != nil || res.Conflict {
			w.state, w.next = idle, now.Add(c.cfg.RetryEvery)
			return ""
		}
		w.state, w.expires, w.renewAt = leader, op.Expires, op.Now.Add(c.cfg.RenewEvery)
		return "lease-acquired"
	case OpRenew:
		if res.Conflict {
			w.state, w.next = idle, now.Add(c.cfg.RetryEvery)
			return "lease-lost"
		}
		if res.Err != nil {
			return c.renewFailed(w, now)
		}
		w.expires, w.renewAt = op.Expires, op.Now.Add(c.cfg.RenewEvery)
	case OpPoll:
		mp.lastPolled = now
		if res.Err != nil {
			mp.m.LastProcessingResult = "PROBLEM: " + res.Err.Error()
			return ""
		}
		if res.Processed > 0 {
			mp.processed += int64(res.Processed)
			mp.m.LastProcessingResult = "OK"
		}
	}
	return ""
}

// RestartPollers is the operator's action: release every mapping's lease
// record (whoever it names) and restart every worker, dead ones included.
// Each release is retried until DynamoDB takes it.
func (c *Core) RestartPollers() int {
	for _, mp := range c.mappings {
		mp.release = true
		for _, w := range mp.workers {
			if w.state == dead {
				w.state = idle
			}
		}
	}
	return len(c.mappings)
}

// PollerState is one mapping's pollers, for the admin API.
type PollerState struct {
	UUID       string            `json:"uuid"`
	Owner      string            `json:"owner,omitempty"`
	Workers    map[string]string `json:"workers"`
	Processed  int64             `json:"processed"`
	Releasing  bool              `json:"releasing,omitempty"`
	LastPolled time.Time         `json:"lastPolled,omitzero"`
}

// Pollers returns every mapping's pollers, in UUID order.
func (c *Core) Pollers() []PollerState {
	var out []PollerState
	for _, id := range c.mappingIDs() {
		mp := c.mappings[id]
		ps := PollerState{UUID: id, Workers: map[string]string{}, Processed: mp.processed, Releasing: mp.release, LastPolled: mp.lastPolled}
		for _, w := range mp.workers {
			ps.Workers[w.name] = string(w.state)
			if w.state == leader {
				ps.Owner = w.name
			}
		}
		out = append(out, ps)
	}
	return out
}

// Stats are the invocation counters.
type Stats struct {
	Functions int   `json:"functions"`
	Mappings  int   `json:"mappings"`
	Admitted  int64 `json:"admitted"`
	Throttled int64 `json:"throttled"`
}

// Stats returns the invocation counters.
func (c *Core) Stats() Stats {
	return Stats{Functions: len(c.functions), Mappings: len(c.mappings), Admitted: c.admitted, Throttled: c.throttled}
}
