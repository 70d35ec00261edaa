package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// drainQueue is a function draining queue q through an event-source
// mapping, set up in the steady state.
func drainQueue(t *testing.T, st *Stack, q string) {
	t.Helper()
	if c := st.LambdaCreateFunction("drain", "echo"); c != "" {
		t.Fatalf("steady state: CreateFunction %q", c)
	}
	if c := st.SQSCreateQueue(q); c != "" {
		t.Fatalf("CreateQueue %q", c)
	}
	if _, c := st.LambdaCreateMapping("drain", q); c != "" {
		t.Fatalf("CreateEventSourceMapping %q", c)
	}
}

func send(t *testing.T, st *Stack, q string, n int) {
	t.Helper()
	for i := range n {
		if c := st.SQSSend(q, fmt.Sprint("m", i)); c != "" {
			t.Fatalf("SendMessage %q", c)
		}
	}
}

func pollerStates(st *Stack) map[string]int {
	n := map[string]int{}
	for _, ps := range st.LambdaPollers() {
		for _, s := range ps.Workers {
			n[s]++
		}
	}
	return n
}

// Lambda's metadata and its pollers' leases live in DynamoDB, reached by
// the regional name: while the record is empty CreateFunction fails with
// ServiceException; as-was the poller whose renewal failed dies holding
// its lease, so messages sent after the restore stay queued until the
// operators' restart-lambda-pollers; with lambda-lease-expiry they drain
// by themselves.
func TestLambdaFailsWithItsMetadataStoreAndAsWasPollersStayWedged(t *testing.T) {
	for _, c := range []struct {
		name  string
		fixes []string
	}{{"aswas", nil}, {"fixed", []string{catalogue.GuardLambdaLeaseExpiry}}} {
		t.Run(c.name, func(t *testing.T) {
			st := newStack(t, 21, c.fixes...)
			drainQueue(t, st, "orders")
			send(t, st, "orders", 5)
			st.RunUntil(st.Now().Add(5 * time.Minute))
			if d := st.SQSDepth("orders"); d != 0 {
				t.Fatalf("steady state: %d messages left, want drained", d)
			}
			st.RunUntil(st.Now().Add(25 * time.Minute))
			if err := st.DeletePlan(); err != nil {
				t.Fatal(err)
			}
			st.RunUntil(st.Now().Add(5 * time.Minute)) // pooled connections age out (1 min)
			if code := st.LambdaCreateFunction("during", "echo"); code != "ServiceException" {
				t.Fatalf("record empty: CreateFunction %q, want ServiceException", code)
			}
			if code := st.LambdaUpdateFunction("drain", "x"); code != "ServiceException" {
				t.Fatalf("record empty: UpdateFunctionConfiguration %q, want ServiceException", code)
			}
			st.RunUntil(st.Now().Add(5 * time.Minute))
			if err := st.RestoreDNS(); err != nil {
				t.Fatal(err)
			}
			st.RunUntil(st.Now().Add(2 * time.Minute))
			if code := st.LambdaCreateFunction("after", "echo"); code != "" {
				t.Fatalf("restored: CreateFunction %q", code)
			}
			send(t, st, "orders", 5)
			st.RunUntil(st.Now().Add(30 * time.Minute))
			depth, states := st.SQSDepth("orders"), pollerStates(st)
			if c.name == "fixed" {
				if depth != 0 || states["dead"] != 0 {
					t.Fatalf("lambda-lease-expiry: 30 min after the restore %d messages queued, pollers %v: want drained, none dead", depth, states)
				}
				return
			}
			if depth != 5 || states["dead"] == 0 || states["leader"] != 0 {
				t.Fatalf("as-was: 30 min after the restore %d messages queued, pollers %v: want all 5 queued, a dead poller, no leader", depth, states)
			}
			st.RunUntil(st.Now().Add(3 * time.Hour))
			if d := st.SQSDepth("orders"); d != 5 {
				t.Fatalf("as-was: 3.5 h after the restore %d queued: the poller recovered by itself", d)
			}
			st.RestartLambdaPollers()
			st.RunUntil(st.Now().Add(5 * time.Minute))
			if d, s := st.SQSDepth("orders"), pollerStates(st); d != 0 || s["leader"] != 1 {
				t.Fatalf("as-was: 5 min after restart-lambda-pollers %d queued, pollers %v: want drained by one leader", d, s)
			}
		})
	}
}

// STS reads its principals from DynamoDB by the regional name: as-was
// AssumeRole fails with InternalFailure once the cached principal is stale
// and the record is empty; with sts-stale-cache it keeps answering.
func TestSTSFailsWithItsPrincipalsStoreAsWasOnly(t *testing.T) {
	for _, c := range []struct {
		name  string
		fixes []string
		want  string
	}{{"aswas", nil, "InternalFailure"}, {"fixed", []string{catalogue.GuardSTSStaleCache}, ""}} {
		t.Run(c.name, func(t *testing.T) {
			st := newStack(t, 22, c.fixes...)
			if code := st.STSAssumeRole(); code != "" {
				t.Fatalf("steady state: AssumeRole %q", code)
			}
			if err := st.DeletePlan(); err != nil {
				t.Fatal(err)
			}
			st.RunUntil(st.Now().Add(5 * time.Minute))
			if code := st.STSAssumeRole(); code != c.want {
				t.Fatalf("record empty: AssumeRole %q, want %q", code, c.want)
			}
			if err := st.RestoreDNS(); err != nil {
				t.Fatal(err)
			}
			st.RunUntil(st.Now().Add(2 * time.Minute))
			if code := st.STSAssumeRole(); code != "" {
				t.Fatalf("restored: AssumeRole %q", code)
			}
		})
	}
}

