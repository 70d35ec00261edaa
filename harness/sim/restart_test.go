package sim

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// control applies a Control action or fails the test.
func control(t *testing.T, st *Stack, instance, action string) {
	t.Helper()
	if err := st.Control(instance, action); err != nil {
		t.Fatalf("%s %s: %v", action, instance, err)
	}
}

// Every instance stops, starts and restarts on the sim as a container does:
// stopped, its callers are refused (connection-refused); started, it is a
// new process of the mock that remembers only what the mock loads at start
// (docs/sim.md's fault table). For each instance with an API, a client call
// is refused while it is stopped and answers as the new process does after
// start; each case also checks that something the old process held in
// memory is gone. Each fails if stop let calls through or if start kept the
// old process's state (a no-op restart).
func TestStopRefusesStartIsANewProcess(t *testing.T) {
	var launched []Launched
	for _, c := range []struct {
		instance string
		fixes    []string
		// setup gives the old process state to lose; call is a client's
		// call (its probe code); after is the call's code from the new
		// process; lost reports what the new process no longer has
		setup func(t *testing.T, st *Stack)
		call  func(st *Stack) string
		after string
		lost  func(st *Stack) string
	}{
		{instance: catalogue.DynamoDB,
			call: func(st *Stack) string { return st.DynamoDBGetItem() },
			// the probes' table was the probes' own, made once: a new
			// process of DynamoDB has no table
			after: "ResourceNotFoundException"},
		{instance: catalogue.NetMgr,
			setup: func(t *testing.T, st *Stack) {
				if err := st.NetMgrRegister("i-restart", catalogue.Zones["a"].ID); err != nil {
					t.Fatal(err)
				}
			},
			call: func(st *Stack) string { _, err := st.NetMgrPostWork("bulk", 1); return probeCode(err) },
			lost: func(st *Stack) string {
				if _, err := st.NetMgrInstance("i-restart"); err == nil {
					return "still knows i-restart"
				}
				return ""
			}},
		{instance: catalogue.EC2,
			setup: func(t *testing.T, st *Stack) {
				ins, code := st.RunInstances(1)
				if code != "" || len(ins) != 1 {
					t.Fatalf("RunInstances: %v %q", ins, code)
				}
				launched = ins
			},
			call: func(st *Stack) string { _, code := st.RunInstances(1); return code },
			lost: func(st *Stack) string {
				if _, err := st.InstanceState(launched[0].ID); err == nil {
					return "still knows " + launched[0].ID
				}
				return ""
			}},
		{instance: catalogue.NLB,
			setup: func(t *testing.T, st *Stack) {
				ins, code := st.RunInstances(1)
				if code != "" {
					t.Fatalf("RunInstances: %q", code)
				}
				if err := st.RegisterTargets(ins...); err != nil {
					t.Fatal(err)
				}
			},
			call:  func(st *Stack) string { return st.NLBRequest() },
			after: "no-target",
			lost: func(st *Stack) string {
				if n := len(st.NLBTargets().Targets); n != 0 {
					return "still has targets"
				}
				return ""
			}},
		{instance: catalogue.SQS,
			setup: func(t *testing.T, st *Stack) {
				if code := st.SQSCreateQueue("restart"); code != "" {
					t.Fatalf("CreateQueue: %q", code)
				}
			},
			call: func(st *Stack) string { return st.SQSCreateQueue("other") },
			lost: func(st *Stack) string {
				if st.SQSDepth("restart") != -1 {
					return "still has its queue"
				}
				return ""
			}},
		{instance: catalogue.Lambda,
			setup: func(t *testing.T, st *Stack) {
				if code := st.SQSCreateQueue("orders"); code != "" {
					t.Fatal(code)
				}
				if code := st.LambdaCreateFunction("fn", "echo"); code != "" {
					t.Fatalf("CreateFunction: %q", code)
				}
				if _, code := st.LambdaCreateMapping("fn", "orders"); code != "" {
					t.Fatalf("CreateEventSourceMapping: %q", code)
				}
			},
			// the function's record is in DynamoDB: the new process reads it
			call: func(st *Stack) string { return st.LambdaGetFunction("fn") },
			lost: func(st *Stack) string {
				if len(st.LambdaPollers()) != 0 {
					return "still runs its mapping's pollers"
				}
				return ""
			}},
		{instance: catalogue.STS, fixes: []string{catalogue.GuardSTSStaleCache},
			// the principals cached, then their table unreadable: the old
			// process answers from its cache (stale, with the guard), the
			// new one has none
			setup: func(t *testing.T, st *Stack) {
				if code := st.STSAssumeRole(); code != "" {
					t.Fatalf("AssumeRole: %q", code)
				}
				if err := st.EnableFailpoint(catalogue.DynamoDB+"/GetItem", "return"); err != nil {
					t.Fatal(err)
				}
				if code := st.STSAssumeRole(); code != "" {
					t.Fatalf("AssumeRole from the cache: %q", code)
				}
			},
			call:  func(st *Stack) string { return st.STSAssumeRole() },
			after: "InternalFailure"},
		{instance: catalogue.ECS,
			setup: func(t *testing.T, st *Stack) {
				if _, code := st.ECSService(ProbeResource); code != "" && code != codeBelowDesired {
					t.Fatalf("ECS service: %q", code)
				}
			},
			call: func(st *Stack) string { _, code := st.ECSService(ProbeResource); return code },
			// the probe made its cluster once: the new process has none
			after: "error"},
	} {
		t.Run(c.instance, func(t *testing.T) {
			st := newStack(t, 31, c.fixes...)
			if c.setup != nil {
				c.setup(t, st)
			}
			st.RunUntil(st.Now().Add(time.Minute))
			control(t, st, c.instance, ActionStop)
			if code := c.call(st); code != "connection-refused" {
				t.Fatalf("a call to the stopped %s: %q, want connection-refused", c.instance, code)
			}
			control(t, st, c.instance, ActionStart)
			if code := c.call(st); code != c.after {
				t.Fatalf("a call to the started %s: %q, want %q", c.instance, code, c.after)
			}
			if c.lost != nil {
				if what := c.lost(st); what != "" {
					t.Fatalf("the new process of %s %s", c.instance, what)
				}
			}
		})
	}
}

