package ec2_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
	ddbmock "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/admin"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/suites/framework"
)

// The suite's timeline: the default DynamoDB component (dns-resolve,
// ddb-getitem, ddb-putitem), DWFM's leases (derived from the hosts' own
// events) and EC2 launches, in the order of the cascade.
const (
	compDynamoDB = "dynamodb"
	compDWFM     = "dwfm"
	compEC2      = "ec2"

	// probeDWFMLeases is one sample per DWFM lease event: Value is the
	// host's leases held over its droplets, OK when every droplet is leased,
	// Source the host.
	probeDWFMLeases = "dwfm-leases"
)

// Probe periods (incident time). DynamoDB's probes make a fresh client per
// sample; launches run often enough to meet the operators' EC2 throttle (one
// launch per two minutes) as RequestLimitExceeded. Both are few: every probe
// is CPU the stack's services do not get on a loaded machine.
const (
	ddbProbePeriod    = 2 * time.Minute
	launchProbePeriod = time.Minute
)

// dwfmServices is the stack the suite needs: the DNS automation (so the
// endpoint's record is the real one, emptied and restored the operators'
// way), DynamoDB behind its load balancers, three DWFM hosts and EC2.
var dwfmServices = harness.WithServices(harness.Route53Svc, harness.DynamoDBSvc, harness.DNSPlannerSvc,
	harness.DNSEnactorSvc, harness.DWFMSvc, harness.EC2Svc)

// connAge is DynamoDB's connection age for this suite's stacks (every
// backend applies it, the containers one as --max-conn-age). DynamoDB retires
// client connections by age so that clients resolve the endpoint again; the
// default, one incident minute, is a few tens of wall milliseconds at replay
// speed, so DWFM's hosts would dial and resolve for nearly every call, which
// on a loaded 2-core machine costs more wall time than the calls. Ten
// incident minutes still lets the emptied record reach every host long
// before a lease (45 min) runs out.
var connAge = harness.Tune(func(_ string, c *ddbmock.Config) { c.MaxConnAge = 10 * time.Minute })

// run is one stack with its timeline, fault ledger and probes.
type run struct {
	stack  harness.Stack
	speed  kit.Speed
	tl     *timeline.Timeline
	ledger *faults.Ledger
	ec2    *ec2sdk.Client
	hosts  []string // DWFM instances
	sim    *simRun  // on the sim backend (CASCADE_BACKEND=sim): stack, speed and ec2 are unset
}

// suiteComponents are the timeline's components, in the order of the cascade.
func suiteComponents() []timeline.Component {
	return []timeline.Component{
		{Name: compDynamoDB, Probes: []string{timeline.ProbeDNSResolve, timeline.ProbeDDBGetItem, timeline.ProbeDDBPutItem}},
		{Name: compDWFM, Probes: []string{probeDWFMLeases}},
		{Name: compEC2, Probes: []string{timeline.ProbeEC2Launch}},
	}
}

// dwfmLeaseProbe derives the dwfm-leases samples from the hosts' events.
func dwfmLeaseProbe() timeline.EventProbe {
	return timeline.EventRatio(harness.DWFMSvc+"*", "held", "droplets",
		timeline.AtLeast(1), "lease-expired", "lease-established", "queue-depth", "host-restarted", "host-booted")
}

// startRun starts a stack with the DWFM services, connAge and fixes (by
// the names every backend takes), and wires the observation around it;
// every part is undone by DeferCleanup, and a failed spec gets the timeline
// attached. On the sim it is startSimRun.
func startRun(ctx context.Context, fixes ...string) *run {
	if onSim() {
		return startSimRun(fixes...)
	}
	r := &run{}
	opts := []harness.Option{harness.WithSpeed(speed), connAge, dwfmServices}
	if len(fixes) > 0 {
		opts = append(opts, harness.WithFixes(fixes...))
	}
	fr := framework.Start(ctx, framework.WithStack(opts...),
		framework.WithSweep(), framework.WithEventBuffer(8192), framework.AttachAlwaysWhen("CASCADE_EC2_REPORT"),
		framework.WithTimeline(func(tl *timeline.Timeline) {
			tl.RegisterEventProbe(probeDWFMLeases, dwfmLeaseProbe())
		}, timeline.WithComponents(suiteComponents()...)),
		framework.WithProbes(ddbProbePeriod, func(s harness.Stack) []probes.Probe {
			ep := s.Endpoints()
			ddb := probes.NewDynamoDB(ep)
			return []probes.Probe{probes.Resolve(ep), ddb.GetItem(), ddb.PutItem()}
		}),
		framework.WithProbes(launchProbePeriod, func(s harness.Stack) []probes.Probe {
			var err error
			r.ec2, err = s.EC2(awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
			Expect(err).NotTo(HaveOccurred())
			return []probes.Probe{launchProbe(r.ec2)}
		}))
	r.stack, r.speed, r.tl, r.ledger = fr.Stack, fr.Stack.Endpoints().Clock.Speed, fr.Timeline, fr.Ledger
	for _, svc := range r.stack.Services() {
		if svc.Kind == harness.DWFMSvc {
			r.hosts = append(r.hosts, svc.Name)
		}
	}
	sort.Strings(r.hosts)
	Expect(r.hosts).NotTo(BeEmpty(), "no DWFM host in the stack")
	return r
}

// launchProbe is the ec2-launch probe: one RunInstances with the real SDK
// and no retries, its outcome recorded by EC2 error code (ok,
// InsufficientInstanceCapacity, RequestLimitExceeded, ...).
//
// The harness has no EC2 launch probe yet (timeline.ProbeEC2Launch is only
// a name); this belongs in harness/probes beside the DynamoDB ones.
func launchProbe(c *ec2sdk.Client) probes.Probe {
	return probes.Func{ProbeName: timeline.ProbeEC2Launch, Fn: func(ctx context.Context) timeline.Sample {
		code, id, err := launch(ctx, c)
		s := timeline.Sample{OK: err == nil, Code: code, Detail: id}
		if err != nil {
			s.Detail = err.Error()
		}
		return s
	}}
}

// launch is one RunInstances call; code is ec2.LaunchOutcome's.
func launch(ctx context.Context, c *ec2sdk.Client) (code, id string, err error) {
	out, err := c.RunInstances(ctx, &ec2sdk.RunInstancesInput{
		ImageId: aws.String("ami-cascade"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: aws.String("probe"), Value: aws.String("suite-ec2")}}}},
	})
	if err != nil {
		return ec2.LaunchOutcome(err), "", err
	}
	return ec2.LaunchOutcome(nil), aws.ToString(out.Instances[0].InstanceId), nil
}

