package backends_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/embedded"
)

// TestOneSeedOnePlanOnEveryBackend: a stack started with one seed gives
// every instance the same seed, and starts the instances in the same
// order, on the embedded backend (a running stack) and on the containers
// backend (its plan, computed as its Start computes it, without Docker).
func TestOneSeedOnePlanOnEveryBackend(t *testing.T) {
	for _, seed := range []int64{1, 42} {
		o, err := harness.NewOptions(harness.WithSeed(seed),
			harness.WithServices(harness.Route53Svc, harness.DynamoDBSvc, harness.DNSPlannerSvc, harness.DNSEnactorSvc))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		s, err := embedded.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Services()
		_ = s.Close(ctx)
		want, err := containers.Plan(o)
		if err != nil {
			t.Fatal(err)
		}
		strip := func(in []harness.Service) []harness.Service {
			out := make([]harness.Service, len(in))
			for i, sv := range in {
				out[i] = harness.Service{Name: sv.Name, Kind: sv.Kind, Seed: sv.Seed}
			}
			return out
		}
		if !slices.Equal(strip(got), want) {
			t.Fatalf("seed %d: embedded started %+v, containers plan %+v", seed, strip(got), want)
		}
		for _, sv := range want {
			if sv.Seed != catalogue.InstanceSeed(seed, sv.Name) {
				t.Errorf("seed %d: %s has seed %d, not its name's", seed, sv.Name, sv.Seed)
			}
		}
		if seed == 1 && want[0].Name != harness.Route53Svc {
			t.Errorf("start order %+v", want)
		}
	}
}