// Lambda's invocation fleet and STS's fleet are behind the NLB: when its
// in-service targets fail their health checks the healthy share falls to
// 0, STS has no healthy host (ServiceUnavailable) and Lambda throttles
// every invocation (TooManyRequestsException); both recover with the
// targets.
func TestSTSAndLambdaFollowTheNLBsHealthyShare(t *testing.T) {
	st := newStack(t, 23)
	if c := st.LambdaCreateFunction("f", "echo"); c != "" {
		t.Fatalf("CreateFunction %q", c)
	}
	ins, code := st.RunInstances(3)
	if code != "" {
		t.Fatalf("RunInstances %q", code)
	}
	if err := st.RegisterTargets(ins...); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(20 * time.Minute))
	if h, n := st.STSHealthyHosts(); h != n || st.LambdaInvoke("f") != "" || st.STSAssumeRole() != "" {
		t.Fatalf("targets healthy: STS %d of %d hosts, invoke %q", h, n, st.LambdaInvoke("f"))
	}
	if err := st.EnableFailpoint("netmgr/dataplane", "return"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(10 * time.Minute))
	if h, _ := st.STSHealthyHosts(); h != 0 {
		t.Fatalf("targets failing their checks: STS %d healthy hosts, NLB %+v", h, st.NLBState())
	}
	if c := st.STSAssumeRole(); c != "ServiceUnavailable" {
		t.Fatalf("no healthy host: AssumeRole %q, want ServiceUnavailable", c)
	}
	if c := st.LambdaInvoke("f"); c != "TooManyRequestsException" {
		t.Fatalf("no fleet: Invoke %q, want TooManyRequestsException", c)
	}
	if err := st.DisableFailpoint("netmgr/dataplane"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(20 * time.Minute))
	if c, i := st.STSAssumeRole(), st.LambdaInvoke("f"); c != "" || i != "" {
		t.Fatalf("targets healthy again: AssumeRole %q, Invoke %q", c, i)
	}
}

// ECS launches each task's instance through EC2: while EC2 refuses
// launches the probe service runs no task; once it launches again the
// task runs on an instance whose state Network Manager propagated.
func TestECSNeedsEC2Launches(t *testing.T) {
	st := newStack(t, 24)
	if err := st.EnableFailpoint("ec2/run-instances", "return(RequestLimitExceeded)"); err != nil {
		t.Fatal(err)
	}
	stopped := 0
	st.OnEvent(func(ev kit.Event) {
		if ev.Service == ECSNode && ev.Kind == "ecs-task-stopped" {
			stopped++
		}
	})
	if _, c := st.ECSService(ProbeResource); c != codeBelowDesired {
		t.Fatalf("first call: %q", c)
	}
	st.RunUntil(st.Now().Add(30 * time.Minute))
	if n, c := st.ECSService(ProbeResource); c != codeBelowDesired || n != 0 || stopped == 0 {
		t.Fatalf("EC2 refusing launches: running %d, code %q, %d tasks stopped: want none running, stopped tasks", n, c, stopped)
	}
	if err := st.DisableFailpoint("ec2/run-instances"); err != nil {
		t.Fatal(err)
	}
	st.RunUntil(st.Now().Add(20 * time.Minute)) // the backoff is at most 15 min
	if n, c := st.ECSService(ProbeResource); c != "" || n != 1 {
		t.Fatalf("EC2 launching again: running %d, code %q", n, c)
	}
}

// A launched instance without connectivity (Network Manager's worker
// stalled) never runs its task: it times out after StartTimeout; as-was
// ECS terminates the instance and launches another for the retry, with
// ecs-keep-capacity it keeps the instance: fewer launches.
func TestECSNeedsConnectivityAndTheGuardKeepsCapacity(t *testing.T) {
	launches := map[string]int{}
	for _, c := range []struct {
		name  string
		fixes []string
	}{{"aswas", nil}, {"fixed", []string{catalogue.GuardECSKeepCapacity}}} {
		st := newStack(t, 25, c.fixes...)
		if err := st.EnableFailpoint("netmgr/tick", "pause"); err != nil {
			t.Fatal(err)
		}
		st.OnEvent(func(ev kit.Event) {
			if ev.Service == EC2Node && ev.Kind == "instance-launched" {
				launches[c.name]++
			}
		})
		st.ECSService(ProbeResource)
		st.RunUntil(st.Now().Add(2 * time.Hour))
		if n, code := st.ECSService(ProbeResource); code != codeBelowDesired || n != 0 {
			t.Fatalf("%s: no connectivity: running %d, code %q", c.name, n, code)
		}
		if err := st.DisableFailpoint("netmgr/tick"); err != nil {
			t.Fatal(err)
		}
		st.RunUntil(st.Now().Add(30 * time.Minute))
		if n, code := st.ECSService(ProbeResource); code != "" || n != 1 {
			t.Fatalf("%s: connectivity back: running %d, code %q", c.name, n, code)
		}
	}
	if launches["fixed"] >= launches["aswas"] || launches["fixed"] == 0 {
		t.Fatalf("instances launched: %v: want fewer with ecs-keep-capacity", launches)
	}
}
