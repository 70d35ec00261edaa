package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Container restarts in flight. A container's restart (docker stop, then
// start and /healthz) takes 1-10 s of wall time on a loaded engine, one to
// three incident hours at the replay's speed; one after another, the
// runbook's restart of three hosts would keep the last one down for most
// of the morning. So a restart runs in the background: the operators'
// restarts of several hosts overlap, as theirs did. A later restart of the
// same host, WaitRestarts and Ledger.RevertAll wait for it.
var restarts = struct {
	sync.Mutex
	inFlight map[restartKey]*restart
	failed   map[harness.Stack][]error // until WaitRestarts reports them
}{inFlight: map[restartKey]*restart{}, failed: map[harness.Stack][]error{}}

type restartKey struct {
	stack    harness.Stack
	instance string
}

type restart struct {
	done chan struct{}
	err  error
}

// startRestart restarts instance's container in the background once any
// earlier restart of it is over.
func startRestart(ctx context.Context, s harness.Stack, instance string) error {
	key := restartKey{s, instance}
	for {
		restarts.Lock()
		prev := restarts.inFlight[key]
		if prev == nil {
			break
		}
		restarts.Unlock()
		select {
		case <-prev.done:
		case <-ctx.Done():
			return fmt.Errorf("restart %s: an earlier restart is still running: %w", instance, ctx.Err())
		}
	}
	r := &restart{done: make(chan struct{})}
	restarts.inFlight[key] = r
	restarts.Unlock()
	go func() {
		began := time.Now()
		r.err = s.Control(context.WithoutCancel(ctx), instance, harness.ActionRestart)
		// Said in the event stream: how long the host was away (wall and
		// incident time), or why it did not come back.
		if hub, ok := s.(interface{ EventHub() *kit.Events }); ok {
			took := time.Since(began)
			f := map[string]any{"wall": took.Round(time.Millisecond).String(),
				"incident": s.Endpoints().Clock.Speed.ToIncident(took).Round(time.Second).String()}
			kind := "container-restarted"
			if r.err != nil {
				kind, f["error"] = "container-restart-failed", r.err.Error()
			}
			hub.EventHub().Publish(kit.Event{Time: s.Clock().Now(), Service: instance, Kind: kind, Fields: f})
		}
		restarts.Lock()
		delete(restarts.inFlight, key)
		if r.err != nil {
			restarts.failed[s] = append(restarts.failed[s], fmt.Errorf("restart %s: %w", instance, r.err))
		}
		restarts.Unlock()
		close(r.done)
	}()
	return nil
}

// WaitRestarts waits until every container restart begun on s is over and
// returns the errors of those that failed since the last call.
func WaitRestarts(ctx context.Context, s harness.Stack) error {
	restarts.Lock()
	var pending []*restart
	for k, r := range restarts.inFlight {
		if k.stack == s {
			pending = append(pending, r)
		}
	}
	restarts.Unlock()
	for _, r := range pending {
		select {
		case <-r.done:
		case <-ctx.Done():
			return fmt.Errorf("container restarts still running: %w", ctx.Err())
		}
	}
	restarts.Lock()
	errs := restarts.failed[s]
	delete(restarts.failed, s)
	restarts.Unlock()
	return errors.Join(errs...)
}
