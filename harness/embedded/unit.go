package embedded

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// unit is one service instance: its identity (name, events, failpoints)
// outlives restarts; its server does not. The admin API stays up on the
// same port while the service is stopped, so failpoints can be set on a
// stopped service and /healthz reports it down.
type unit struct {
	name, kind string
	env        *kit.Env // Events and Failpoints persist across restarts
	seed       int64
	// build constructs the service from its (pinned) config; pin records the
	// addresses it bound, so a restart binds the same ports.
	build func(env *kit.Env) (kit.Service, error)
	pin   func(svc kit.Service)

	admin   *kit.HTTPServer
	handler atomic.Pointer[http.Handler]
	unsub   func()

	mu       sync.Mutex
	svc      kit.Service
	cancel   context.CancelFunc
	state    harness.ServiceState
	restarts int64
}

var errStopped = errors.New("service stopped")

// ServeHTTP serves the current admin handler.
func (u *unit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*u.handler.Load()).ServeHTTP(w, r)
}

func (u *unit) setHandler(h http.Handler) { u.handler.Store(&h) }

// start constructs and starts the service. Callers hold no lock.
func (u *unit) start(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.svc != nil {
		return nil
	}
	// A fresh metrics registry per incarnation: constructors register
	// their collectors, which a second registration would refuse.
	env := &kit.Env{
		Name:       u.env.Name,
		Clock:      u.env.Clock,
		Events:     u.env.Events,
		Failpoints: u.env.Failpoints,
		Metrics:    prometheus.NewRegistry(),
		Rand:       u.env.Rand,
	}
	if u.restarts > 0 {
		env.Rand = newRand(u.seed + 1000*u.restarts)
	}
	svc, err := u.build(env)
	if err != nil {
		return fmt.Errorf("%s: %w", u.name, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := svc.Start(runCtx); err != nil {
		cancel()
		_ = svc.Close()
		return fmt.Errorf("%s: %w", u.name, err)
	}
	if u.pin != nil {
		u.pin(svc)
	}
	u.svc, u.cancel, u.state = svc, cancel, harness.Running
	u.setHandler(kit.NewAdminMuxFor(env, nil, svc))
	u.env.Events.Emit("started", "admin", u.admin.URL())
	return nil
}

// stop closes the service; its admin API keeps serving failpoints.
func (u *unit) stop() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.svc == nil {
		return nil
	}
	u.env.Events.Emit("stopping")
	err := u.svc.Close()
	u.cancel()
	u.svc, u.cancel, u.state = nil, nil, harness.Stopped
	u.restarts++
	u.setHandler(kit.NewAdminMux(u.env, func() error { return errStopped }))
	return err
}

func (u *unit) getState() harness.ServiceState {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.state
}

func (u *unit) setState(s harness.ServiceState) {
	u.mu.Lock()
	u.state = s
	u.mu.Unlock()
}

// service returns the running server, or nil.
func (u *unit) service() kit.Service {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.svc
}
