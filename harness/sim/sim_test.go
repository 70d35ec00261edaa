package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// TestCallTakesIncidentTime: a call takes the link's latency both ways and
// the server's service time, on the virtual clock; a second call queued
// behind it waits for the server (FIFO). It fails if the network delivered
// at once or the server served calls in parallel.
func TestCallTakesIncidentTime(t *testing.T) {
	s := New(1, kit.IncidentStart)
	n := NewNetwork(s)
	n.Serve("srv", &Server{Service: 2 * time.Second})
	n.Both("a", "srv", func(l *Link) { l.Latency = 3 * time.Second })
	n.Both("b", "srv", func(l *Link) { l.Latency = 3 * time.Second })
	var took [2]time.Duration
	for i, from := range []string{"a", "b"} {
		s.Go(from, func(p *Proc) {
			t0 := s.Now()
			if err := n.Call(p, from, "srv", time.Minute, func() error { return nil }); err != nil {
				t.Errorf("%s: %v", from, err)
			}
			took[i] = s.Now().Sub(t0)
		})
	}
	s.Run(kit.IncidentStart.Add(time.Hour))
	// Both arrive at 3s; one is served 3-5s, the other 5-7s; replies take 3s.
	if min(took[0], took[1]) != 8*time.Second || max(took[0], took[1]) != 10*time.Second {
		t.Fatalf("calls took %v, want 8s and 10s", took)
	}
}

// TestNetworkFaults: a partition and a held link time out, a reset resets,
// loss 1 loses; the handler of a request that never arrived never runs.
func TestNetworkFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*Link)
		want  error
		ran   bool
	}{
		{"down", func(l *Link) { l.Down = true }, ErrTimeout, false},
		{"hold", func(l *Link) { l.Hold = true }, ErrTimeout, false},
		{"loss", func(l *Link) { l.Loss = 1 }, ErrTimeout, false},
		{"reset", func(l *Link) { l.Reset, l.ResetAfter = true, time.Second }, ErrReset, false},
		{"refuse", func(l *Link) { l.Refuse = true }, ErrRefused, false},
		{"none", func(*Link) {}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(1, kit.IncidentStart)
			n := NewNetwork(s)
			n.Serve("srv", &Server{Service: time.Second})
			tc.fault(n.Link("a", "srv"))
			var err error
			ran := false
			s.Go("a", func(p *Proc) {
				err = n.Call(p, "a", "srv", 10*time.Second, func() error { ran = true; return nil })
			})
			s.Run(kit.IncidentStart.Add(time.Hour))
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) || ran != tc.ran {
				t.Fatalf("err %v ran %v, want %v ran %v", err, ran, tc.want, tc.ran)
			}
		})
	}
}

// TestSameInstantOrderIsSeeded: events at one instant run in an order the
// seed decides: the same seed gives the same order, and some other seed
// another one. It fails if ties were broken by scheduling order alone.
func TestSameInstantOrderIsSeeded(t *testing.T) {
	order := func(seed int64) string {
		s := New(seed, kit.IncidentStart)
		out := ""
		for _, c := range "abcdef" {
			s.After(time.Second, func() { out += string(c) })
		}
		s.Run(kit.IncidentStart.Add(time.Minute))
		return out
	}
	first := order(1)
	if order(1) != first {
		t.Fatal("same seed, different order")
	}
	for seed := int64(2); seed < 50; seed++ {
		if order(seed) != first {
			return
		}
	}
	t.Fatalf("49 seeds all ran same-instant events in the order %q", first)
}

// TestFailpointPauseHoldsUntilDisabled: a paused process resumes exactly
// when the failpoint is disabled on the virtual clock; sleep(d) parks it d.
func TestFailpointPauseHoldsUntilDisabled(t *testing.T) {
	s := New(1, kit.IncidentStart)
	fps := NewFailpoints(s)
	var passed []time.Duration
	s.Go("x", func(p *Proc) {
		hook := fps.Hook(p, "x/point")
		for range 3 {
			t0 := s.Now()
			if err := hook(p.Context()); err != nil {
				passed = append(passed, -1)
				continue
			}
			passed = append(passed, s.Now().Sub(t0))
		}
	})
	fps.Register("x/point")
	if err := fps.Enable("x/point", "1*pause"); err != nil {
		t.Fatal(err)
	}
	s.After(7*time.Minute, func() { _ = fps.Disable("x/point"); _ = fps.Enable("x/point", "1*sleep(90s)->return(x)") })
	s.Run(kit.IncidentStart.Add(time.Hour))
	want := []time.Duration{7 * time.Minute, 90 * time.Second, -1}
	if len(passed) != 3 || passed[0] != want[0] || passed[1] != want[1] || passed[2] != want[2] {
		t.Fatalf("passed %v, want %v", passed, want)
	}
}
