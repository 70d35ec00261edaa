package containers_test

import (
	"context"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// BenchmarkEventLag measures how far behind the incident clock events arrive
// through the containers' logs, in wall time (lag-mean-ms, lag-max-ms; the
// README has the figures). It is a benchmark, not a test with a threshold:
// the lag is the engine's and the machine's, and a loaded machine would make
// a timed test fail for no fault of the code. The event stream itself is
// asserted by the suites (suites/containers).
func BenchmarkEventLag(b *testing.B) {
	if err := engine.Available(context.Background()); err != nil {
		b.Skipf("SKIPPING: %v", err)
	}
	ctx := context.Background()
	st, err := harness.Start(ctx, harness.WithBackend(containers.Name))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close(ctx)
	ev, stop := st.Events(100000)
	defer stop()
	speed := kit.Speed(st.Endpoints().Clock.Speed)
	var n int
	var sum, worst time.Duration
	b.ResetTimer()
	for range b.N {
		deadline := time.After(2 * time.Second)
		for done := false; !done; {
			select {
			case e := <-ev:
				lag := speed.ToWall(st.Clock().Now().Sub(e.Time))
				sum += lag
				n++
				worst = max(worst, lag)
			case <-deadline:
				done = true
			}
		}
	}
	if n == 0 {
		b.Fatal("no events from the containers' logs")
	}
	b.ReportMetric(float64(sum/time.Duration(n))/1e6, "lag-mean-ms")
	b.ReportMetric(float64(worst)/1e6, "lag-max-ms")
	b.ReportMetric(float64(n)/float64(b.N), "events/op")
}
