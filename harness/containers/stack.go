package containers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/harness/containers/reaper"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Stack is a stack of containers: started by this package (backend
// "containers") or attached to one docker compose started (backend
// "compose"). It implements harness.Stack.
type Stack struct {
	*harness.StackBase

	backend string
	run     string // cascade.run label value ("" for compose stacks)
	cli     *engine.Client
	router  *kit.HTTPServer
	// reaper removes the run if this process dies without Close (nil for
	// compose stacks and when CASCADE_REAPER=off).
	reaper *reaper.Reaper

	// network is the stack's network (removed on Close when owned).
	network      string
	ownsNetwork  bool
	ownsServices bool

	mu    sync.Mutex
	units []*unit
	by    map[string]*unit

	followCtx  context.Context
	stopFollow context.CancelFunc
	followers  sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

var _ harness.Stack = (*Stack)(nil)

// unit is one container of the stack.
type unit struct {
	name, kind string
	id         string
	ip         string
	tc         *testcontainers.DockerContainer // nil when attached (compose)
	sink       *eventSink
	service    bool // a mock service (vs a toxiproxy)
	// attached: a user's container (WithAttach); port, when not 0, is
	// where it listens.
	attached bool
	port     int

	mu    sync.Mutex
	state harness.ServiceState
}

func (u *unit) setState(s harness.ServiceState) { u.mu.Lock(); u.state = s; u.mu.Unlock() }
func (u *unit) getState() harness.ServiceState  { u.mu.Lock(); defer u.mu.Unlock(); return u.state }

func newStack(name, backend string, cli *engine.Client, clock *kit.ScaledClock, events *kit.Events) *Stack {
	ctx, cancel := context.WithCancel(context.Background())
	return &Stack{
		StackBase: harness.NewStackBase(harness.Endpoints{Name: name, Backend: backend}, clock, events),
		backend:   backend, cli: cli,
		by: map[string]*unit{}, followCtx: ctx, stopFollow: cancel,
	}
}

func (s *Stack) addUnit(u *unit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units = append(s.units, u)
	s.by[u.name] = u
}

// startRouter serves the merged toxiproxy API (see toxiRouter) on loopback.
func (s *Stack) startRouter(main string, byProxy map[string]string) error {
	r, err := newToxiRouter(main, byProxy)
	if err != nil {
		return err
	}
	srv, err := kit.StartHTTP("127.0.0.1:0", r)
	if err != nil {
		return fmt.Errorf("toxiproxy router: %w", err)
	}
	s.router = srv
	s.SetToxiproxy(srv.URL())
	return nil
}

// Run is the stack's run id (the value of its cascade.run label).
func (s *Stack) Run() string { return s.run }

// Network is the name of the stack's Docker network.
func (s *Stack) Network() string { return s.network }

// Services lists the service instances (not the proxies) in start order.
func (s *Stack) Services() []harness.Service {
	admin := s.Endpoints().Admin
	s.mu.Lock()
	units := slices.Clone(s.units)
	s.mu.Unlock()
	var out []harness.Service
	for _, u := range units {
		if u.service {
			out = append(out, harness.Service{Name: u.name, Kind: u.kind, Admin: admin[u.name], State: u.getState()})
		}
	}
	return out
}

// ContainerID returns the Docker id of an instance's container (services
// and proxies: "dwfm-a", "ddb-lb-b", "toxiproxy").
func (s *Stack) ContainerID(instance string) (string, error) {
	u, err := s.unit(instance, false)
	if err != nil {
		return "", err
	}
	return u.id, nil
}

func (s *Stack) unit(instance string, serviceOnly bool) (*unit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.by[instance]; ok && (u.service || u.attached || !serviceOnly) {
		return u, nil
	}
	var names []string
	for _, u := range s.units {
		if u.service || u.attached || !serviceOnly {
			names = append(names, u.name)
		}
	}
	return nil, fmt.Errorf("%w %q: valid services are %v", harness.ErrUnknownService, instance, names)
}

// Control stops, starts, pauses, resumes or restarts a service's container:
// docker stop, start, pause, unpause and restart (stop, then start and wait
// until its /healthz answers). A restarted service loses what it held in
// memory, as a real host does.
func (s *Stack) Control(ctx context.Context, instance string, action harness.Action) error {
	if _, err := harness.ParseAction(string(action)); err != nil {
		return err
	}
	u, err := s.unit(instance, true)
	if err != nil {
		return err
	}
	stopTimeout := 5 * time.Second
	switch action {
	case harness.ActionStop:
		err = s.stopUnit(ctx, u, stopTimeout)
	case harness.ActionStart:
		err = s.startUnit(ctx, u)
	case harness.ActionRestart:
		if err = s.stopUnit(ctx, u, stopTimeout); err == nil {
			err = s.startUnit(ctx, u)
		}
	case harness.ActionPause:
		if _, err = s.cli.ContainerPause(ctx, u.id, client.ContainerPauseOptions{}); err == nil {
			u.setState(harness.Paused)
			s.publish(u.name, "paused")
		}
	case harness.ActionResume:
		if _, err = s.cli.ContainerUnpause(ctx, u.id, client.ContainerUnpauseOptions{}); err == nil {
			u.setState(harness.Running)
			s.publish(u.name, "resumed")
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, instance, err)
	}
	return nil
}

func (s *Stack) stopUnit(ctx context.Context, u *unit, timeout time.Duration) error {
	if u.tc != nil {
		if err := u.tc.Stop(ctx, &timeout); err != nil {
			return err
		}
	} else {
		secs := int(timeout / time.Second)
		if _, err := s.cli.ContainerStop(ctx, u.id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
			return err
		}
	}
	u.setState(harness.Stopped)
	return nil
}

func (s *Stack) startUnit(ctx context.Context, u *unit) error {
	if u.tc != nil {
		// testcontainers restarts the log consumers (under this context, so
		// not the caller's) and waits for /healthz.
		if err := u.tc.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	} else {
		if _, err := s.cli.ContainerStart(ctx, u.id, client.ContainerStartOptions{}); err != nil {
			return err
		}
		s.follow(u, time.Now())
		if u.attached {
			if err := s.waitAttached(ctx, u); err != nil {
				return err
			}
		} else if err := waitHTTP(ctx, u.ip, adminPort, "/healthz", 60*time.Second); err != nil {
			return err
		}
	}
	u.setState(harness.Running)
	return nil
}

// publish adds an event of the harness's own (a pause is invisible to the
// paused process) to the stream under the instance's name.
func (s *Stack) publish(instance, kind string) {
	s.EventHub().Publish(kit.Event{Time: s.Clock().Now(), Service: instance, Kind: kind, Fields: map[string]any{"by": s.backend}})
}

// Logs returns the last lines an instance wrote that were not events
// (errors, panics), for diagnostics.
func (s *Stack) Logs(instance string) string {
	u, err := s.unit(instance, false)
	if err != nil || u.sink == nil {
		return ""
	}
	return u.sink.Tail()
}

// Close removes every container and the network of a stack this package
// started (and sweeps anything else labelled with its run), or only lets go
// of an attached compose stack (removing the users' containers attached to
// it). It may be called more than once.
func (s *Stack) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		ctx := context.WithoutCancel(ctx)
		var errs []error
		s.mu.Lock()
		units := slices.DeleteFunc(slices.Clone(s.units), func(u *unit) bool { return !s.ownsServices && !u.attached })
		s.mu.Unlock()
		if len(units) > 0 || s.run != "" {
			errs = append(errs, harness.InParallel(units, func(u *unit) error {
				// A forced removal (SIGKILL) rather than testcontainers'
				// Terminate, which first waits up to 5 s per container for
				// its log stream to end; the removal ends the stream, and
				// with it testcontainers' log goroutine.
				if u.id == "" {
					return nil
				}
				// Its endpoint is taken off the network first (see
				// reaper.RemoveContainer).
				var nets []string
				if (s.ownsNetwork || u.attached) && s.network != "" {
					nets = []string{s.network}
				}
				if err := reaper.RemoveContainer(ctx, s.cli, u.id, nets...); err != nil {
					return fmt.Errorf("remove %s: %w", u.name, err)
				}
				return nil
			}))
			if s.run != "" {
				// Anything of this run still there (a container that failed
				// half-way through its creation, the network, the reaper).
				if _, err := engine.Reap(ctx, s.cli, engine.ReapOptions{All: true, Runs: []string{s.run}}); err != nil {
					errs = append(errs, s.engineDefect(ctx, err))
				}
			}
		}
		// Only now: the run is gone, reaper container included, so letting
		// go of the connection can no longer get anything reaped twice.
		s.reaper.Close()
		s.stopFollow()
		s.followers.Wait()
		if s.router != nil {
			errs = append(errs, s.router.Close())
		}
		if s.cli != nil {
			errs = append(errs, s.cli.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// engineDefect tells a leftover of the engine's from one of the stack's: when
// none of the run's containers is left and only its network would not go,
// the network holds a phantom endpoint ("has active endpoints" with no
// container on it, which only an engine restart clears). That is reported
// as a network-not-removed event, not as a failure to close; anything else
// is returned as it is.
func (s *Stack) engineDefect(ctx context.Context, reapErr error) error {
	left, err := engine.List(ctx, s.cli, s.run)
	if err != nil {
		return reapErr
	}
	for _, l := range left {
		if l.Kind != "network" {
			return reapErr
		}
	}
	if !strings.Contains(reapErr.Error(), "active endpoints") {
		return reapErr
	}
	s.EventHub().Publish(kit.Event{Time: s.Clock().Now(), Service: "harness", Kind: "network-not-removed",
		Fields: map[string]any{"network": s.network, "error": reapErr.Error()}})
	return nil
}
