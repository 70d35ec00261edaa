package embedded_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
)

// BenchmarkEmbeddedStartStop starts the full stack (ready: every admin API
// healthy and the regional endpoint resolving) and closes it. It reports the
// start and stop times; the targets are under 2 s and under 1 s.
func BenchmarkEmbeddedStartStop(b *testing.B) {
	ctx := context.Background()
	var start, stop time.Duration
	for b.Loop() {
		t0 := time.Now()
		s, err := harness.Start(ctx, harness.WithBackend("embedded"))
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms/op")
}

// TestStartStopBudget holds the stack to its budget: start under 2 s,
// close under 1 s, and every port released.
func TestStartStopBudget(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	s, err := harness.Start(ctx, harness.WithBackend("embedded"))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Since(t0)
	ep := s.Endpoints()
	t1 := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(t1)
	t.Logf("start %v, stop %v", started, stopped)
	if started > 2*time.Second || stopped > time.Second {
		t.Errorf("start %v (budget 2s), stop %v (budget 1s)", started, stopped)
	}
	for _, addr := range listenAddrs(ep) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s still held after Close: %v", addr, err)
			continue
		}
		ln.Close()
	}
}

// listenAddrs lists every TCP address a stack listens on.
func listenAddrs(ep harness.Endpoints) []string {
	addrs := []string{ep.DNS, trimHTTP(ep.Toxiproxy), trimHTTP(ep.Route53API), trimHTTP(ep.DynamoDBDirect)}
	for _, u := range ep.Admin {
		addrs = append(addrs, trimHTTP(u))
	}
	for _, l := range ep.Links {
		addrs = append(addrs, l.Listen)
	}
	return addrs
}

func trimHTTP(u string) string {
	if len(u) > 7 && u[:7] == "http://" {
		return u[7:]
	}
	return u
}
