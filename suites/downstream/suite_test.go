// Package downstream_test is the suite of the services customers call
// through SDKs (issue 14): Lambda with SQS, STS and ECS/Fargate, each on its
// real API (aws-sdk-go-v2), each failing through its real dependency in
// the stack and recovering as its mode says:
//
//   - while the regional DynamoDB record is empty, STS cannot read its
//     principals (as-was: InternalFailure; the sts-stale-cache guard keeps
//     serving the warm cache), Lambda cannot create functions (metadata in
//     DynamoDB), and the event-source pollers cannot renew their lease;
//   - after the record is restored, as-was pollers stay wedged until the
//     operators restart them (real: by hand at 04:40); with the
//     lambda-lease-expiry guard they recover by themselves;
//   - while EC2 refuses launches (the operators' RunInstances throttle,
//     RequestLimitExceeded, one of the two causes of the real night), ECS
//     RunTask answers the capacity failure; it launches again when EC2 does.
//
// Bounds are incident-time shapes with generous margins, not speeds.
package downstream_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	sqssdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/mocks/ecs"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/admin"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/suites/framework"
)

func TestDownstream(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Downstream services suite")
}

const (
	// speed: 10 incident minutes per wall second, so that a loaded
	// machine's wall latency (50 ms is 30 incident seconds here) stays
	// well inside Lambda's lease timing (renew every 1 min, TTL 3 min).
	speed kit.Speed = 10
	// outage is how long the record stays empty: longer than a lease
	// renewal interval, so the pollers' renewal fails, and than STS's
	// FreshTTL and DynamoDB's connection age, so STS must read again.
	outage = 10 * time.Minute
	// wedgeWatch is how long after the restore the as-was mapping is shown
	// processing nothing: five lease TTLs, long past the fixed recovery.
	wedgeWatch = 15 * time.Minute
	// recoveryLimit bounds a recovery (fixed pollers after the restore,
	// as-was after the restart): about a lease TTL plus poll ticks; the
	// rest is margin for a starved process.
	recoveryLimit = 20 * time.Minute
)

// services are what the four need: DynamoDB reached by name (route53, the
// planner and enactors), EC2 launches (DWFM, netmgr, ec2).
var services = []string{harness.Route53Svc, harness.DynamoDBSvc, harness.NetMgrSvc, harness.SQSSvc, harness.DNSPlannerSvc,
	harness.DNSEnactorSvc, harness.DWFMSvc, harness.EC2Svc, harness.LambdaSvc, harness.STSSvc, harness.ECSSvc}

type run struct {
	*framework.Run
	clock  kit.Clock
	sqs    *sqssdk.Client
	lambda *lambdasdk.Client
	sts    *stssdk.Client
	ecs    *ecssdk.Client
	queue  string
}

func startRun(ctx context.Context, fixed bool) *run {
	opts := []harness.Option{harness.WithServices(services...), harness.WithSpeed(speed)}
	if fixed {
		opts = append(opts, harness.WithFixes(harness.GuardLambdaLeaseExpiry, harness.GuardSTSStaleCache, harness.GuardECSKeepCapacity))
	}
	fr := framework.Start(ctx, framework.WithStack(opts...), framework.WithoutTimeline())
	ep := fr.Stack.Endpoints()
	o := []awsclient.Option{awsclient.WithMaxAttempts(1), awsclient.WithTimeout(2 * time.Second)}
	r := &run{Run: fr, clock: fr.Stack.Clock()}
	var err error
	r.sqs, err = awsclient.SQS(ep.SQSAPI, o...)
	Expect(err).NotTo(HaveOccurred())
	r.lambda, err = awsclient.Lambda(ep.LambdaAPI, o...)
	Expect(err).NotTo(HaveOccurred())
	r.sts, err = awsclient.STS(ep.STSAPI, o...)
	Expect(err).NotTo(HaveOccurred())
	r.ecs, err = awsclient.ECS(ep.ECSAPI, o...)
	Expect(err).NotTo(HaveOccurred())
	return r
}

func (r *run) wall(d time.Duration) time.Duration { return kit.WallDuration(r.clock, d) }

func (r *run) apply(ctx context.Context, f faults.Fault) func(context.Context) error {
	undo, err := r.Ledger.Apply(ctx, f)
	Expect(err).NotTo(HaveOccurred())
	return undo
}

// assumeRole is AssumeRole of the default role: "ok" or the error code.
func (r *run) assumeRole(ctx context.Context) string {
	_, err := r.sts.AssumeRole(ctx, &stssdk.AssumeRoleInput{RoleArn: aws.String(probes.ProbeRoleARN), RoleSessionName: aws.String("suite")})
	if err != nil {
		return probes.Classify(err)
	}
	return "ok"
}

var fnCount int

// createFunction creates a new function: "ok" or the error code.
func (r *run) createFunction(ctx context.Context) string {
	fnCount++
	_, err := r.lambda.CreateFunction(ctx, &lambdasdk.CreateFunctionInput{
		FunctionName: aws.String("fn-" + strconv.Itoa(fnCount)), Role: aws.String(probes.ProbeRoleARN),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &lambdatypes.FunctionCode{ZipFile: emptyZip}})
	if err != nil {
		return probes.Classify(err)
	}
	return "ok"
}

