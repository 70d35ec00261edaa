package dynamodb_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// countingClient is an SDK client whose dials are counted.
func countingClient(t *testing.T, url string) (*dynamodb.Client, *atomic.Int64) {
	var dials atomic.Int64
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	d := &net.Dialer{}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := newClient(t, url)
	c = dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: crcChecker{t: t, next: tr}}
	})
	return c, &dials
}

// TestMaxConnAgeRetiresConnectionsWithoutLosingRequests: under steady
// traffic a connection is answered with "Connection: close" once it is
// older than MaxConnAge, so the client dials again, and no request fails
// (retries are off).
func TestMaxConnAgeRetiresConnectionsWithoutLosingRequests(t *testing.T) {
	srv, env := startServer(t, ddb.Config{MaxConnAge: 300 * time.Millisecond, Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c, dials := countingClient(t, srv.URL())
	ctx := ctxT(t)
	deadline := time.Now().Add(2 * time.Second)
	requests := 0
	for time.Now().Before(deadline) {
		if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("a")}}); err != nil {
			t.Fatalf("request %d lost: %v", requests, err)
		}
		requests++
	}
	// Two seconds of traffic at a 300 ms age need at least 5 connections.
	if d := dials.Load(); d < 5 || int(d) > requests/2 {
		t.Fatalf("%d dials for %d requests, want one per ~300ms", d, requests)
	}
	if !hasEvent(env, "conn-aged-out") {
		t.Fatal("no conn-aged-out event")
	}
}

// TestIdleAgedConnectionsAreClosed: a connection that sits idle past
// MaxConnAge is closed by the server, so the client's next request dials.
func TestIdleAgedConnectionsAreClosed(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{MaxConnAge: 100 * time.Millisecond, IdleTimeout: time.Hour, Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c, dials := countingClient(t, srv.URL())
	ctx := ctxT(t)
	get := func() {
		t.Helper()
		if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("a")}}); err != nil {
			t.Fatal(err)
		}
	}
	get()
	get()
	if dials.Load() != 1 {
		t.Fatalf("%d dials for two quick requests, want 1 (keep-alive)", dials.Load())
	}
	waitFor(t, 3*time.Second, func() bool { return openConns(srv) == 0 })
	// The client may not have seen the close yet and send on the dead
	// connection; the SDK's default retryer then dials, as it would against
	// any server's idle timeout.
	retrying := dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 3; so.MaxBackoff = time.Millisecond })
	})
	if _, err := retrying.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("a")}}); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 2 {
		t.Fatalf("%d dials after the idle connection aged out, want 2", dials.Load())
	}
}

// TestIdleTimeout: with no age limit, an idle connection is closed after
// IdleTimeout.
func TestIdleTimeout(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{MaxConnAge: -1, IdleTimeout: 100 * time.Millisecond, Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c, _ := countingClient(t, srv.URL())
	if _, err := c.ListTables(ctxT(t), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, func() bool { return openConns(srv) == 0 })
}

func openConns(srv *ddb.Server) int { return srv.OpenConns() }

func hasEvent(env *kit.Env, kind string) bool {
	for _, ev := range env.Events.Recent() {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("condition not met within %v", timeout)
		case <-tick.C:
		}
	}
}
