package reaper

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

const testLabel = "cascade.run=r1"

// watcher runs Watch on loopback with a fake clock and reports its
// notifications and its end.
type watcher struct {
	t      *testing.T
	clock  *clockwork.FakeClock
	addr   string
	notes  chan string
	result chan error
	cfg    Config
}

func startWatch(t *testing.T) *watcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, clock: clockwork.NewFakeClock(), addr: ln.Addr().String(),
		notes: make(chan string, 64), result: make(chan error, 1)}
	w.cfg = Config{Label: testLabel, Grace: 10 * time.Second, ConnectTimeout: time.Minute, Clock: w.clock,
		Notify: func(kind string, _ int) { w.notes <- kind }}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); <-w.result })
	go func() {
		err := Watch(ctx, ln, w.cfg)
		w.result <- err
		w.result <- err // once for the test, once for the cleanup
	}()
	w.expect("waiting")
	return w
}

// expect waits for the next notification and checks its kind.
func (w *watcher) expect(kind string) {
	w.t.Helper()
	select {
	case got := <-w.notes:
		if got != kind {
			w.t.Fatalf("notification %q, want %q", got, kind)
		}
	case <-time.After(10 * time.Second):
		w.t.Fatalf("no notification, want %q", kind)
	}
}

// connect dials and says hello; the returned conn is a counted owner.
func (w *watcher) connect(label string) (net.Conn, error) {
	c, err := net.Dial("tcp", w.addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := Hello(c, label); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (w *watcher) owner() net.Conn {
	w.t.Helper()
	c, err := w.connect(testLabel)
	if err != nil {
		w.t.Fatal(err)
	}
	w.expect("owner-joined")
	return c
}

// advance moves the fake clock once Watch's one timer is set.
func (w *watcher) advance(d time.Duration) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.clock.BlockUntilContext(ctx, 1); err != nil {
		w.t.Fatalf("no timer running: %v", err)
	}
	w.clock.Advance(d)
}

func (w *watcher) ended() bool {
	select {
	case err := <-w.result:
		if err != nil {
			w.t.Fatalf("Watch: %v", err)
		}
		return true
	default:
		return false
	}
}

func (w *watcher) waitEnd() {
	w.t.Helper()
	select {
	case err := <-w.result:
		if err != nil {
			w.t.Fatalf("Watch: %v", err)
		}
	case <-time.After(10 * time.Second):
		w.t.Fatal("Watch did not end")
	}
}

// endsAfter checks that Watch ends exactly d after its timer was set: not
// a millisecond before (what names that moment in the failure).
func (w *watcher) endsAfter(d time.Duration, what string) {
	w.t.Helper()
	w.advance(d - time.Millisecond)
	if w.ended() {
		w.t.Fatalf("Watch ended before %s", what)
	}
	w.clock.Advance(time.Millisecond)
	w.expect("owner-gone")
	w.waitEnd()
}

func TestWatchEndsAGraceAfterTheLastOwnerLeft(t *testing.T) {
	w := startWatch(t)
	a := w.owner()
	b := w.owner()

	_ = a.Close()
	w.expect("owner-left")
	// One owner is still connected: no timer runs, so time passing changes nothing.
	w.clock.Advance(time.Hour)
	c := w.owner() // still watching: a new owner is acknowledged
	_ = c.Close()
	w.expect("owner-left")

	_ = b.Close()
	w.expect("owner-left")
	w.endsAfter(w.cfg.Grace, "the grace period was over")
	if _, err := w.connect(testLabel); err == nil {
		t.Fatal("an owner was acknowledged after the watch ended")
	}
}

func TestWatchKeepsARunWhoseOwnerReconnectsWithinTheGrace(t *testing.T) {
	w := startWatch(t)
	a := w.owner()
	_ = a.Close()
	w.expect("owner-left")
	w.advance(w.cfg.Grace - time.Second)

	b := w.owner() // back within the grace period
	w.clock.Advance(time.Hour)
	if w.ended() {
		t.Fatal("Watch ended while its owner was connected again")
	}
	// The grace starts afresh from the second leaving, not the first.
	_ = b.Close()
	w.expect("owner-left")
	w.endsAfter(w.cfg.Grace, "a full grace period after the owner left again")
}

func TestWatchEndsWhenNoOwnerComesWithinTheConnectTimeout(t *testing.T) {
	w := startWatch(t)
	w.endsAfter(w.cfg.ConnectTimeout, "the connect timeout")
}

func TestWatchRefusesAnOwnerOfAnotherRun(t *testing.T) {
	w := startWatch(t)
	_, err := w.connect("cascade.run=r2")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("hello for another run: %v, want ErrRefused", err)
	}
	// The refused connection does not count: the connect timeout still runs.
	w.advance(w.cfg.ConnectTimeout)
	w.expect("owner-gone")
	w.waitEnd()
}

func TestWatchStopsWithoutDecidingWhenItsContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Watch(ctx, ln, Config{Label: testLabel, Clock: clockwork.NewFakeClock()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch: %v, want context.Canceled", err)
	}
}

func TestConfigRejectsALabelWithoutValue(t *testing.T) {
	for _, l := range []string{"", "cascade.run", "cascade.run=", "=x"} {
		if err := (&Config{Label: l}).validate(); err == nil {
			t.Errorf("label %q accepted", l)
		}
	}
}