// instanceState is an instance's state as DescribeInstances reports it.
func (r *run) instanceState(ctx context.Context, id string) string {
	if r.sim != nil {
		st, err := r.sim.st.InstanceState(id)
		if err != nil {
			return fmt.Sprintf("error: %v", err)
		}
		return st
	}
	out, err := r.ec2.DescribeInstances(ctx, &ec2sdk.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		return fmt.Sprintf("error: %v", err)
	}
	return string(out.Reservations[0].Instances[0].State.Name)
}

// now is the stack's incident time.
func (r *run) now() time.Time {
	if r.sim != nil {
		return r.sim.st.Now()
	}
	return r.stack.Clock().Now()
}

// launch is one RunInstances of one instance (the probe's call, made by
// the spec): its code as ec2.LaunchOutcome names it, and the instance id.
func (r *run) launch(ctx context.Context) (code, id string, err error) {
	if r.sim != nil {
		code, id = r.sim.launch()
		if code != ec2.LaunchOutcome(nil) {
			err = fmt.Errorf("RunInstances: %s", code)
		}
		return code, id, err
	}
	return launch(ctx, r.ec2)
}

// await waits until poll passes, for at most d of incident time: polling
// on the wall clock (with the slack of wall) on the other backends,
// advancing the virtual clock on the sim.
func (r *run) await(ctx context.Context, d time.Duration, poll func(g Gomega)) {
	GinkgoHelper()
	if r.sim != nil {
		r.sim.await(d, poll)
		return
	}
	Eventually(ctx, poll).WithTimeout(r.wall(d)).WithPolling(50 * time.Millisecond).Should(Succeed())
}

// waitRestarts waits until the DWFM restarts are done (faults.WaitRestarts;
// a restart on the sim is done when it returns).
func (r *run) waitRestarts(ctx context.Context) {
	GinkgoHelper()
	if r.sim == nil {
		Expect(faults.WaitRestarts(ctx, r.stack)).To(Succeed())
	}
}

// wall is the wall time an incident duration takes at the stack's speed,
// plus slack for starting and stopping on a loaded machine. The incident
// clock is driven by the wall clock, so waiting for incident time takes
// exactly this long however busy the machine is; only the services' work
// within it slows down.
func (r *run) wall(d time.Duration) time.Duration { return r.speed.ToWall(d) + 10*time.Second }

// waitUntil waits until the stack's incident clock reads t.
func (r *run) waitUntil(ctx context.Context, t time.Time) {
	if r.sim != nil {
		r.sim.st.RunUntil(t)
		return
	}
	Eventually(ctx, r.now).WithTimeout(r.wall(r.stack.Clock().Until(t))).WithPolling(20 * time.Millisecond).
		Should(BeTemporally(">=", t))
}

// apply applies a fault or operator action through the ledger; it returns
// the revert, for a spec that ends the fault itself, and the incident time
// it was applied. Faults span specs of the ordered container (the outage
// outlives the spec that starts it), so they are not reverted when the spec
// ends but by the ledger's RevertAll when the container ends, or fails.
func (r *run) apply(ctx context.Context, f faults.Fault) (func(context.Context) error, time.Time) {
	start := r.now()
	undo, err := r.ledger.Apply(ctx, f)
	Expect(err).NotTo(HaveOccurred())
	return undo, start
}

