package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/ecs"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// fakeFleet stands in for EC2 and Network Manager.
type fakeFleet struct {
	mu                   sync.Mutex
	canLaunch, connected bool
	n                    int
	terminated           []string
}

func (f *fakeFleet) Launch(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.canLaunch {
		return "", errors.New("api error InsufficientInstanceCapacity: no droplet with a valid lease")
	}
	f.n++
	return fmt.Sprintf("i-%017x", f.n), nil
}

func (f *fakeFleet) Terminate(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.terminated = append(f.terminated, id)
	return nil
}

func (f *fakeFleet) Connected(context.Context, string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected, nil
}

func (f *fakeFleet) set(launch, connected bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canLaunch, f.connected = launch, connected
}

type rig struct {
	ctx   context.Context
	clock *clockwork.FakeClock
	fleet *fakeFleet
	srv   *ecs.Server
	c     *ecssdk.Client
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{ctx: context.Background(), clock: clockwork.NewFakeClockAt(kit.IncidentStart), fleet: &fakeFleet{canLaunch: true, connected: true}}
	var err error
	// A tick interval of a day keeps the loop out of the way: the test ticks.
	r.srv, err = ecs.New(ecs.Config{Fleet: r.fleet, TickInterval: 24 * time.Hour}, kit.NewEnv("ecs", r.clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Start(r.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.srv.Close() })
	r.c = ecssdk.New(ecssdk.Options{Region: awsclient.Region, Credentials: awsclient.Credentials,
		BaseEndpoint: aws.String(r.srv.URL()), RetryMaxAttempts: 1})
	if _, err := r.c.CreateCluster(r.ctx, &ecssdk.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	return r
}

// run ticks the scheduler once a minute for d.
func (r *rig) run(d time.Duration) {
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); r.clock.Advance(time.Minute) {
		r.srv.Tick(r.ctx)
	}
}

func errType(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return "ok"
	}
	return "transport: " + err.Error()
}

func TestSDKRunTaskFollowsEC2(t *testing.T) {
	r := newRig(t)
	run := func() *ecssdk.RunTaskOutput {
		out, err := r.c.RunTask(r.ctx, &ecssdk.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web:1"),
			LaunchType: types.LaunchTypeFargate, Count: aws.Int32(2)})
		if err != nil {
			t.Fatalf("RunTask: %v", err)
		}
		return out
	}
	r.fleet.set(false, false)
	out := run()
	if len(out.Tasks) != 0 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != ecs.ReasonCapacity {
		t.Fatalf("RunTask while EC2 cannot launch: tasks %d failures %+v", len(out.Tasks), out.Failures)
	}
	r.fleet.set(true, false)
	out = run()
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].LastStatus) != ecs.StatusPending {
		t.Fatalf("RunTask with launches but no connectivity: %+v", out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	r.run(11 * time.Minute)
	d, err := r.c.DescribeTasks(r.ctx, &ecssdk.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{arn, "nope"}})
	if err != nil || len(d.Tasks) != 1 || aws.ToString(d.Tasks[0].LastStatus) != ecs.StatusStopped ||
		aws.ToString(d.Tasks[0].StoppedReason) != ecs.ReasonENITimeout || d.Tasks[0].StopCode != types.TaskStopCodeTaskFailedToStart ||
		len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeTasks after StartTimeout: %+v %v", d, err)
	}
	r.fleet.set(true, true)
	out = run()
	r.run(time.Minute)
	d, _ = r.c.DescribeTasks(r.ctx, &ecssdk.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{aws.ToString(out.Tasks[0].TaskArn)}})
	if aws.ToString(d.Tasks[0].LastStatus) != ecs.StatusRunning || d.Tasks[0].StartedAt == nil {
		t.Fatalf("task with connectivity: %+v", d.Tasks[0])
	}
}

func TestSDKServiceScalesWithEC2(t *testing.T) {
	r := newRig(t)
	r.fleet.set(false, false)
	if _, err := r.c.CreateService(r.ctx, &ecssdk.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"),
		TaskDefinition: aws.String("api:7"), DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate}); err != nil {
		t.Fatal(err)
	}
	running := func() int32 {
		d, err := r.c.DescribeServices(r.ctx, &ecssdk.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}})
		if err != nil || len(d.Services) != 1 {
			t.Fatalf("DescribeServices: %+v %v", d, err)
		}
		return d.Services[0].RunningCount
	}
	r.run(30 * time.Minute)
	if n := running(); n != 0 {
		t.Fatalf("running %d while EC2 cannot launch", n)
	}
	r.fleet.set(true, true)
	r.run(16 * time.Minute) // the backoff is capped at RetryMax
	if n := running(); n != 2 {
		t.Fatalf("running %d after EC2 recovered, want 2", n)
	}
	u, err := r.c.UpdateService(r.ctx, &ecssdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), DesiredCount: aws.Int32(4)})
	if err != nil || u.Service.DesiredCount != 4 {
		t.Fatalf("UpdateService: %+v %v", u, err)
	}
	r.run(2 * time.Minute)
	if n := running(); n != 4 {
		t.Fatalf("running %d after scaling out, want 4", n)
	}
}

// Bad requests get ECS's exception types through the SDK's JSON error parser.
func TestSDKErrorShapes(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"unknown cluster", func() error {
			_, err := r.c.RunTask(r.ctx, &ecssdk.RunTaskInput{Cluster: aws.String("nope"), TaskDefinition: aws.String("web:1")})
			return err
		}(), ecs.TypeClusterNotFound},
		{"EC2 launch type", func() error {
			_, err := r.c.RunTask(r.ctx, &ecssdk.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web:1"), LaunchType: types.LaunchTypeEc2})
			return err
		}(), ecs.TypeInvalidParameter},
		{"unknown service", func() error {
			_, err := r.c.UpdateService(r.ctx, &ecssdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
			return err
		}(), ecs.TypeServiceNotFound},
		{"count 11", func() error {
			_, err := r.c.RunTask(r.ctx, &ecssdk.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String("web:1"), Count: aws.Int32(11)})
			return err
		}(), ecs.TypeInvalidParameter},
	}
	for _, tc := range cases {
		if got := errType(tc.err); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	var nf *types.ClusterNotFoundException
	if _, err := r.c.DescribeServices(r.ctx, &ecssdk.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"a"}}); !errors.As(err, &nf) {
		t.Errorf("DescribeServices on an unknown cluster: %v, want the SDK's ClusterNotFoundException", err)
	}
}
