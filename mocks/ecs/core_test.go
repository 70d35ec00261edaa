package ecs

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// ec2World stands in for EC2 and Network Manager: launches fail while
// canLaunch is false; an instance has connectivity once connected is true.
type ec2World struct {
	canLaunch, connected bool
	launched, terminated []string
}

func newCore(t *testing.T, mode kit.Mode) (*Core, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, err := NewCore(CoreConfig{Mode: mode}, clock, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateCluster("prod"); err != nil {
		t.Fatal(err)
	}
	return c, clock
}

// perform does what Ready asks, as the transport does, against w.
func (w *ec2World) perform(c *Core, r Ready) {
	for _, l := range r.Launches {
		if !w.canLaunch {
			_, _ = c.Launched(l.TaskARN, "", errors.New("InsufficientInstanceCapacity"))
			continue
		}
		id := "i-" + c.hex(17)
		w.launched = append(w.launched, id)
		_, _ = c.Launched(l.TaskARN, id, nil)
	}
	w.terminated = append(w.terminated, r.Terminates...)
	for _, a := range r.Check {
		c.Connectivity(a, w.connected)
	}
}

// run ticks the scheduler once a minute for d, doing what it asks.
func (w *ec2World) run(c *Core, clock *clockwork.FakeClock, d time.Duration) {
	for end := clock.Now().Add(d); clock.Now().Before(end); clock.Advance(time.Minute) {
		w.perform(c, c.Tick())
		w.perform(c, c.Ready()) // terminations the connectivity answers caused
	}
}

func TestRunTaskFailsWhileEC2CannotLaunch(t *testing.T) {
	c, _ := newCore(t, kit.AsWas)
	w := &ec2World{}
	tasks, err := c.RunTask("prod", "web:1", "", "", 2)
	if err != nil || len(tasks) != 2 || tasks[0].LastStatus != StatusProvisioning {
		t.Fatalf("RunTask: %+v %v", tasks, err)
	}
	w.perform(c, c.Ready())
	got, _, _ := c.DescribeTasks("prod", []string{tasks[0].ARN})
	if got[0].LastStatus != StatusStopped || got[0].StoppedReason != ReasonCapacity || got[0].StopCode != StopCodeFailedToStart {
		t.Fatalf("task while EC2 cannot launch: %+v", got[0])
	}
	w.canLaunch = true
	tasks, _ = c.RunTask("prod", "web:1", "", "", 1)
	w.perform(c, c.Ready())
	w.connected = true
	w.perform(c, c.Tick())
	got, _, _ = c.DescribeTasks("prod", []string{tasks[0].ARN})
	if got[0].LastStatus != StatusRunning || got[0].InstanceID == "" {
		t.Fatalf("task once EC2 launches with connectivity: %+v", got[0])
	}
}

// A launched instance without connectivity holds its task in PENDING until
// StartTimeout, then the task stops and (as-was) its instance is terminated.
func TestTaskWaitsForConnectivityThenStops(t *testing.T) {
	c, clock := newCore(t, kit.AsWas)
	w := &ec2World{canLaunch: true}
	tasks, _ := c.RunTask("prod", "web:1", "", "", 1)
	w.perform(c, c.Ready())
	w.run(c, clock, 9*time.Minute)
	got, _, _ := c.DescribeTasks("prod", []string{tasks[0].ARN})
	if got[0].LastStatus != StatusPending {
		t.Fatalf("before StartTimeout: %+v", got[0])
	}
	w.run(c, clock, 2*time.Minute)
	got, _, _ = c.DescribeTasks("prod", []string{tasks[0].ARN})
	if got[0].LastStatus != StatusStopped || got[0].StoppedReason != ReasonENITimeout {
		t.Fatalf("after StartTimeout: %+v", got[0])
	}
	if len(w.terminated) != 1 || w.terminated[0] != w.launched[0] {
		t.Fatalf("as-was terminated %v, want the task's instance %v", w.terminated, w.launched)
	}
}

// The service scheduler keeps retrying toward desiredCount, backing off,
// and reaches it once instances launch and get connectivity.
func TestServiceRetriesTowardDesiredCount(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			c, clock := newCore(t, mode)
			w := &ec2World{}
			if _, err := c.CreateService("prod", "api", "api:3", 3); err != nil {
				t.Fatal(err)
			}
			counts := func() ServiceCounts {
				_, n, _, _ := c.DescribeServices("prod", []string{"api"})
				return n[0]
			}
			w.run(c, clock, time.Hour) // EC2 cannot launch
			if n := counts(); n.Running != 0 || n.Pending != 0 {
				t.Fatalf("while EC2 cannot launch: %+v", n)
			}
			w.canLaunch = true // launches work, connectivity does not (the backlog)
			w.run(c, clock, 3*time.Hour)
			if n := counts(); n.Running != 0 {
				t.Fatalf("without connectivity: %+v", n)
			}
			launches := len(w.launched)
			if mode.IsFixed() && (len(w.terminated) != 0 || launches != 3) {
				t.Fatalf("fixed launched %d and terminated %d, want 3 kept instances", launches, len(w.terminated))
			}
			if !mode.IsFixed() && (len(w.terminated) < launches-3 || launches <= 3) {
				t.Fatalf("as-was launched %d, terminated %d: want every failed start to churn a new instance", launches, len(w.terminated))
			}
			w.connected = true
			w.run(c, clock, 20*time.Minute) // at most RetryMax plus a tick
			if n := counts(); n.Running != 3 {
				t.Fatalf("after connectivity returns: %+v, want 3 running", n)
			}
			if _, err := c.UpdateService("prod", "api", 1); err != nil {
				t.Fatal(err)
			}
			before := len(w.terminated)
			w.run(c, clock, time.Minute)
			if n := counts(); n.Running != 1 || len(w.terminated)-before != 2 {
				t.Fatalf("scaled in to 1: %+v, terminated %d", n, len(w.terminated)-before)
			}
		})
	}
}

func TestCoreErrors(t *testing.T) {
	c, _ := newCore(t, kit.AsWas)
	if _, err := c.RunTask("nope", "web:1", "", "", 1); !errors.Is(err, ErrClusterNotFound) {
		t.Errorf("RunTask on an unknown cluster: %v", err)
	}
	if _, err := c.RunTask("prod", "web:1", "", "", 11); !errors.Is(err, ErrInvalid) {
		t.Errorf("count 11: %v", err)
	}
	if _, err := c.CreateCluster("bad name"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad cluster name: %v", err)
	}
	if _, err := c.UpdateService("prod", "none", 1); !errors.Is(err, ErrServiceNotFound) {
		t.Errorf("unknown service: %v", err)
	}
	_, _ = c.CreateService("prod", "api", "api:1", 1)
	if _, err := c.CreateService("prod", "api", "api:1", 1); !errors.Is(err, ErrServiceExists) {
		t.Errorf("duplicate service: %v", err)
	}
	if _, missing, _ := c.DescribeTasks("prod", []string{"abc"}); len(missing) != 1 {
		t.Errorf("unknown task not reported missing: %v", missing)
	}
}
