package kit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewAdminMux returns the admin API every service serves:
//
//	GET    /healthz              200 "ok", or 503 with the error health returns
//	GET    /metrics              Prometheus metrics of env.Metrics
//	GET    /events               retained events as JSON lines; ?follow=1 streams
//	GET    /failpoints           every failpoint as JSON
//	PUT    /failpoints/{name...} body: terms (see Failpoints)
//	DELETE /failpoints/{name...} off, releasing paused callers
//	DELETE /failpoints           every failpoint off
//
// Services add their own operator actions under /admin/ on the returned mux.
func NewAdminMux(env *Env, health func() error) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if health != nil {
			if err := health(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(env.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) { serveEvents(w, r, env.Events) })
	mux.HandleFunc("GET /failpoints", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, env.Failpoints.Status())
	})
	mux.HandleFunc("DELETE /failpoints", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"disabled": env.Failpoints.DisableAll()})
	})
	mux.HandleFunc("PUT /failpoints/{name...}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := env.Failpoints.Enable(r.PathValue("name"), string(body)); err != nil {
			writeFailpointError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /failpoints/{name...}", func(w http.ResponseWriter, r *http.Request) {
		if err := env.Failpoints.Disable(r.PathValue("name")); err != nil {
			writeFailpointError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeFailpointError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrUnknownFailpoint) {
		status = http.StatusNotFound
	}
	WriteJSON(w, status, map[string]string{"error": err.Error()})
}

func serveEvents(w http.ResponseWriter, r *http.Request, events *Events) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	if r.URL.Query().Get("follow") == "" {
		for _, ev := range events.Recent() {
			_ = enc.Encode(ev)
		}
		return
	}
	ch, cancel := events.Subscribe(1024)
	defer cancel()
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		w.WriteHeader(http.StatusOK)
		flusher.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if enc.Encode(ev) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TrimSlash is a small helper for path values of the form "a/b/".
func TrimSlash(s string) string { return strings.Trim(s, "/") }

// AdminRoutes is implemented by a service that has operator actions or
// inspection endpoints of its own; they are served under /admin/ beside the
// shared routes.
type AdminRoutes interface {
	AdminRoutes(mux *http.ServeMux)
}

// NewAdminMuxFor is NewAdminMux plus svc's own routes when it has any.
func NewAdminMuxFor(env *Env, health func() error, svc any) *http.ServeMux {
	mux := NewAdminMux(env, health)
	if r, ok := svc.(AdminRoutes); ok {
		r.AdminRoutes(mux)
	}
	return mux
}
