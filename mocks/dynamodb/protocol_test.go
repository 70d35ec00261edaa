package dynamodb_test

import (
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

type rawResponse struct {
	status int
	header http.Header
	body   map[string]any
	text   string
}

// post sends a hand-made request; auth false leaves the Authorization
// header out.
func post(t *testing.T, url, target, body string, auth bool) rawResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if auth {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20251020/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := rawResponse{status: resp.StatusCode, header: resp.Header, text: string(b)}
	_ = json.Unmarshal(b, &r.body)
	if want := strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10); resp.Header.Get("X-Amz-Crc32") != want {
		t.Fatalf("x-amz-crc32 %q, want %q", resp.Header.Get("X-Amz-Crc32"), want)
	}
	if id := resp.Header.Get("X-Amzn-Requestid"); len(id) != 52 {
		t.Fatalf("x-amzn-RequestId %q: want 52 characters", id)
	}
	return r
}

func TestProtocolErrors(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{MaxBodyBytes: 1 << 10, Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	url := srv.URL()
	cases := []struct {
		name, target, body string
		auth               bool
		status             int
		typ, message       string
	}{
		{"missing auth", "DynamoDB_20120810.GetItem", `{}`, false, 400, "com.amazon.coral.service#MissingAuthenticationTokenException", "Request is missing Authentication Token"},
		{"unknown operation", "DynamoDB_20120810.Frobnicate", `{}`, true, 400, "com.amazon.coral.service#UnknownOperationException", ""},
		{"no target", "", `{}`, true, 400, "com.amazon.coral.service#UnknownOperationException", ""},
		{"bad json", "DynamoDB_20120810.GetItem", `{"TableName": `, true, 400, "com.amazon.coral.service#SerializationException", ""},
		{"wrong json type", "DynamoDB_20120810.GetItem", `{"TableName": 5}`, true, 400, "com.amazon.coral.service#SerializationException", ""},
		{"empty attribute value", "DynamoDB_20120810.PutItem", `{"TableName":"leases","Item":{"id":{}}}`, true, 400, "com.amazon.coral.validate#ValidationException", "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{"too large", "DynamoDB_20120810.PutItem", `{"TableName":"leases","Item":{"id":{"S":"` + strings.Repeat("x", 2048) + `"}}}`, true, 413, "com.amazon.coral.service#RequestEntityTooLarge", ""},
		{"missing table", "DynamoDB_20120810.GetItem", `{"TableName":"nope","Key":{"id":{"S":"a"}}}`, true, 400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found"},
		{"condition failed", "DynamoDB_20120810.DeleteItem", `{"TableName":"leases","Key":{"id":{"S":"a"}},"ConditionExpression":"attribute_exists(id)"}`, true, 400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "The conditional request failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, url, tc.target, tc.body, tc.auth)
			if r.status != tc.status || r.body["__type"] != tc.typ {
				t.Fatalf("got %d %s, want %d %s", r.status, r.text, tc.status, tc.typ)
			}
			if tc.message != "" && r.body["message"] != tc.message {
				t.Fatalf("message %v, want %q", r.body["message"], tc.message)
			}
			if r.header.Get("Content-Type") != "application/x-amz-json-1.0" {
				t.Fatalf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
}

func TestHealthCheck(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	resp, err := http.Get(srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "healthy: dynamodb.us-east-1.amazonaws.com" {
		t.Fatalf("GET / = %d %q", resp.StatusCode, b)
	}
}

func TestFailpointsInjectThrottlingAndErrors(t *testing.T) {
	srv, env := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	put := func(cl *dynamodb.Client) error {
		_, err := cl.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s("a")}})
		return err
	}
	if err := env.Failpoints.Enable("dynamodb/PutItem", "return(ThrottlingException)"); err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	if err := put(c); !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("throttled put: %v", err)
	}
	// Only PutItem is affected.
	if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("a")}}); err != nil {
		t.Fatalf("get during PutItem throttling: %v", err)
	}
	// The SDK's retryer retries throttling: two failures then success.
	if err := env.Failpoints.Enable("dynamodb/PutItem", "2*return(ProvisionedThroughputExceededException)"); err != nil {
		t.Fatal(err)
	}
	retrying := dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 3; so.MaxBackoff = 1 })
	})
	if err := put(retrying); err != nil {
		t.Fatalf("retried put: %v", err)
	}
	if err := env.Failpoints.Disable("dynamodb/PutItem"); err != nil {
		t.Fatal(err)
	}
	if err := env.Failpoints.Enable("dynamodb/any", "return(InternalServerError)"); err != nil {
		t.Fatal(err)
	}
	var ise *types.InternalServerError
	if err := put(c); !errors.As(err, &ise) {
		t.Fatalf("any: %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if err := put(c); !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("status: %v", err)
	}
	_ = env.Failpoints.Disable("dynamodb/any")
	if err := put(c); err != nil {
		t.Fatal(err)
	}
	names := strings.Join(env.Failpoints.Names(), " ")
	for _, op := range ddb.Operations {
		if !strings.Contains(names, "dynamodb/"+op) {
			t.Fatalf("failpoint dynamodb/%s not registered: %s", op, names)
		}
	}
}

func TestMissingAuthThroughSDKAnonymous(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := dynamodb.New(dynamodb.Options{Region: awsclient.Region, BaseEndpoint: aws.String(srv.URL()), Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{}})
	_, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "MissingAuthenticationTokenException" || ae.ErrorMessage() != "Request is missing Authentication Token" {
		t.Fatalf("anonymous: %v", err)
	}
}

func startHandler(t testing.TB, h http.Handler) string {
	t.Helper()
	hs := &http.Server{Handler: h}
	ln := listen(t)
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}
