package ec2

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func newTestCore(cfg CoreConfig) (*Core, *clockwork.FakeClock) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	return NewCore(cfg, clock, rand.New(rand.NewSource(1))), clock
}

func apiCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// The RunInstances throttle is a token bucket in incident time: a burst,
// then RequestLimitExceeded until the rate has refilled a token.
func TestCoreThrottleRefillsInIncidentTime(t *testing.T) {
	c, clock := newTestCore(CoreConfig{RunPerMinute: 1, RunBurst: 2})
	for i := 0; i < 2; i++ {
		if err := c.AdmitRun(); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	if got := apiCode(c.AdmitRun()); got != CodeRequestLimitExceeded {
		t.Fatalf("call past the burst: %q; want %s", got, CodeRequestLimitExceeded)
	}
	clock.Advance(59 * time.Second)
	if got := apiCode(c.AdmitRun()); got != CodeRequestLimitExceeded {
		t.Fatalf("59 s later: %q; want still throttled", got)
	}
	clock.Advance(time.Second)
	if err := c.AdmitRun(); err != nil {
		t.Fatalf("a minute later: %v; want a refilled token", err)
	}
	c.SetRunRate(0, 0)
	for i := 0; i < 100; i++ {
		if err := c.AdmitRun(); err != nil {
			t.Fatalf("throttle removed: %v", err)
		}
	}
}

// An instance is pending for the boot time, then running; terminated, it is
// shutting-down for the shutdown time, then terminated.
func TestCoreInstanceLifecycle(t *testing.T) {
	c, clock := newTestCore(CoreConfig{BootTime: 2 * time.Minute, ShutdownTime: time.Minute})
	_, insts := c.Launch(LaunchSpec{ImageID: "ami-1", InstanceType: "m5.large"}, []Placement{{Zone: "us-east-1a", ZoneID: "use1-az1", Droplet: "d-1"}})
	in := insts[0]
	if !ValidInstanceID(in.ID) || c.State(in) != StatePending {
		t.Fatalf("new instance %s in %s; want a valid id, pending", in.ID, c.State(in))
	}
	clock.Advance(2*time.Minute - time.Second)
	if c.State(in) != StatePending {
		t.Fatalf("before the boot time: %s", c.State(in))
	}
	clock.Advance(time.Second)
	if c.State(in) != StateRunning {
		t.Fatalf("after the boot time: %s", c.State(in))
	}
	ch, err := c.Terminate([]string{in.ID})
	if err != nil || ch[0].Previous != StateRunning || ch[0].Current != StateShuttingDown {
		t.Fatalf("terminate: %+v %v", ch, err)
	}
	clock.Advance(time.Minute)
	if c.State(in) != StateTerminated {
		t.Fatalf("after the shutdown time: %s", c.State(in))
	}
	if ch, _ := c.Terminate([]string{in.ID}); ch[0].Previous != StateTerminated {
		t.Fatalf("terminating twice: %+v; want a no-op", ch)
	}
	out, _, err := c.Describe(nil, []Filter{{Name: "instance-state-name", Values: []string{"running"}}}, 0, "")
	if err != nil || len(out) != 0 {
		t.Fatalf("running instances after termination: %d %v", len(out), err)
	}
	if _, err := c.Terminate([]string{"i-0123456789abcdef0"}); apiCode(err) != CodeInstanceNotFound {
		t.Fatalf("unknown id: %v", err)
	}
}
