package admin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// serve starts the shared admin mux of a service named svc, with one
// failpoint and a route of its own that fails the way services fail.
func serve(t *testing.T, health func() error) (*kit.Env, *Client) {
	t.Helper()
	env := kit.NewEnv("svc", clockwork.NewFakeClockAt(kit.IncidentStart), nil, 1)
	env.Failpoints.Register("svc/op")
	mux := kit.NewAdminMux(env, health)
	mux.HandleFunc("POST /admin/run", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusConflict, map[string]any{"error": "a run is in progress", "summary": map[string]int{"applied": 2}})
	})
	mux.HandleFunc("GET /admin/aws", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"__type": "ThrottlingException", "message": "slow down"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return env, New(srv.URL, WithName("svc"))
}

// The shared routes round-trip: failpoints enable and disable, events and
// metrics read, health reports the service's error.
func TestClientSharedRoutes(t *testing.T) {
	healthy := true
	env, c := serve(t, func() error {
		if !healthy {
			return errors.New("store unreachable")
		}
		return nil
	})
	ctx := context.Background()
	if err := c.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	healthy = false
	var ae *Error
	if err := c.Healthz(ctx); !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Message != "store unreachable" {
		t.Fatalf("unhealthy: %v; want 503 with the service's error", err)
	}
	if err := c.EnableFailpoint(ctx, "svc/op", "return(x)"); err != nil {
		t.Fatal(err)
	}
	fps, err := c.Failpoints(ctx)
	if err != nil || len(fps) != 1 || fps[0].Terms != "return(x)" {
		t.Fatalf("failpoints %+v %v; want svc/op = return(x)", fps, err)
	}
	if err := c.EnableFailpoint(ctx, "svc/nope", "off"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(ae.Message, "svc/nope") {
		t.Fatalf("unknown failpoint: %v; want 404 naming it", err)
	}
	if err := c.DisableFailpoint(ctx, "svc/op"); err != nil {
		t.Fatal(err)
	}
	env.Events.Emit("thing-happened", "n", 1)
	evs, err := c.Events(ctx)
	if err != nil || len(evs) == 0 || evs[len(evs)-1].Kind != "thing-happened" {
		t.Fatalf("events %+v %v", evs, err)
	}
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "cascade_test_things_total", Help: "Things."})
	env.Metrics.MustRegister(counter)
	counter.Add(3)
	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(m, "cascade_test_things_total 3") {
		t.Fatalf("metrics %q %v; want the service's counter", m, err)
	}
}

// A non-2xx answer is an *Error with the service's message, in either error
// shape, and the body still fills out.
func TestClientErrors(t *testing.T) {
	_, c := serve(t, nil)
	ctx := context.Background()
	var out struct {
		Summary struct{ Applied int } `json:"summary"`
	}
	err := c.Post(ctx, "/admin/run", nil, &out)
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Message != "a run is in progress" || out.Summary.Applied != 2 {
		t.Fatalf("%v, summary %+v; want 409 'a run is in progress' and the summary", err, out)
	}
	if !strings.HasPrefix(err.Error(), "svc POST /admin/run: 409") {
		t.Fatalf("error %q; want it to name the instance, the call and the status", err)
	}
	if err := c.Get(ctx, "/admin/aws", nil); !errors.As(err, &ae) || ae.Type != "ThrottlingException" || ae.Message != "slow down" {
		t.Fatalf("%v; want the AWS-style type and message", err)
	}
	if err := c.Get(ctx, "/admin/none", nil); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("%v; want 404", err)
	}
}

// FollowEvents delivers events as they are emitted and returns when the
// context ends.
func TestClientFollowEvents(t *testing.T) {
	env, c := serve(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan kit.Event, 8)
	done := make(chan error, 1)
	go func() { done <- c.FollowEvents(ctx, func(ev kit.Event) { got <- ev }) }()
	deadline := time.After(5 * time.Second)
	// the subscription starts when the request arrives: emit until one is seen
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case ev := <-got:
			if ev.Kind != "followed" {
				t.Fatalf("event %+v", ev)
			}
			break wait
		case <-tick.C:
			env.Events.Emit("followed")
		case <-deadline:
			t.Fatal("no event followed within 5 s")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("FollowEvents did not return after its context ended")
	}
}
