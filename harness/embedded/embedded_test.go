package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/embedded"
	"github.com/cascade-lab/cascade/harness/probes"
)

func TestStackSteadyState(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	s, err := harness.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v: %+v", time.Since(start), s.Endpoints())
	defer func() {
		t0 := time.Now()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
		t.Logf("closed in %v", time.Since(t0))
	}()
	r := probes.NewRunner(s.Clock(), time.Minute, nil, probes.Default(s)...)
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := r.SampleOnce(ctx)
		allOK := true
		for _, smp := range out {
			if !smp.OK {
				allOK = false
			}
		}
		if allOK {
			t.Logf("steady after %v: %+v", time.Since(start), out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not steady: %+v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
