// Package awsclient builds aws-sdk-go-v2 clients wired to a cascade stack:
// static credentials, region us-east-1, no HTTP proxy from the environment,
// and for DynamoDB the endpoint's real hostname resolved through the mock DNS
// on every new connection. Every service of the stack, the probes and the
// tests use it.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Region is the only region of the stack.
const Region = "us-east-1"

// DynamoDBHost is the regional endpoint whose record the race empties.
const DynamoDBHost = "dynamodb.us-east-1.amazonaws.com"

// Credentials are the static credentials every client signs with; the mocks
// accept any signature but refuse unsigned requests.
var Credentials = credentials.NewStaticCredentialsProvider("AKIDCASCADE", "cascade-secret", "")

// Option configures a client.
type Option func(*options) error

type options struct {
	timeout     time.Duration
	maxAttempts int
	httpClient  *http.Client
	host        string
}

func defaultOptions() options {
	return options{timeout: 5 * time.Second, maxAttempts: 3, host: DynamoDBHost}
}

// WithTimeout bounds each HTTP request (wall time).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("timeout %v: must not be negative", d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxAttempts sets the SDK retryer's attempts (1 disables retries).
func WithMaxAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("max attempts %d: must be at least 1", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithHTTPClient replaces the HTTP client (for tests that count connections).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error { o.httpClient = c; return nil }
}

// WithHost replaces the DynamoDB hostname (FIPS or account endpoints).
func WithHost(host string) Option {
	return func(o *options) error { o.host = host; return nil }
}

func apply(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func baseConfig(o options, httpClient *http.Client) aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: Credentials,
		HTTPClient:  httpClient,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = o.maxAttempts })
		},
	}
}

// DynamoDB returns a client for http://<host>:<port> that resolves host
// through the DNS server at dnsAddr on every new connection.
func DynamoDB(dnsAddr string, port int, opts ...Option) (*dynamodb.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = kit.NewHTTPClient(dnsAddr, o.timeout)
	}
	endpoint := "http://" + o.host + ":" + strconv.Itoa(port)
	return dynamodb.New(dynamodb.Options{}, func(do *dynamodb.Options) {
		cfg := baseConfig(o, hc)
		do.Region = cfg.Region
		do.Credentials = cfg.Credentials
		do.HTTPClient = cfg.HTTPClient
		do.Retryer = cfg.Retryer()
		do.BaseEndpoint = aws.String(endpoint)
	}), nil
}

// Route53 returns a client for the Route53 API at baseURL (http://host:port).
func Route53(baseURL string, opts ...Option) (*route53.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("route53 client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = plainHTTPClient(o.timeout)
	}
	cfg := baseConfig(o, hc)
	return route53.New(route53.Options{}, func(ro *route53.Options) {
		ro.Region = cfg.Region
		ro.Credentials = cfg.Credentials
		ro.HTTPClient = cfg.HTTPClient
		ro.Retryer = cfg.Retryer()
		ro.BaseEndpoint = aws.String(baseURL)
	}), nil
}

// EC2 returns a client for the EC2 Query API at baseURL (http://host:port).
func EC2(baseURL string, opts ...Option) (*ec2.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("ec2 client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = plainHTTPClient(o.timeout)
	}
	cfg := baseConfig(o, hc)
	return ec2.New(ec2.Options{}, func(eo *ec2.Options) {
		eo.Region = cfg.Region
		eo.Credentials = cfg.Credentials
		eo.HTTPClient = cfg.HTTPClient
		eo.Retryer = cfg.Retryer()
		eo.BaseEndpoint = aws.String(baseURL)
	}), nil
}

// SQS returns a client for the SQS JSON API at baseURL (http://host:port).
func SQS(baseURL string, opts ...Option) (*sqs.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("sqs client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = plainHTTPClient(o.timeout)
	}
	cfg := baseConfig(o, hc)
	return sqs.New(sqs.Options{}, func(so *sqs.Options) {
		so.Region = cfg.Region
		so.Credentials = cfg.Credentials
		so.HTTPClient = cfg.HTTPClient
		so.Retryer = cfg.Retryer()
		so.BaseEndpoint = aws.String(baseURL)
	}), nil
}

// Lambda returns a client for the Lambda REST API at baseURL (http://host:port).
func Lambda(baseURL string, opts ...Option) (*lambda.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("lambda client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = plainHTTPClient(o.timeout)
	}
	cfg := baseConfig(o, hc)
	return lambda.New(lambda.Options{}, func(lo *lambda.Options) {
		lo.Region = cfg.Region
		lo.Credentials = cfg.Credentials
		lo.HTTPClient = cfg.HTTPClient
		lo.Retryer = cfg.Retryer()
		lo.BaseEndpoint = aws.String(baseURL)
	}), nil
}

// STS returns a client for the STS Query API at baseURL (http://host:port),
// signing with Credentials (sts.DefaultUser's key in the mock).
func STS(baseURL string, opts ...Option) (*sts.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("sts client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = plainHTTPClient(o.timeout)
	}
	cfg := baseConfig(o, hc)
	return sts.New(sts.Options{}, func(so *sts.Options) {
		so.Region = cfg.Region
		so.Credentials = cfg.Credentials
		so.HTTPClient = cfg.HTTPClient
		so.Retryer = cfg.Retryer()
		so.BaseEndpoint = aws.String(baseURL)
	}), nil
}

// ECS returns a client for the ECS JSON API at baseURL (http://host:port).
func ECS(baseURL string, opts ...Option) (*ecs.Client, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, fmt.Errorf("ecs client: %w", err)
	}
	hc := o.httpClient
	if hc == nil {
		hc = plainHTTPClient(o.timeout)
	}
	cfg := baseConfig(o, hc)
	return ecs.New(ecs.Options{}, func(eo *ecs.Options) {
		eo.Region = cfg.Region
		eo.Credentials = cfg.Credentials
		eo.HTTPClient = cfg.HTTPClient
		eo.Retryer = cfg.Retryer()
		eo.BaseEndpoint = aws.String(baseURL)
	}), nil
}

func plainHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{Transport: tr, Timeout: timeout}
}

// LostConnection reports an error of a request whose connection ended under
// it (EOF, reset, broken pipe, "server closed idle connection"): DynamoDB
// retires connections by age, so a call can meet a pooled connection the
// other side is closing. Such a call may be sent again at once, on a
// new connection, as the SDK's retryer would; a DNS failure is never one.
func LostConnection(err error) bool {
	if err == nil {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "server closed idle connection")
}

// lostConnectionAttempts is how many times RetryLostConnection makes a
// call: the SDK's standard retryer's default (3 attempts).
const lostConnectionAttempts = 3

// RetryLostConnection runs call, and runs it again (up to 3 attempts in all,
// the SDK standard retryer's default) while it lost its pooled connection
// (the server retired it at its maximum age, or closed it idle, while the
// request was on its way) and ctx still allows, as an SDK retryer would: that
// is connection aging, not an outage. An unresolvable endpoint, or any other
// error, is not retried.
func RetryLostConnection(ctx context.Context, call func() error) error {
	err := call()
	for i := 1; i < lostConnectionAttempts && LostConnection(err) && ctx.Err() == nil; i++ {
		err = call()
	}
	return err
}
