package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Probe measures one SLI once. Sample returns the measurement without its
// Time and Probe name (the Runner stamps them); it must return within ctx.
type Probe interface {
	Name() string
	Sample(ctx context.Context) timeline.Sample
}

// Func adapts a function to a Probe.
type Func struct {
	ProbeName string
	Fn        func(ctx context.Context) timeline.Sample
}

// Name is the probe's name.
func (f Func) Name() string { return f.ProbeName }

// Sample calls Fn.
func (f Func) Sample(ctx context.Context) timeline.Sample { return f.Fn(ctx) }

// Codes of failed samples besides the DNS ones of package timeline.
const (
	CodeTimeout = "timeout"
	CodeRefused = "connection-refused"
	CodeReset   = "connection-reset"
	CodeError   = "error"
)

// DefaultTimeout bounds one sample (wall time).
const DefaultTimeout = 2 * time.Second

// Resolve is the dns-resolve probe: the regional endpoint resolves through
// the mock DNS with Go's resolver (no cache: every sample asks the server).
// Value is the number of addresses.
func Resolve(ep harness.Endpoints) Probe {
	r := kit.NewResolver(ep.DNS)
	host := ep.DynamoDBHost
	if host == "" {
		host = awsclient.DynamoDBHost
	}
	return Func{ProbeName: timeline.ProbeDNSResolve, Fn: func(ctx context.Context) timeline.Sample {
		addrs, err := r.LookupHost(ctx, host)
		if err != nil {
			return timeline.Sample{Code: Classify(err), Detail: err.Error()}
		}
		if len(addrs) == 0 {
			return timeline.Sample{Code: timeline.CodeNoAddresses, Detail: host}
		}
		sort.Strings(addrs)
		return timeline.Sample{OK: true, Value: float64(len(addrs)), Detail: strings.Join(addrs, ",")}
	}}
}

// Classify maps an error of a probe call to an outcome code: the DNS codes
// of package timeline, the SDK's API error code, or a network code.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsNotFound:
			return timeline.CodeNoSuchHost
		case dnsErr.IsTimeout:
			return CodeTimeout
		default:
			return "dns-error"
		}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return CodeTimeout
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return CodeRefused
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"):
		return CodeReset
	}
	return CodeError
}

// DynamoDB holds the probes of the DynamoDB API; each sample uses a new HTTP
// client, so it resolves the endpoint and connects afresh, as a client whose
// connection aged out does.
type DynamoDB struct {
	ep      harness.Endpoints
	table   string
	timeout time.Duration

	once    sync.Once
	initErr error
}

// ProbeTable is the table the DynamoDB probes read and write.
const ProbeTable = "cascade-probe"

// NewDynamoDB returns the DynamoDB probes of a stack.
func NewDynamoDB(ep harness.Endpoints) *DynamoDB {
	return &DynamoDB{ep: ep, table: ProbeTable, timeout: DefaultTimeout}
}

func (d *DynamoDB) client() (*dynamodb.Client, func(), error) {
	hc := kit.NewHTTPClient(d.ep.DNS, d.timeout)
	c, err := d.ep.DynamoDB(awsclient.WithHTTPClient(hc), awsclient.WithMaxAttempts(1), awsclient.WithTimeout(d.timeout))
	return c, func() { closeIdle(hc) }, err
}

// closeIdle closes the client's idle connections, through kit's
// SteadyTransport wrapper when there is one (it has no CloseIdleConnections
// of its own, so http.Client.CloseIdleConnections would do nothing).
func closeIdle(hc *http.Client) {
	t := hc.Transport
	if s, ok := t.(kit.SteadyTransport); ok {
		t = s.Next
	}
	if c, ok := t.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Init creates the probe table and its item if missing (through the
// direct address when there is one, so it works while DNS is broken).
func (d *DynamoDB) Init(ctx context.Context) error {
	d.once.Do(func() {
		c, done, err := d.client()
		if host, port, ok := directAddr(d.ep.DynamoDBDirect); ok {
			hc := kit.NewHTTPClient(d.ep.DNS, d.timeout)
			c, err = awsclient.DynamoDB(d.ep.DNS, port, awsclient.WithHost(host), awsclient.WithHTTPClient(hc))
			done = func() { closeIdle(hc) }
		}
		if err != nil {
			d.initErr = err
			return
		}
		defer done()
		_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(d.table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			d.initErr = fmt.Errorf("probe table: %w", err)
			return
		}
		_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "probe"}, "v": &types.AttributeValueMemberS{Value: "ok"},
		}})
		if err != nil {
			d.initErr = fmt.Errorf("probe item: %w", err)
		}
	})
	return d.initErr
}

func (d *DynamoDB) sample(ctx context.Context, call func(ctx context.Context, c *dynamodb.Client) error) timeline.Sample {
	if err := d.Init(ctx); err != nil {
		// The table could not be made: count it as a failed call.
		return timeline.Sample{Code: Classify(err), Detail: err.Error()}
	}
	c, done, err := d.client()
	if err != nil {
		return timeline.Sample{Code: CodeError, Detail: err.Error()}
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := time.Now()
	err = call(ctx, c)
	lat := time.Since(start)
	if err != nil {
		return timeline.Sample{Code: Classify(err), Latency: lat, Detail: err.Error()}
	}
	return timeline.Sample{OK: true, Latency: lat, Value: float64(lat.Microseconds()) / 1000}
}

// directAddr splits http://host:port.
func directAddr(u string) (string, int, bool) {
	host, p, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil || u == "" {
		return "", 0, false
	}
	port, err := strconv.Atoi(p)
	return host, port, err == nil
}

// GetItem is the ddb-getitem probe; Value is the latency in milliseconds.
func (d *DynamoDB) GetItem() Probe {
	return Func{ProbeName: timeline.ProbeDDBGetItem, Fn: func(ctx context.Context) timeline.Sample {
		return d.sample(ctx, func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.table), Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "probe"}}})
			return err
		})
	}}
}

// PutItem is the ddb-putitem probe; Value is the latency in milliseconds.
func (d *DynamoDB) PutItem() Probe {
	return Func{ProbeName: timeline.ProbeDDBPutItem, Fn: func(ctx context.Context) timeline.Sample {
		return d.sample(ctx, func(ctx context.Context, c *dynamodb.Client) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.table), Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "probe-put"}, "at": &types.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)}}})
			return err
		})
	}}
}

// Default returns the steady-state probes that fit the stack's running
// services: dns-resolve, ddb-getitem and ddb-putitem (with route53 and
// dynamodb), plus those added by RegisterDefault.
func Default(s harness.Stack) []Probe {
	ep := s.Endpoints()
	var out []Probe
	if ep.DNS != "" {
		out = append(out, Resolve(ep))
	}
	if ep.DNS != "" && ep.DynamoDBPort != 0 {
		d := NewDynamoDB(ep)
		out = append(out, d.GetItem(), d.PutItem())
	}
	extraMu.Lock()
	defer extraMu.Unlock()
	for _, f := range extra {
		out = append(out, f(s)...)
	}
	return out
}

var (
	extraMu sync.Mutex
	extra   []func(harness.Stack) []Probe
)

// RegisterDefault adds probes to Default: f returns the probes that fit a
// stack (none when their service is not running). This is the hook for the
// probes of later services (EC2 launches, NLB capacity).
func RegisterDefault(f func(harness.Stack) []Probe) {
	extraMu.Lock()
	extra = append(extra, f)
	extraMu.Unlock()
}
