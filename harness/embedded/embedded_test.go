package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/embedded"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
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
	var out []timeline.Sample
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		out = r.SampleOnce(ctx)
		for _, smp := range out {
			g.Expect(smp.OK).To(gomega.BeTrue(), "not steady: %+v", out)
		}
	}).WithTimeout(5 * time.Second).WithPolling(100 * time.Millisecond).Should(gomega.Succeed())
	t.Logf("steady after %v: %+v", time.Since(start), out)
}
