package kit

import (
	"context"
	"net/http"
	"sync"
)

// Loop is a service's background goroutine, from Start until Close: the
// periodic loop of the DNS Planner and of each Enactor. The zero Loop is
// ready to use; a Loop runs once.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Start runs fn in a goroutine with a context that ends when ctx does or at
// Close. Call it at most once, before Close.
func (l *Loop) Start(ctx context.Context, fn func(ctx context.Context)) {
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		fn(ctx)
	}()
}

// Close cancels the loop's context and waits for fn to return, so nothing of
// the loop runs afterwards. It may be called more than once, and without a
// Start (then it returns at once).
func (l *Loop) Close() {
	l.once.Do(func() {
		if l.cancel != nil {
			l.cancel()
			<-l.done
		}
	})
}

// SwitchRoutes adds the operator switch of a service's automation to its
// admin mux, each answering with state() as JSON:
//
//	POST /admin/disable   set(false)
//	POST /admin/enable    set(true)
//	GET  /admin/state     state only
func SwitchRoutes[S any](mux *http.ServeMux, set func(on bool), state func() S) {
	mux.HandleFunc("POST /admin/disable", func(w http.ResponseWriter, r *http.Request) {
		set(false)
		WriteJSON(w, http.StatusOK, state())
	})
	mux.HandleFunc("POST /admin/enable", func(w http.ResponseWriter, r *http.Request) {
		set(true)
		WriteJSON(w, http.StatusOK, state())
	})
	mux.HandleFunc("GET /admin/state", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, state())
	})
}
