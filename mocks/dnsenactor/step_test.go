package dnsenactor

import (
	"testing"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// TestApplyStepReturnsTheWait: a retryable failure makes Step return the
// backoff as data and leaves the clock alone (the driver waits, not the
// core); the next Step reads again and applies. It fails if the core waited
// by itself (the clock would move) or retried within the same Step.
func TestApplyStepReturnsTheWait(t *testing.T) {
	w := newWorld(t, []dnsplan.Endpoint{dnsplan.Regional})
	other := w.enactor("other", kit.AsWas)
	w.generate(1)
	w.runAll(other)
	w.generate(1)
	a := w.enactor("a", kit.AsWas)
	a.SetLastApplied(1)
	run, err := a.Begin(w.ctx, w.io)
	if err != nil {
		t.Fatal(err)
	}
	w.io.BeforeChange = func(string, []dnsplan.Change) {
		w.io.BeforeChange = nil
		w.generate(1)
		w.runAll(other) // moves the endpoint between a's read and its change
	}
	ap := run.Start(run.Next())
	before := w.clock.Now()
	st := ap.Step(w.ctx)
	if st.Done || st.Wait != 2*time.Second || w.clock.Since(before) != time.Minute || w.io.waited != 0 {
		t.Fatalf("first step = %+v, clock moved %v (the interleaved generation: 1m), waited %v; want a 2s wait returned, not taken", st, w.clock.Since(before), w.io.waited)
	}
	if st = ap.Step(w.ctx); !st.Done {
		t.Fatalf("second step = %+v, want done", st)
	}
	if o := ap.Outcomes()[0]; !o.Applied || o.Attempts != 2 {
		t.Fatalf("outcome %+v, want applied on the second attempt", o)
	}
}
