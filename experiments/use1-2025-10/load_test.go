package use1

import (
	"context"
	"strings"
	"testing"
)

// The load probe counts only the fleet's capacity refusals, against every
// call since its last sample, and fails from LoadFailShare on; the counts
// start again at each sample.
func TestLoadProbeCountsCapacityRefusals(t *testing.T) {
	var codes []string
	l := newLoadStream(ProbeSTSLoad, 4, func(context.Context) string { c := codes[0]; codes = codes[1:]; return c })
	if l.every.Seconds() != 15 {
		t.Fatalf("4 a minute: a call every %v, want 15s", l.every)
	}
	fire := func(cs ...string) {
		codes = cs
		for range cs {
			l.fire(context.Background())
		}
	}
	ctx := context.Background()
	fire("", "", "InternalFailure", "InternalFailure", "", "", "", "Throttling") // DynamoDB's outage is not the fleet's
	if s := l.sample(ctx); !s.OK || s.Value != 1.0/8 {
		t.Fatalf("1 of 8 refused for capacity: %+v, want OK with share 0.125", s)
	}
	fire("Throttling", "", "ServiceUnavailable", "")
	s := l.sample(ctx)
	if s.OK || s.Value != 0.5 || s.Code != "capacity-refused" || !strings.Contains(s.Detail, "ServiceUnavailable 1") {
		t.Fatalf("2 of 4 refused: %+v, want a failure naming the codes", s)
	}
	if s := l.sample(ctx); !s.OK || !strings.Contains(s.Detail, "no calls") {
		t.Fatalf("no calls since the last sample: %+v", s)
	}
	fire("TooManyRequestsException")
	if s := l.sample(ctx); s.OK {
		t.Fatalf("Lambda's throttle is a capacity refusal: %+v", s)
	}
	if newLoadStream(ProbeLambdaLoad, 0, nil).on() {
		t.Fatal("a load of 0 a minute runs")
	}
}