// A new process of Route53 has its zones again, with the ids it had (the
// mock draws them from its seed, which a container's restart keeps), but
// none of their records: every endpoint is empty until the DNS automation
// writes and applies a new generation. Stopped, its DNS refuses a new
// client's lookup. It fails if the restart kept the records or changed the
// zones' ids (the Enactors, which read them at start, would fail), or if
// the automation did not repair the record.
func TestRoute53RestartLosesRecordsKeepsZones(t *testing.T) {
	st := newStack(t, 32)
	_, zones := st.DNSStore()
	before := maps.Clone(zones)
	control(t, st, catalogue.Route53, ActionStop)
	if code := st.DynamoDBGetItem(); code != "connection-refused" {
		t.Fatalf("a new client's lookup with Route53 stopped: %q", code)
	}
	control(t, st, catalogue.Route53, ActionStart)
	if !st.RegionalEmpty() {
		t.Fatal("the regional record resolves right after Route53's restart")
	}
	if _, zones := st.DNSStore(); !maps.Equal(zones, before) {
		t.Fatalf("zones after the restart %v, before %v", zones, before)
	}
	for end := st.Now().Add(15 * time.Minute); st.RegionalEmpty() && st.Now().Before(end); {
		st.RunUntil(st.Now().Add(30 * time.Second))
	}
	if st.RegionalEmpty() {
		t.Fatal("the DNS automation did not write the regional record again within 15 minutes")
	}
	if code := st.DynamoDBGetItem(); code != "" {
		t.Fatalf("GetItem after the repair: %q", code)
	}
}

// A new process of the planner continues after the newest generation in
// Route53 (dnsplanner.Server.resume), so it never reuses one; stopped, it
// writes none. It fails if stop let the planner run or if start did not
// resume.
func TestPlannerRestartResumes(t *testing.T) {
	st := newStack(t, 33)
	var resumed []any
	st.OnEvent(func(e kit.Event) {
		if e.Kind == "planner-resumed" {
			resumed = append(resumed, e.Fields["generation"])
		}
	})
	st.RunUntil(st.Now().Add(10 * time.Minute))
	control(t, st, catalogue.DNSPlanner, ActionStop)
	gen := st.race.planner.Generation()
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if g := st.race.planner.Generation(); g != gen {
		t.Fatalf("a stopped planner wrote generations %d..%d", gen+1, g)
	}
	control(t, st, catalogue.DNSPlanner, ActionStart)
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if len(resumed) != 1 || fmt.Sprint(resumed[0]) != fmt.Sprint(gen) {
		t.Fatalf("planner-resumed events %v, want one at generation %d", resumed, gen)
	}
	if g := st.race.planner.Generation(); g <= gen {
		t.Fatalf("the new planner is at generation %d, the old one wrote %d", g, gen)
	}
}

// The DNS automation's disable is held in each Enactor's memory: a
// restarted Enactor runs again while the others stay disabled. It fails if
// the restart kept the old process's disable, or stop let it run.
func TestEnactorRestartForgetsDisable(t *testing.T) {
	st := newStack(t, 34)
	if err := st.DisableDNSAutomationWait(time.Hour); err != nil {
		t.Fatal(err)
	}
	a, b := Enactors[0], Enactors[1]
	control(t, st, a, ActionStop)
	runs := maps.Clone(st.race.res.Runs)
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if st.race.res.Runs[a] != runs[a] {
		t.Fatalf("a stopped Enactor ran %d times", st.race.res.Runs[a]-runs[a])
	}
	control(t, st, a, ActionStart)
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if st.race.res.Runs[a] <= runs[a] || st.race.res.Runs[b] != runs[b] {
		t.Fatalf("runs in the 10 minutes after %s's restart: %s %d, %s %d; want only the restarted one",
			a, a, st.race.res.Runs[a]-runs[a], b, st.race.res.Runs[b]-runs[b])
	}
}
