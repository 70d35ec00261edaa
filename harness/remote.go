package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/admin"
)

// WriteEndpoints writes ep as indented JSON to path (atomically: a reader
// never sees half a file).
func WriteEndpoints(path string, ep Endpoints) error {
	raw, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	return os.Rename(tmp, path)
}

// ReadEndpoints reads an endpoints file written by WriteEndpoints.
func ReadEndpoints(path string) (Endpoints, error) {
	var ep Endpoints
	raw, err := os.ReadFile(path)
	if err != nil {
		return ep, fmt.Errorf("read endpoints: %w", err)
	}
	if err := json.Unmarshal(raw, &ep); err != nil {
		return ep, fmt.Errorf("read endpoints %s: %w", path, err)
	}
	if ep.Toxiproxy == "" || len(ep.Admin) == 0 {
		return ep, fmt.Errorf("read endpoints %s: no toxiproxy or admin addresses: not an endpoints file", path)
	}
	return ep, nil
}

// Attach returns a Stack over a stack another process runs (cascade up, a
// compose game-day), from its endpoints. Faults work through the toxiproxy
// and admin APIs; Control needs the stack's control API (Endpoints.Control).
// Close ends the event subscriptions only: the stack keeps running.
func Attach(ep Endpoints) Stack {
	clock := ep.Clock.Clock()
	r := &remote{StackBase: NewStackBase(ep, clock, kit.NewEvents(ep.Name, clock, nil))}
	r.SetToxiproxy(ep.Toxiproxy)
	return r
}

// remote is an attached stack; its endpoints never change.
type remote struct {
	*StackBase

	followOnce sync.Once
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

func (r *remote) Services() []Service {
	ep := r.Endpoints()
	if ep.Control != "" {
		var out []Service
		if err := control(ep).Get(context.Background(), "/services", &out); err == nil {
			return out
		}
	}
	var out []Service
	for _, n := range ep.Instances() {
		out = append(out, Service{Name: n, Kind: KindOf(n), Admin: ep.Admin[n]})
	}
	return out
}

func (r *remote) Control(ctx context.Context, instance string, action Action) error {
	if _, err := ParseAction(string(action)); err != nil {
		return err
	}
	ep := r.Endpoints()
	if err := ep.CheckInstance(instance); err != nil {
		return err
	}
	if ep.Control == "" {
		return fmt.Errorf("%s %s: %w: the stack serves no control API", action, instance, ErrUnsupported)
	}
	err := control(ep).Post(ctx, "/services/"+instance+"/"+string(action), nil, nil)
	var ae *admin.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotImplemented:
		return fmt.Errorf("%s %s: %w: %s", action, instance, ErrUnsupported, ae.Message)
	case errors.As(err, &ae):
		return fmt.Errorf("%s %s: %d %s: %s", action, instance, ae.Status, http.StatusText(ae.Status), ae.Message)
	case err != nil:
		return fmt.Errorf("%s %s: %w", action, instance, err)
	}
	return nil
}

// Events follows every admin API's /events?follow=1 from the first call on.
func (r *remote) Events(buffer int) (<-chan kit.Event, func()) {
	ch, unsub := r.EventHub().Subscribe(buffer)
	r.followOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		for _, u := range r.Endpoints().Admin {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.follow(ctx, admin.New(u))
			}()
		}
	})
	return ch, unsub
}

func (r *remote) follow(ctx context.Context, c *admin.Client) {
	for ctx.Err() == nil {
		_ = c.FollowEvents(ctx, func(ev kit.Event) { r.EventHub().Publish(ev) })
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond): // the service restarts: follow it again
		}
	}
}

func (r *remote) Close(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
	return nil
}

// control is a client of the stack's control API: the admin API's client,
// since it answers in the same shapes; a restart can take a while.
func control(ep Endpoints) *admin.Client {
	return admin.New(ep.Control, admin.WithName("control"), admin.WithHTTPClient(controlHTTP))
}

var controlHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

// ControlHandler serves a stack's control API for other processes:
//
//	GET  /endpoints                     Endpoints as JSON
//	GET  /services                      Services as JSON
//	POST /services/{name}/{action}      stop, start, pause, resume, restart
func ControlHandler(s Stack) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /endpoints", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Endpoints())
	})
	mux.HandleFunc("GET /services", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Services())
	})
	mux.HandleFunc("POST /services/{name}/{action}", func(w http.ResponseWriter, r *http.Request) {
		action, err := ParseAction(r.PathValue("action"))
		if err == nil {
			err = s.Control(r.Context(), r.PathValue("name"), action)
		}
		switch {
		case err == nil:
			kit.WriteJSON(w, http.StatusOK, map[string]string{"service": r.PathValue("name"), "action": string(action)})
		case errors.Is(err, ErrUnsupported):
			kit.WriteJSON(w, http.StatusNotImplemented, map[string]string{"error": err.Error()})
		case errors.Is(err, ErrUnknownService), errors.Is(err, ErrUnknownAction):
			kit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		default:
			kit.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		}
	})
	return mux
}
