package harness

import (
	"errors"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestStackBaseEndpointsAreCopies(t *testing.T) {
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, DefaultSpeed)
	b := NewStackBase(Endpoints{Name: "s1", Admin: map[string]string{}}, clock, kit.NewEvents("s1", clock, nil))
	b.UpdateEndpoints(func(ep *Endpoints) {
		ep.Admin["route53"] = "http://127.0.0.1:1"
		ep.Links = append(ep.Links, Link{Name: "ddb-lb-a"})
		ep.LoadBalancers = append(ep.LoadBalancers, LoadBalancer{Name: "ddb-lb-a"})
	})
	ep := b.Endpoints()
	ep.Admin["dwfm-a"] = "changed"
	ep.Links[0].Name = "changed"
	ep.LoadBalancers[0].Name = "changed"
	again := b.Endpoints()
	if len(again.Admin) != 1 || again.Links[0].Name != "ddb-lb-a" || again.LoadBalancers[0].Name != "ddb-lb-a" {
		t.Fatalf("a caller's change to Endpoints reached the stack: %+v", again)
	}
	if l := b.Links(); len(l) != 1 || l[0].Name != "ddb-lb-a" {
		t.Errorf("Links = %+v", l)
	}
	if b.Name() != "s1" || b.Toxiproxy() != nil {
		t.Errorf("Name %q, Toxiproxy %v before SetToxiproxy", b.Name(), b.Toxiproxy())
	}
	b.SetToxiproxy("http://127.0.0.1:8474")
	if b.Toxiproxy() == nil || b.Endpoints().Toxiproxy != "http://127.0.0.1:8474" {
		t.Errorf("SetToxiproxy: client %v, endpoint %q", b.Toxiproxy(), b.Endpoints().Toxiproxy)
	}
}

func TestStackBaseAdminNeverNil(t *testing.T) {
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, DefaultSpeed)
	b := NewStackBase(Endpoints{Name: "s1"}, clock, kit.NewEvents("s1", clock, nil))
	if b.Endpoints().Admin == nil {
		t.Error("Endpoints().Admin is nil: callers may add to it")
	}
}

func TestInParallelRunsAllAndJoinsErrors(t *testing.T) {
	errA, errC := errors.New("a failed"), errors.New("c failed")
	release := make(chan struct{})
	started := make(chan string, 3)
	done := make(chan error)
	go func() {
		done <- InParallel([]string{"a", "b", "c"}, func(s string) error {
			started <- s
			<-release // held until all three started: a serial loop starts one only
			switch s {
			case "a":
				return errA
			case "c":
				return errC
			}
			return nil
		})
	}()
	for range 3 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("InParallel did not start every call at once")
		}
	}
	close(release)
	err := <-done
	if !errors.Is(err, errA) || !errors.Is(err, errC) {
		t.Errorf("InParallel = %v, want both errors", err)
	}
	if err := InParallel([]int{}, func(int) error { return errA }); err != nil {
		t.Errorf("InParallel of nothing = %v", err)
	}
}