// restore is the operators' repair: the restore-dns action is recorded
// before the record comes back (so the DynamoDB probes' recovery follows
// it), then the emptying fault is ended (its revert restores again, a no-op).
// It returns when the action was taken and when the repair was done: a
// handful of Route53 API calls, which take incident minutes on a loaded
// machine.
func (r *run) restore(ctx context.Context, undoEmpty func(context.Context) error) (at, done time.Time) {
	_, at = r.apply(ctx, faults.RestoreRegional())
	Expect(undoEmpty(ctx)).To(Succeed())
	return at, r.now()
}

// fleet is DWFM's leases as the hosts' events reported them: the latest
// ratio of leases held per host.
type fleet map[string]float64

// fleetAt replays the dwfm-leases samples up to t.
func fleetAt(snap *timeline.Snapshot, t time.Time) fleet {
	f := fleet{}
	for _, s := range snap.Probe(probeDWFMLeases) {
		if s.Time.After(t) {
			break
		}
		f[s.Source] = s.Value
	}
	return f
}

// all reports whether every host of hosts has a ratio satisfying ok.
func (f fleet) all(hosts []string, ok func(float64) bool) bool {
	for _, h := range hosts {
		v, seen := f[h]
		if !seen || !ok(v) {
			return false
		}
	}
	return true
}

// firstWhenAll is the first incident time at or after from when every host's
// latest ratio satisfies ok.
func firstWhenAll(snap *timeline.Snapshot, hosts []string, from time.Time, ok func(float64) bool) (time.Time, bool) {
	f := fleetAt(snap, from)
	if f.all(hosts, ok) {
		return from, true
	}
	for _, s := range snap.Probe(probeDWFMLeases) {
		if !s.Time.After(from) {
			continue
		}
		f[s.Source] = s.Value
		if f.all(hosts, ok) {
			return s.Time, true
		}
	}
	return time.Time{}, false
}

// maxLeasedBetween is the largest ratio of leases any host held in
// [from, to], counting the ratio each held at from.
func maxLeasedBetween(snap *timeline.Snapshot, from, to time.Time) float64 {
	hi := 0.0
	for _, v := range fleetAt(snap, from) {
		hi = max(hi, v)
	}
	for _, s := range snap.Probe(probeDWFMLeases) {
		if s.Time.After(from) && !s.Time.After(to) {
			hi = max(hi, s.Value)
		}
	}
	return hi
}

// launchCodes counts the ec2-launch outcomes in [from, to].
func launchCodes(snap *timeline.Snapshot, from, to time.Time) map[string]int {
	out := map[string]int{}
	for _, s := range snap.Probe(timeline.ProbeEC2Launch) {
		if !s.Time.Before(from) && !s.Time.After(to) {
			out[s.Code]++
		}
	}
	return out
}

// firstLaunch is the first ec2-launch sample at or after from with code.
func firstLaunch(snap *timeline.Snapshot, from time.Time, code string) (time.Time, bool) {
	for _, s := range snap.Probe(timeline.ProbeEC2Launch) {
		if !s.Time.Before(from) && s.Code == code {
			return s.Time, true
		}
	}
	return time.Time{}, false
}

// lastEvent is the fields of the latest event of kind from each service of
// kind svcKind, by service.
func lastEvent(snap *timeline.Snapshot, svcKind, kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, ev := range snap.Events {
		if ev.Kind == kind && harness.KindOf(ev.Service) == svcKind {
			out[ev.Service] = ev.Fields
		}
	}
	return out
}

// incidentMinutes formats an incident duration for report entries.
func incidentMinutes(d time.Duration) string {
	return fmt.Sprintf("%.0f incident min", d.Minutes())
}

// throttleEC2 is the operators' throttle on EC2 launches (POST
// /admin/throttle on the ec2 instance's admin API), which customers saw as
// RequestLimitExceeded; Revert removes it. harness/faults has the DWFM
// throttle but not this one; it belongs there as "throttle-ec2".
type throttleEC2 struct {
	PerMinute, Burst float64
}

var (
	_ faults.Fault     = (*throttleEC2)(nil)
	_ faults.Describer = (*throttleEC2)(nil)
)

func (t *throttleEC2) Apply(ctx context.Context, s harness.Stack) error {
	return ec2Admin(ctx, s, http.MethodPost, map[string]float64{"ratePerMinute": t.PerMinute, "burst": t.Burst})
}

func (t *throttleEC2) Revert(ctx context.Context, s harness.Stack) error {
	return ec2Admin(ctx, s, http.MethodDelete, nil)
}

func (t *throttleEC2) Describe() timeline.Fault {
	return timeline.Fault{Kind: faults.KindOperator, Name: "throttle-ec2", Target: harness.EC2Svc,
		Detail: fmt.Sprintf("%g/min", t.PerMinute), Operator: true}
}

func ec2Admin(ctx context.Context, s harness.Stack, method string, body any) error {
	base, err := s.Endpoints().AdminURL(harness.EC2Svc)
	if err != nil {
		return err
	}
	return admin.New(base, admin.WithName(harness.EC2Svc)).Do(ctx, method, "/admin/throttle", body, nil)
}
