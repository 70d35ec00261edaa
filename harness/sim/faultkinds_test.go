package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// oneCall runs one call a -> srv (1 s service, 1 s latency each way, no
// jitter) with fault applied to the request link, and returns how long it
// took on the virtual clock and its error.
func oneCall(t *testing.T, fault func(req, rep *Link)) (time.Duration, error) {
	t.Helper()
	s := New(1, kit.IncidentStart)
	n := NewNetwork(s)
	n.Serve("srv", &Server{Service: time.Second})
	n.Both("a", "srv", func(l *Link) { l.Latency = time.Second })
	fault(n.Link("a", "srv"), n.Link("srv", "a"))
	var took time.Duration
	var err error
	s.Go("a", func(p *Proc) {
		t0 := s.Now()
		err = n.Call(p, "a", "srv", time.Hour, func() error { return nil })
		took = s.Now().Sub(t0)
	})
	s.Run(kit.IncidentStart.Add(2 * time.Hour))
	return took, err
}

// The byte toxics on the virtual clock: bandwidth adds size/rate to a
// message, the slicer adds its delay between slices, slow_close delays a
// reset but not a reply, limit_data resets the message that passes the
// limit. Each case fails if the toxic were ignored (the call would take
// the plain 3 s, or succeed).
func TestByteToxics(t *testing.T) {
	const plain = 3 * time.Second // 1 s there, 1 s service, 1 s back
	for _, tc := range []struct {
		name  string
		fault func(req, rep *Link)
		took  time.Duration
		err   error
	}{
		{"none", func(*Link, *Link) {}, plain, nil},
		// 10 KB at 1 KB/s: 10 s more on the request
		{"bandwidth", func(req, _ *Link) { req.MsgBytes, req.Bandwidth = 10_000, 1 }, plain + 10*time.Second, nil},
		// 1000 bytes in slices of 100: 10 slices, 9 gaps of 2 s
		{"slicer", func(req, _ *Link) { req.MsgBytes, req.SliceSize, req.SliceDelay = 1000, 100, 2*time.Second }, plain + 18*time.Second, nil},
		// a reply is not a close: unchanged
		{"slow_close reply", func(req, _ *Link) { req.CloseDelay = time.Minute }, plain, nil},
		// a reset after 5 s arrives a minute later
		{"slow_close reset", func(req, _ *Link) { req.Reset, req.ResetAfter, req.CloseDelay = true, 5*time.Second, time.Minute }, 5*time.Second + time.Minute, ErrReset},
		// a 1 KB request over a link limited to 500 bytes is cut at once
		{"limit_data", func(req, _ *Link) { req.LimitBytes = 500 }, 0, ErrReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took, err := oneCall(t, tc.fault)
			if !errors.Is(err, tc.err) || took != tc.took {
				t.Fatalf("took %v with %v, want %v with %v", took, err, tc.took, tc.err)
			}
		})
	}
}

// limit_data counts the bytes over the link and closes its connection
// when the next message would pass the limit: with room for two messages,
// the third call is reset and the fourth goes over a new connection. It
// fails if the count never closed or never started again.
func TestLimitDataClosesThenReconnects(t *testing.T) {
	s := New(1, kit.IncidentStart)
	n := NewNetwork(s)
	n.Serve("srv", &Server{Service: time.Second})
	n.Link("a", "srv").LimitBytes = 2*DefaultMsgBytes + 100
	var errs []error
	s.Go("a", func(p *Proc) {
		for range 4 {
			errs = append(errs, n.Call(p, "a", "srv", time.Minute, func() error { return nil }))
		}
	})
	s.Run(kit.IncidentStart.Add(time.Hour))
	if len(errs) != 4 || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrReset) || errs[3] != nil {
		t.Fatalf("calls: %v, want ok, ok, reset, ok", errs)
	}
}

