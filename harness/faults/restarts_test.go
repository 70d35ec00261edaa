package faults_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// slowEngine is a stack whose container restarts last until the test lets
// each one finish, as a loaded engine's docker stop and start do.
type slowEngine struct {
	harness.Stack // only the methods below are called
	clock         *kit.ScaledClock
	events        *kit.Events

	mu      sync.Mutex
	began   []string
	release map[string]chan error
}

func newSlowEngine() *slowEngine {
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, 20)
	return &slowEngine{clock: clock, events: kit.NewEvents("slow", clock, nil), release: map[string]chan error{}}
}

func (s *slowEngine) Name() string { return "slow" }
func (s *slowEngine) Endpoints() harness.Endpoints {
	return harness.Endpoints{Name: "slow", Backend: "containers", Clock: harness.ClockInfo{Speed: 20}}
}
func (s *slowEngine) Clock() kit.Clock            { return s.clock }
func (s *slowEngine) EventHub() *kit.Events       { return s.events }
func (s *slowEngine) Close(context.Context) error { return nil }

func (s *slowEngine) Control(ctx context.Context, instance string, action harness.Action) error {
	if action != harness.ActionRestart {
		return errors.New("only restarts here")
	}
	ch := make(chan error)
	s.mu.Lock()
	s.began = append(s.began, instance)
	s.release[instance] = ch
	s.mu.Unlock()
	return <-ch
}

func (s *slowEngine) started() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.began...)
}

// finish ends the restart of instance in progress, once it has begun.
func (s *slowEngine) finish(t *testing.T, instance string, err error) {
	t.Helper()
	var ch chan error
	waitFor(t, instance+"'s restart to begin", 2*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		ch = s.release[instance]
		delete(s.release, instance)
		return ch != nil
	})
	ch <- err
}

func TestContainerRestartsOverlapAndAreWaitedFor(t *testing.T) {
	ctx := context.Background()
	s := newSlowEngine()
	l := faults.NewLedger(s)
	// The runbook's three restarts return while the hosts are still away,
	// so all three are under way at once.
	for _, h := range []string{"dwfm-a", "dwfm-b", "dwfm-c"} {
		if _, err := l.Apply(ctx, &faults.RestartDWFM{Instance: h}); err != nil {
			t.Fatalf("restart %s: %v", h, err)
		}
	}
	waitFor(t, "three restarts under way", 2*time.Second, func() bool { return len(s.started()) == 3 })

	// A second restart of dwfm-a waits for the first to end.
	again := make(chan error, 1)
	go func() { _, err := l.Apply(ctx, &faults.RestartDWFM{Instance: "dwfm-a"}); again <- err }()
	select {
	case err := <-again:
		t.Fatalf("second restart of dwfm-a returned (%v) while the first was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.finish(t, "dwfm-a", nil)
	if err := <-again; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dwfm-a's second restart", 2*time.Second, func() bool { return len(s.started()) == 4 })

	// RevertAll waits for every restart and reports the one that failed.
	done := make(chan error, 1)
	go func() { done <- l.RevertAll(ctx) }()
	s.finish(t, "dwfm-b", nil)
	s.finish(t, "dwfm-c", errors.New("engine said no"))
	select {
	case err := <-done:
		t.Fatalf("RevertAll returned (%v) with dwfm-a still restarting", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.finish(t, "dwfm-a", nil)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "restart dwfm-c: engine said no") {
		t.Fatalf("RevertAll = %v, want the failed restart of dwfm-c", err)
	}
}
