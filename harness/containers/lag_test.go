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

// TestEventLag measures how far behind the incident clock events arrive
// through the containers' logs (wall time), and fails above a second.
func TestEventLag(t *testing.T) {
	if err := engine.Available(context.Background()); err != nil {
		t.Skipf("SKIPPING: %v", err)
	}
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	st, err := harness.Start(ctx, harness.WithBackend(containers.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	ev, stop := st.Events(100000)
	defer stop()
	speed := st.Endpoints().Clock.Speed
	var n int
	var sum, max time.Duration
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case e := <-ev:
			lag := kit.Speed(speed).ToWall(st.Clock().Now().Sub(e.Time))
			sum += lag
			n++
			if lag > max {
				max = lag
			}
		case <-deadline:
			done = true
		}
	}
	if n == 0 {
		t.Fatal("no events")
	}
	t.Logf("%d events; lag mean %v max %v (wall)", n, sum/time.Duration(n), max)
	if max > time.Second {
		t.Errorf("events arrive up to %v late", max)
	}
}