// A paused node is frozen: its process does not run, calls to it wait
// (their callers time out), and at resume the held request is served and
// the process runs on. A stopped node refuses calls and its process stays
// parked until started. It fails if pause or stop let anything through.
func TestPauseAndStopANode(t *testing.T) {
	s := New(1, kit.IncidentStart)
	n := NewNetwork(s)
	n.Serve("srv", &Server{Service: time.Second})
	ticks, served := 0, 0
	s.Go("srv", func(p *Proc) {
		for {
			p.Sleep(time.Minute)
			ticks++
		}
	})
	call := func(timeout time.Duration) error {
		var err error
		s.Go("client", func(p *Proc) {
			err = n.Call(p, "client", "srv", timeout, func() error { served++; return nil })
		})
		s.Run(s.Now().Add(timeout + time.Second))
		return err
	}
	s.Run(kit.IncidentStart.Add(10*time.Minute + time.Second))
	if ticks != 10 {
		t.Fatalf("%d ticks in 10 minutes", ticks)
	}
	// frozen freezes the node and checks a call gets want, nothing is
	// served and the process does not tick for an hour
	frozen := func(what string, freeze func(string), want error) {
		t.Helper()
		served0, ticks0 := served, ticks
		freeze("srv")
		if err := call(30 * time.Second); !errors.Is(err, want) || served != served0 {
			t.Fatalf("a call to a %s node: %v, served %d", what, err, served-served0)
		}
		s.Run(s.Now().Add(time.Hour))
		if ticks != ticks0 {
			t.Fatalf("a %s process ticked %d times", what, ticks-ticks0)
		}
	}
	frozen("paused", n.Pause, ErrTimeout)
	n.Resume("srv")
	s.Run(s.Now().Add(time.Second))
	if served != 1 {
		t.Fatalf("the held request was not served at resume (served %d)", served)
	}
	if ticks != 11 {
		t.Fatalf("the process did not run at resume: %d ticks", ticks)
	}
	frozen("stopped", n.Stop, ErrRefused)
	n.Start("srv")
	if err := call(30 * time.Second); err != nil || served != 2 {
		t.Fatalf("a call after start: %v, served %d", err, served)
	}
}

// A reply to a paused caller waits until it resumes; to a stopped caller
// it is dropped: the caller's process never sees it.
func TestRepliesToAPausedOrStoppedCaller(t *testing.T) {
	for _, stop := range []bool{false, true} {
		s := New(1, kit.IncidentStart)
		n := NewNetwork(s)
		n.Serve("srv", &Server{Service: time.Minute})
		got := 0
		n.Send("a", "srv", time.Hour, func() error { return nil }, func(error) { got++ })
		s.Run(s.Now().Add(time.Second))
		if stop {
			n.Stop("a")
		} else {
			n.Pause("a")
		}
		s.Run(s.Now().Add(2 * time.Hour))
		if got != 0 {
			t.Fatalf("stop=%v: the reply reached a frozen caller", stop)
		}
		n.Resume("a")
		n.Start("a")
		s.Run(s.Now().Add(time.Second))
		if want := map[bool]int{false: 1, true: 0}[stop]; got != want {
			t.Fatalf("stop=%v: %d replies after it ran again, want %d", stop, got, want)
		}
	}
}

