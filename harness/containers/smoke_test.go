package containers_test

import (
	"context"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
)

// TestStackSmoke starts a small stack of containers (DynamoDB behind its
// three load balancer proxies) and checks the addresses and the proxies.
func TestStackSmoke(t *testing.T) {
	if err := engine.Available(context.Background()); err != nil {
		t.Skipf("SKIPPING: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	s, err := harness.Start(ctx, harness.WithBackend("containers"), harness.WithServices("dynamodb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v", time.Since(t0))
	defer s.Close(ctx)
	ep := s.Endpoints()
	t.Logf("endpoints %+v", ep)
	ps, err := s.Toxiproxy().Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("proxies %v", ps)
	}
}
