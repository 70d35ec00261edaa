package dynamodb_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/jonboulle/clockwork"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// The handler benchmarks call ServeHTTP directly, without sockets: the
// server's own cost per request, which is what a profile of the
// cross-process benchmark's server side shows. For a profile:
//
//	go test -run '^$' -bench HandlerGetItem -cpuprofile cpu.out ./mocks/dynamodb

// sdkGetItemBody is the body aws-sdk-go-v2 sends for benchItem's key
// (TestSDKGetItemBodyTakesFastPath checks that it takes the fast path).
const sdkGetItemBody = `{"Key":{"id":{"S":"droplet-0042"}},"TableName":"leases"}`

// BenchmarkHandlerGetItem is the SDK's GetItem body, the fast path.
func BenchmarkHandlerGetItem(b *testing.B) {
	benchHandler(b, newBenchHandler(b), sdkGetItemBody)
}

// BenchmarkHandlerGetItemGeneral is the same request with a member the fast
// path does not take (a null AttributesToGet), so encoding/json decodes it.
func BenchmarkHandlerGetItemGeneral(b *testing.B) {
	benchHandler(b, newBenchHandler(b), `{"AttributesToGet":null,"Key":{"id":{"S":"droplet-0042"}},"TableName":"leases"}`)
}

// BenchmarkHandlerGetItemBare is the bare handler of the cross-process
// benchmark, the same way.
func BenchmarkHandlerGetItemBare(b *testing.B) {
	benchHandler(b, bareGetItemHandler(), sdkGetItemBody)
}

func newBenchHandler(b *testing.B) http.Handler {
	env := kit.NewEnv("dynamodb", clockwork.NewFakeClockAt(kit.IncidentStart), io.Discard, 1)
	srv, err := ddb.New(ddb.Config{MaxConnAge: -1, Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}}, env)
	if err != nil {
		b.Fatal(err)
	}
	srv.Do(func(c *ddb.Core) {
		var in ddb.PutItemInput
		if err := ddb.DecodeRequest([]byte(`{"TableName":"leases","Item":{"expires":{"N":"1760941800.5"},"id":{"S":"droplet-0042"},"owner":{"S":"dwfm-use1-az1-host-7"},"state":{"S":"leased"},"version":{"N":"1234"}}}`), &in); err != nil {
			b.Fatal(err)
		}
		if _, err := c.ItemPut(&in); err != nil {
			b.Fatal(err)
		}
	})
	return srv
}

// benchHandler serves body b.N times through h with a request and a
// response writer reused across iterations, and checks the answer once.
func benchHandler(b *testing.B, h http.Handler, body string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "/", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", ddb.TargetPrefix+"GetItem")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20251020/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	req.ContentLength = int64(len(body))
	rd := bytes.NewReader(nil)
	w := &benchWriter{h: http.Header{}}
	serve := func() {
		rd.Reset([]byte(body))
		req.Body = io.NopCloser(rd)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, req)
	}
	serve()
	if w.status != http.StatusOK || w.n < 100 {
		b.Fatalf("status %d, %d bytes", w.status, w.n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
}

// benchWriter is a ResponseWriter that keeps nothing but the status and the
// byte count.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