// The fault kinds on the stack's link names and instances: a bandwidth
// toxic on the load balancers slows DynamoDB's clients by MsgBytes/rate
// each way per message; limit_data on them resets a client; pausing
// Network Manager stalls its queue and resuming drains it; restarting a
// DWFM host is Core.Restart (every lease forgotten), stopping every host
// refuses EC2's allocation calls (InternalError); an unknown action or
// instance is an error naming what is valid.
func TestStackFaultKinds(t *testing.T) {
	st := newStack(t, 21)
	timeGet := func() (time.Duration, string) {
		t0 := st.Now()
		code := st.DynamoDBGetItem()
		return st.Now().Sub(t0), code
	}
	base, code := timeGet()
	if code != "" {
		t.Fatalf("GetItem: %q", code)
	}
	var undos []func()
	for _, lb := range LBs {
		for _, stream := range []string{"upstream", "downstream"} {
			undo, err := st.Toxic(lb.Name, "bandwidth", stream, map[string]any{"rate": int64(1)}) // 1 KB/s: ~1 s per message
			if err != nil {
				t.Fatal(err)
			}
			undos = append(undos, undo)
		}
	}
	slow, code := timeGet()
	// a fresh client: the DNS lookup is not through the LBs; the request
	// and the reply each take 1.024 s more (jitter is ± 50 ms a hop)
	if code != "" || slow-base < 2*time.Second-200*time.Millisecond {
		t.Fatalf("GetItem over 1 KB/s load balancers took %v (%q), %v without", slow, code, base)
	}
	for _, u := range undos {
		u()
	}
	undo, err := st.Toxic(LBs[0].Name, "limit_data", "upstream", map[string]any{"bytes": float64(100)})
	if err != nil {
		t.Fatal(err)
	}
	// every LB is in the record: draw until the client picks ddb-lb-a
	reset := false
	for range 30 {
		if st.DynamoDBGetItem() == "connection-reset" {
			reset = true
			break
		}
	}
	undo()
	if !reset {
		t.Fatal("limit_data of 100 bytes on ddb-lb-a never reset a client in 30 calls")
	}

	// pause Network Manager: work posted before stays queued
	if err := st.Control(NetMgrNode, ActionPause); err != nil {
		t.Fatal(err)
	}
	if _, err := st.NetMgrPostWork("bulk", 10); !errors.Is(err, ErrTimeout) {
		t.Fatalf("posting to a paused Network Manager: %v, want a timeout", err)
	}
	before := st.NetMgrState()
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if after := st.NetMgrState(); after.Processed != before.Processed {
		t.Fatalf("a paused Network Manager processed %d items", after.Processed-before.Processed)
	}
	if err := st.Control(NetMgrNode, ActionResume); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if q := st.NetMgrState(); q.Admitted < before.Admitted+10 || q.Depth != 0 {
		t.Fatalf("after resume: %+v (before %+v): the held post was not admitted and drained", q, before)
	}

	host := st.DWFMHosts()[0]
	if err := st.Control(host, ActionRestart); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.DWFMState(host); s.Stats.LeasesHeld != 0 {
		t.Fatalf("a restarted host still holds %d leases", s.Stats.LeasesHeld)
	}
	for _, h := range st.DWFMHosts() {
		if err := st.Control(h, ActionStop); err != nil {
			t.Fatal(err)
		}
	}
	// no host answers EC2's allocation: ec2.Core's InternalError (not a
	// capacity error: nobody said there was none)
	if _, code := st.RunInstances(1); code != "InternalError" {
		t.Fatalf("RunInstances with every DWFM host stopped: %q", code)
	}
	for _, h := range st.DWFMHosts() {
		if err := st.Control(h, ActionStart); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []struct{ in, action, want string }{
		{"dwfm-z", ActionPause, "valid are"},
		{host, "kill", "valid are"},
		{catalogue.NetMgr, "", "valid are"},
	} {
		if err := st.Control(bad.in, bad.action); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("Control(%s, %s): %v, want an error saying %q", bad.in, bad.action, err, bad.want)
		}
	}
}

// A toxic with toxicity 0.5 (toxiproxy draws per connection whether it
// acts) resets some calls and not others; a connection keeps its draw for
// all its calls (a Pool's), a call on no connection of its own draws for
// itself; the same seed gives the same choices. It fails if the toxicity
// were ignored (every call reset, or none), if a connection's calls
// disagreed, or if the draw were not from the run's source.
func TestToxicityActsOnAShareOfConnections(t *testing.T) {
	run := func(seed int64) (own []bool, conns [][]bool) {
		s := New(seed, kit.IncidentStart)
		n := NewNetwork(s)
		n.Serve("srv", &Server{Service: time.Second})
		n.Both("a", "srv", func(l *Link) { l.Latency = time.Second })
		undo := n.Link("a", "srv").AddPartial(0.5, func(l *Link) { l.Reset = true })
		call := func(p *Proc, conn uint64) bool {
			sig := p.NewSignal()
			var err error
			n.send(conn, "a", "srv", time.Minute, func() error { return nil }, func(e error) { err = e; sig.Fire() })
			sig.Await()
			return errors.Is(err, ErrReset)
		}
		s.Go("a", func(p *Proc) {
			for range 40 {
				own = append(own, call(p, 0))
			}
			for range 10 {
				c := n.Dial()
				var calls []bool
				for range 5 {
					calls = append(calls, call(p, c))
				}
				conns = append(conns, calls)
			}
			undo()
			if call(p, n.Dial()) || call(p, 0) {
				t.Error("a call was reset after the toxic was removed")
			}
		})
		s.Run(kit.IncidentStart.Add(time.Hour))
		return own, conns
	}
	own, conns := run(5)
	resets := 0
	for _, r := range own {
		if r {
			resets++
		}
	}
	if resets < 10 || resets > 30 {
		t.Fatalf("%d of 40 calls on their own connections reset at toxicity 0.5", resets)
	}
	toxic := 0
	for i, c := range conns {
		if slices.Contains(c, !c[0]) {
			t.Fatalf("connection %d: calls %v, want one draw for all", i, c)
		}
		if c[0] {
			toxic++
		}
	}
	if toxic == 0 || toxic == len(conns) {
		t.Fatalf("%d of %d connections drew the toxic", toxic, len(conns))
	}
	own2, conns2 := run(5)
	if !slices.Equal(own, own2) || fmt.Sprint(conns) != fmt.Sprint(conns2) {
		t.Fatal("the same seed drew different connections")
	}
}
