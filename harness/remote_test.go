package harness

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// An attached stack follows each service's event stream through its admin
// API, and reports the control API's refusals: 501 as ErrUnsupported, other
// statuses with the service's message.
func TestAttachFollowsEventsAndControls(t *testing.T) {
	env := kit.NewEnv("svc-a", kit.NewScaledClock(time.Now(), kit.IncidentStart, DefaultSpeed), nil, 1)
	admin := httptest.NewServer(kit.NewAdminMux(env, nil))
	t.Cleanup(admin.Close)
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/services/svc-a/pause":
			kit.WriteJSON(w, http.StatusNotImplemented, map[string]string{"error": "the embedded backend cannot pause"})
		case "/services/svc-a/restart":
			kit.WriteJSON(w, http.StatusOK, map[string]string{"service": "svc-a", "action": "restart"})
		default:
			kit.WriteJSON(w, http.StatusConflict, map[string]string{"error": "busy"})
		}
	}))
	t.Cleanup(control.Close)
	s := Attach(Endpoints{Name: "remote", Toxiproxy: "http://127.0.0.1:1", Control: control.URL,
		Admin: map[string]string{"svc-a": admin.URL}, Clock: ClockInfo{Epoch: time.Now(), IncidentStart: kit.IncidentStart}})
	t.Cleanup(func() { _ = s.Close(context.Background()) })

	ctx := context.Background()
	if err := s.Control(ctx, "svc-a", ActionRestart); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := s.Control(ctx, "svc-a", ActionPause); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "cannot pause") {
		t.Fatalf("pause: %v; want ErrUnsupported with the stack's reason", err)
	}
	if err := s.Control(ctx, "svc-a", ActionStop); err == nil || !strings.Contains(err.Error(), "409 Conflict: busy") {
		t.Fatalf("stop: %v; want the status and the stack's message", err)
	}

	events, cancel := s.Events(16)
	defer cancel()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond) // the stream starts when its request arrives
	defer tick.Stop()
	for {
		select {
		case ev := <-events:
			if ev.Kind == "followed" && ev.Service == "svc-a" {
				return
			}
		case <-tick.C:
			env.Events.Emit("followed")
		case <-deadline:
			t.Fatal("no event of svc-a followed within 5 s")
		}
	}
}
