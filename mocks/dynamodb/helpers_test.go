package dynamodb_test

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jonboulle/clockwork"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// startServer starts a server on loopback and returns it with its env.
func startServer(t testing.TB, cfg ddb.Config) (*ddb.Server, *kit.Env) {
	t.Helper()
	env := kit.NewEnv("dynamodb", clockwork.NewFakeClockAt(kit.IncidentStart), io.Discard, 1)
	s, err := ddb.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, env
}

// newClient is an SDK client for baseURL with retries off, so a test sees
// each error the server returns.
func newClient(t testing.TB, baseURL string) *dynamodb.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 64
	t.Cleanup(tr.CloseIdleConnections)
	return dynamodb.New(dynamodb.Options{
		Region:       awsclient.Region,
		Credentials:  awsclient.Credentials,
		BaseEndpoint: aws.String(baseURL),
		HTTPClient:   &http.Client{Transport: crcChecker{t: t, next: tr}, Timeout: 10 * time.Second},
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 }),
	})
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func s(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }
func n(v string) *types.AttributeValueMemberN { return &types.AttributeValueMemberN{Value: v} }

// createTable creates a PAY_PER_REQUEST table with a string hash key and
// an optional range key of rangeType.
func createTable(t testing.TB, c *dynamodb.Client, name, hash, rng, rangeType string) {
	t.Helper()
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(hash), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}},
	}
	if rng != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(rng), AttributeType: types.ScalarAttributeType(rangeType)})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	if _, err := c.CreateTable(ctxT(t), in); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// crcChecker verifies x-amz-crc32 on every response the SDK receives in
// these tests: aws-sdk-go-v2 v1.74's own check runs when the body is closed
// and its error is dropped, so it would not catch a wrong checksum. It also
// hands net/http a request body of its own: the SDK closes the request body
// as soon as the response arrives, and when net/http's write loop has not
// finished with it yet the pooled connection is dropped (about one request
// in three on loopback), which would blur the connection-age tests.
type crcChecker struct {
	t    testing.TB
	next http.RoundTripper
}

func (c crcChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	req, err := ownBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if want := strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10); resp.Header.Get("X-Amz-Crc32") != want {
		c.t.Errorf("x-amz-crc32 %q, want %q for %s", resp.Header.Get("X-Amz-Crc32"), want, body)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// ownBody gives req a body that only net/http reads and closes.
func ownBody(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return req, nil
}

// steady is a RoundTripper that gives net/http request bodies of its own,
// so connections are kept until the server retires them.
type steady struct{ next http.RoundTripper }

func (s steady) RoundTrip(req *http.Request) (*http.Response, error) {
	req, err := ownBody(req)
	if err != nil {
		return nil, err
	}
	return s.next.RoundTrip(req)
}
