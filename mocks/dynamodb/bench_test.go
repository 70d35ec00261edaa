package dynamodb_test

import (
	"hash/crc32"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// benchClient is the same SDK client for every benchmark: no retries, and
// request bodies of its own (see crcChecker) so that connections are kept
// and the figures measure requests, not dials.
func benchClient(b *testing.B, url string) *dynamodb.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 64
	b.Cleanup(tr.CloseIdleConnections)
	return dynamodb.New(dynamodb.Options{
		Region:       awsclient.Region,
		Credentials:  awsclient.Credentials,
		BaseEndpoint: aws.String(url),
		HTTPClient:   &http.Client{Transport: steady{next: tr}, Timeout: 10 * time.Second},
		Retryer:      aws.NopRetryer{},
	})
}

var benchItem = map[string]types.AttributeValue{
	"id":      s("droplet-0042"),
	"owner":   s("dwfm-use1-az1-host-7"),
	"version": n("1234"),
	"expires": n("1760941800.5"),
	"state":   s("leased"),
}

func benchServer(b *testing.B) (*ddb.Server, *dynamodb.Client) {
	srv, _ := startServer(b, ddb.Config{MaxConnAge: -1, Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := benchClient(b, srv.URL())
	if _, err := c.PutItem(ctxT(b), &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: benchItem}); err != nil {
		b.Fatal(err)
	}
	return srv, c
}

func runGets(b *testing.B, c *dynamodb.Client) {
	ctx := ctxT(b)
	in := &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("droplet-0042")}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			out, err := c.GetItem(ctx, in)
			if err != nil || len(out.Item) != len(benchItem) {
				b.Errorf("get: %v %v", err, out)
				return
			}
		}
	})
}

// BenchmarkSDKGetItem is GetItem through aws-sdk-go-v2 over loopback.
func BenchmarkSDKGetItem(b *testing.B) {
	_, c := benchServer(b)
	runGets(b, c)
}

// BenchmarkSDKPutItem is PutItem through aws-sdk-go-v2 over loopback.
func BenchmarkSDKPutItem(b *testing.B) {
	_, c := benchServer(b)
	ctx := ctxT(b)
	in := &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: benchItem}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.PutItem(ctx, in); err != nil {
				b.Errorf("put: %v", err)
				return
			}
		}
	})
}

// BenchmarkSDKGetItemBareHandler is the same client against a bare
// net/http handler returning a canned GetItem response: the ceiling the
// mock is measured against.
func BenchmarkSDKGetItemBareHandler(b *testing.B) {
	url := startHandler(b, bareGetItemHandler())
	runGets(b, benchClient(b, url))
}

// bareGetItemHandler answers every request with the GetItem response the
// mock gives for benchItem, with the same headers: the least a DynamoDB
// endpoint can do.
func bareGetItemHandler() http.Handler {
	body := []byte(`{"Item":{"expires":{"N":"1760941800.5"},"id":{"S":"droplet-0042"},"owner":{"S":"dwfm-use1-az1-host-7"},"state":{"S":"leased"},"version":{"N":"1234"}}}`)
	crc := strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 512))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-Requestid", "BARE0000000000000000000000000000000000000000000000000")
		w.Header().Set("X-Amz-Crc32", crc)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}