var emptyZip = []byte{0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// depth is the queue's messages not yet deleted (visible and in flight).
func (r *run) depth(ctx context.Context) (int, error) {
	out, err := r.sqs.GetQueueAttributes(ctx, &sqssdk.GetQueueAttributesInput{QueueUrl: aws.String(r.queue),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, err
	}
	v, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	nv, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return v + nv, nil
}

func (r *run) send(ctx context.Context, n int) {
	for i := range n {
		_, err := r.sqs.SendMessage(ctx, &sqssdk.SendMessageInput{QueueUrl: aws.String(r.queue), MessageBody: aws.String(fmt.Sprintf(`{"order":%d}`, i))})
		Expect(err).NotTo(HaveOccurred())
	}
}

// workers are the pollers' worker states of every mapping (GET
// /admin/pollers on Lambda's admin API).
func (r *run) workers(ctx context.Context) []string {
	var ps []struct {
		Workers map[string]string `json:"workers"`
	}
	Expect(admin.New(r.Stack.Endpoints().Admin[harness.LambdaSvc]).Get(ctx, "/admin/pollers", &ps)).To(Succeed())
	var out []string
	for _, p := range ps {
		for _, st := range p.Workers {
			out = append(out, st)
		}
	}
	return out
}

// pollers is GET /admin/pollers, for a failure's message.
func (r *run) pollers(ctx context.Context) string {
	var raw any
	err := admin.New(r.Stack.Endpoints().Admin[harness.LambdaSvc]).Get(ctx, "/admin/pollers", &raw)
	var last []string
	if out, err := r.lambda.ListEventSourceMappings(ctx, &lambdasdk.ListEventSourceMappingsInput{}); err == nil {
		for _, m := range out.EventSourceMappings {
			last = append(last, aws.ToString(m.LastProcessingResult))
		}
	}
	return fmt.Sprintf("%v %v; last results %q", raw, err, last)
}

// runTask runs one task and returns "ok" or the failure's reason.
func (r *run) runTask(ctx context.Context) (string, error) {
	out, err := r.ecs.RunTask(ctx, &ecssdk.RunTaskInput{Cluster: aws.String("app"), TaskDefinition: aws.String("app:1")})
	if err != nil {
		return "", err
	}
	if len(out.Failures) > 0 {
		return aws.ToString(out.Failures[0].Reason), nil
	}
	return "ok", nil
}

// steady: every downstream probe OK, a queue consumed by a function
// through an event-source mapping, an ECS cluster.
func (r *run) steady(ctx context.Context) {
	ps := probes.Downstream(r.Stack)
	Expect(ps).To(HaveLen(5))
	runner := probes.NewRunner(r.clock, time.Minute, nil, ps...)
	Eventually(ctx, func(g Gomega) {
		for _, smp := range runner.SampleOnce(ctx) {
			g.Expect(smp.OK).To(BeTrue(), "%s: %+v", smp.Probe, smp)
		}
	}).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

	q, err := r.sqs.CreateQueue(ctx, &sqssdk.CreateQueueInput{QueueName: aws.String("orders")})
	Expect(err).NotTo(HaveOccurred())
	r.queue = aws.ToString(q.QueueUrl)
	attrs, err := r.sqs.GetQueueAttributes(ctx, &sqssdk.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	Expect(err).NotTo(HaveOccurred())
	_, err = r.lambda.CreateEventSourceMapping(ctx, &lambdasdk.CreateEventSourceMappingInput{
		FunctionName: aws.String(probes.ProbeName), EventSourceArn: aws.String(attrs.Attributes["QueueArn"]), BatchSize: aws.Int32(10)})
	Expect(err).NotTo(HaveOccurred())
	r.send(ctx, 5)
	Eventually(ctx, func() (int, error) { return r.depth(ctx) }).
		WithTimeout(r.wall(recoveryLimit)).WithPolling(50*time.Millisecond).Should(BeZero(), "pollers %s", r.pollers(ctx))
	_, err = r.ecs.CreateCluster(ctx, &ecssdk.CreateClusterInput{ClusterName: aws.String("app")})
	Expect(err).NotTo(HaveOccurred())
}

// empty empties the regional record with the DNS automation off (as the
// operators had it), waits out the outage, and returns the undo.
func (r *run) empty(ctx context.Context) func(context.Context) error {
	r.apply(ctx, faults.DisableDNSAutomation{})
	f, err := faults.Empty("regional")
	Expect(err).NotTo(HaveOccurred())
	return r.apply(ctx, f)
}

func (r *run) restore(ctx context.Context, undo func(context.Context) error) {
	r.apply(ctx, faults.RestoreRegional())
	Expect(undo(ctx)).To(Succeed())
}

var _ = Describe("Downstream services through their real dependencies", Label(labels.Lambda, labels.SQS, labels.STS, labels.ECS, labels.DynamoDB), func() {
	Context("as-was", Ordered, Label(labels.AsWas), func() { variant(false) })
	Context("with the guards lambda-lease-expiry, sts-stale-cache, ecs-keep-capacity", Ordered, Label(labels.Fixed), func() { variant(true) })
})

// variant is one Ordered container's specs on one stack.
func variant(fixed bool) {
	var (
		r    *run
		undo func(context.Context) error
	)
	BeforeAll(func(ctx SpecContext) {
		r = startRun(ctx, fixed)
		r.steady(ctx)
	}, NodeTimeout(60*time.Second))

	It("fails Lambda's function creation while DynamoDB does not resolve, and STS as-was only", Label(labels.Unresolvable), func(ctx SpecContext) {
		undo = r.empty(ctx)
		start := r.clock.Now()
		By("creating functions: their metadata goes to DynamoDB")
		Eventually(ctx, func() string { return r.createFunction(ctx) }).
			WithTimeout(r.wall(outage)).WithPolling(20 * time.Millisecond).ShouldNot(Equal("ok"))
		if fixed {
			By("assuming the role, read before the outage: the stale cache serves it throughout")
			Consistently(ctx, func() string { return r.assumeRole(ctx) }).
				WithTimeout(r.wall(outage)).WithPolling(20 * time.Millisecond).Should(Equal("ok"))
		} else {
			By("assuming the role: STS must read it again once FreshTTL and the connection age pass")
			Eventually(ctx, func() string { return r.assumeRole(ctx) }).
				WithTimeout(r.wall(outage)).WithPolling(20 * time.Millisecond).Should(Equal("InternalFailure"))
		}
		By("waiting out the outage: longer than a lease renewal")
		Eventually(ctx, func() time.Duration { return r.clock.Now().Sub(start) }).
			WithTimeout(r.wall(2 * outage)).WithPolling(20 * time.Millisecond).Should(BeNumerically(">=", outage))
		if !fixed {
			Expect(r.workers(ctx)).To(ContainElement("dead"), "an as-was poller whose renewal failed ends its loop")
		} else {
			Expect(r.workers(ctx)).NotTo(ContainElement("dead"), "a fixed poller goes back to acquiring")
		}
	}, SpecTimeout(30*time.Second))

	It("recovers STS and function creation when the record is restored", Label(labels.DNSRestored), func(ctx SpecContext) {
		r.restore(ctx, undo)
		Eventually(ctx, func() string { return r.assumeRole(ctx) }).
			WithTimeout(r.wall(recoveryLimit)).WithPolling(20 * time.Millisecond).Should(Equal("ok"))
		Eventually(ctx, func() string { return r.createFunction(ctx) }).
			WithTimeout(r.wall(recoveryLimit)).WithPolling(20 * time.Millisecond).Should(Equal("ok"))
	}, SpecTimeout(30*time.Second))

	if fixed {
		It("drains the queue by itself: an expired lease is taken again", Label(labels.FullRecovery), func(ctx SpecContext) {
			r.send(ctx, 5)
			Eventually(ctx, func() (int, error) { return r.depth(ctx) }).
				WithTimeout(r.wall(recoveryLimit)).WithPolling(50 * time.Millisecond).Should(BeZero())
		}, SpecTimeout(30*time.Second))
	} else {
		It("keeps the SQS poller stuck until the operators restart it", Label(labels.FullRecovery), func(ctx SpecContext) {
			r.send(ctx, 5)
			By("watching the mapping process nothing for five lease TTLs after the restore")
			Consistently(ctx, func() (int, error) { return r.depth(ctx) }).
				WithTimeout(r.wall(wedgeWatch)).WithPolling(50 * time.Millisecond).Should(BeNumerically(">=", 5))
			By("restarting the pollers, as the operators did at 04:40")
			r.apply(ctx, faults.RestartLambdaPollers{})
			Eventually(ctx, func() (int, error) { return r.depth(ctx) }).
				WithTimeout(r.wall(recoveryLimit)).WithPolling(50 * time.Millisecond).Should(BeZero())
		}, SpecTimeout(30*time.Second))
	}

	It("fails ECS task launches while EC2 refuses launches, and launches again after", Label(labels.EC2, labels.Throttle), func(ctx SpecContext) {
		Expect(r.runTask(ctx)).To(Equal("ok"))
		By("throttling RunInstances to a trickle, as the operators did")
		undoThrottle := r.apply(ctx, &faults.ThrottleEC2{PerMinute: 0.01})
		// The throttle's bucket holds one launch; the next finds it empty.
		Eventually(ctx, func() (string, error) { return r.runTask(ctx) }).
			WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(Equal(ecs.ReasonCapacity))
		By("relaxing the throttle")
		Expect(undoThrottle(ctx)).To(Succeed())
		Eventually(ctx, func() (string, error) { return r.runTask(ctx) }).
			WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(Equal("ok"))
	}, SpecTimeout(30*time.Second))
}
