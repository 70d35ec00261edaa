package kit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopCloseCancelsAndWaits(t *testing.T) {
	var l Loop
	started, returned := make(chan struct{}), false
	l.Start(context.Background(), func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		returned = true // read after Close: Close must wait for this write
	})
	<-started
	l.Close()
	if !returned {
		t.Fatal("Close returned before the loop did")
	}
	l.Close() // a second Close is a no-op
}

func TestLoopCloseWaitsForEveryGoroutine(t *testing.T) {
	var l Loop
	var returned [3]bool
	started := make(chan struct{}, 3)
	fns := make([]func(context.Context), 3)
	for i := range fns {
		fns[i] = func(ctx context.Context) {
			started <- struct{}{}
			<-ctx.Done()
			returned[i] = true // read after Close: Close must wait for each
		}
	}
	l.Start(context.Background(), fns...)
	for range fns {
		<-started
	}
	l.Close()
	if returned != [3]bool{true, true, true} {
		t.Fatalf("Close returned before every goroutine did: %v", returned)
	}
}

func TestLoopEndsWithItsContext(t *testing.T) {
	var l Loop
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	l.Start(ctx, func(ctx context.Context) { <-ctx.Done(); close(ended) })
	cancel()
	<-ended
	l.Close()
}

func TestLoopCloseWithoutStart(t *testing.T) {
	var l Loop
	l.Close()
}

func TestSwitchRoutes(t *testing.T) {
	on := true
	mux := http.NewServeMux()
	SwitchRoutes(mux, func(v bool) { on = v }, func() map[string]bool { return map[string]bool{"enabled": on} })
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/admin/disable", false},
		{"GET", "/admin/state", false},
		{"POST", "/admin/enable", true},
		{"GET", "/admin/state", true},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		var got map[string]bool
		if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil {
			t.Fatalf("%s %s: status %d, body %q", tc.method, tc.path, rec.Code, rec.Body)
		}
		if got["enabled"] != tc.want {
			t.Errorf("%s %s: enabled %v, want %v", tc.method, tc.path, got["enabled"], tc.want)
		}
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/disable", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /admin/disable: status %d, want 405", rec.Code)
	}
}
