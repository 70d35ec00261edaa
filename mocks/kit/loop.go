package kit

import (
	"context"
	"net/http"
	"sync"
)

// Loop is a service's background goroutines, from Start until Close: the
// periodic loop of the DNS Planner and of each Enactor, the check workers and
// publishers of the NLB, a DWFM host's check loop and workers. They share one
// context and stop together. The zero Loop is ready to use; a Loop runs once.
type Loop struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Start runs each fn in its own goroutine with a context that ends when ctx
// does or at Close. Call it at most once, before Close.
func (l *Loop) Start(ctx context.Context, fns ...func(ctx context.Context)) {
	l.ctx, l.cancel = context.WithCancel(ctx)
	for _, fn := range fns {
		l.Go(fn)
	}
}

// Go runs one more fn under the loops' context, for work a loop hands off
// (a DWFM host's post to Network Manager). Call it after Start and before
// Close: from one of the loops, whose own goroutine keeps Close waiting.
func (l *Loop) Go(fn func(ctx context.Context)) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn(l.ctx)
	}()
}

// Close cancels the loops' context and waits for every fn to return, so
// nothing of them runs afterwards. It may be called more than once, and
// without a Start (then it returns at once).
func (l *Loop) Close() {
	l.once.Do(func() {
		if l.cancel != nil {
			l.cancel()
			l.wg.Wait()
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
