package nlb_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53sdk "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
	"github.com/cascade-lab/cascade/suites/framework"
)

var pdt = time.FixedZone("PDT", -7*3600)

// at is an incident time on 20 October 2025, PDT.
func at(h, m int) time.Time { return time.Date(2025, 10, 20, h, m, 0, 0, pdt) }

// zones are the stack's AZ ids (harness/embedded uses ec2.DefaultZones).
var zones = []string{"use1-az1", "use1-az2", "use1-az3"}

// fixture is route53 + netmgr + nlb on harness.Start's backends (the whole
// stack on the sim: sim_test.go), and a driver
// standing in for the rest of the stack: DWFM's re-lease notifications
// (bulk work, 2:25-5:28) and the launch/terminate churn of the recovery
// (5:28-10:00) posted to Network Manager, and new instances handed to
// Network Manager and registered with the NLB as EC2 and a target-group
// attachment do. Refused bulk work is owed and re-posted, as a sender with
// backoff does. Nothing here looks at the NLB's state to decide anything.
type fixture struct {
	run   *framework.Run // the stack and its cleanup
	stack harness.Stack
	clock kit.Clock
	nm    *netmgr.Client
	lb    *nlb.Probe
	r53   *r53sdk.Client

	mu        sync.Mutex
	fewest    int // fewest AZs in a record Route53 accepted from the NLB
	failedDNS int // NLB record writes Route53 refused or that failed
	launched  []string
	requests  int      // requests sent through the NLB's listener
	failed    int      // of which no target answered
	driver    kit.Loop // the demand and launches of drive, until Close
	drv       driverState

	sim *sim.Stack // on the sim backend (CASCADE_BACKEND=sim): nm, lb, r53, run and stack are unset
}

// driverState is where drive is between two minutes.
type driverState struct {
	last time.Time
	owed float64
	n    int
	next time.Time
}

// Driver rates (incident time): bulk work per minute, new instances.
const (
	oldPerAZ    = 6
	releaseRate = 150 // per minute, 2:25-5:28
	churnRate   = 100 // per minute, 5:28-10:00
	launches    = 15
	launchEvery = 8 * time.Minute
)

func startFixture(ctx context.Context, fixed bool) (*fixture, error) {
	if onSim() {
		return startSimFixture(ctx, fixed)
	}
	opts := []harness.Option{
		harness.WithServices(harness.Route53Svc, harness.NetMgrSvc, harness.NLBSvc),
		harness.WithSpeed(speed),
		harness.WithIncidentStart(at(2, 10).UTC()),
	}
	if fixed {
		opts = append(opts, harness.WithFixes(harness.FixNetMgrThrottle, harness.FixNLBVelocity, harness.GuardNLBPropagation)) // the gate: a guard AWS did not announce
	}
	run, err := framework.Open(ctx, framework.WithStack(opts...), framework.WithoutTimeline())
	f := &fixture{run: run, fewest: len(zones)}
	if err != nil {
		return f, err
	}
	st := run.Stack
	f.stack = st
	f.followDNSChanges()
	ep := st.Endpoints()
	f.clock = st.Clock()
	f.nm = netmgr.NewClient(ep.NetMgrAPI, f.clock, nil)
	f.lb = &nlb.Probe{AdminURL: ep.Admin[harness.NLBSvc], ListenerURL: "http://" + ep.NLB}
	if f.r53, err = st.Route53(); err != nil {
		return f, err
	}
	if err := f.launchOld(ctx); err != nil {
		return f, err
	}
	// steady state first: every old target in service and healthy. The
	// fixture reports an error rather than failing the spec, so this Gomega
	// records the failure instead of panicking.
	var notSteady string
	g := gomega.NewGomega(func(message string, _ ...int) { notSteady = message })
	if !g.Eventually(func(g gomega.Gomega) { f.steady(ctx, g) }).WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(gomega.Succeed()) {
		return f, fmt.Errorf("steady state not reached: %s", notSteady)
	}
	f.driver.Start(context.WithoutCancel(ctx), f.drive)
	return f, nil
}

// launchOld registers the old fleet: oldPerAZ targets in every AZ.
func (f *fixture) launchOld(ctx context.Context) error {
	for i := range oldPerAZ * len(zones) {
		if err := f.launch(ctx, fmt.Sprintf("i-old%02d", i), zones[i%len(zones)]); err != nil {
			return err
		}
	}
	return nil
}

// steady is the steady state: every old target in service and healthy.
func (f *fixture) steady(ctx context.Context, g gomega.Gomega) {
	st, err := f.state(ctx, false)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "NLB state")
	g.Expect(st.HealthyCapacity).To(gomega.Equal(oldPerAZ*len(zones)), "healthy capacity in %+v", st)
}

// launch hands a new instance to Network Manager and registers it with
// the NLB, as EC2 and a target-group attachment do.
func (f *fixture) launch(ctx context.Context, id, az string) error {
	if f.sim != nil {
		if err := f.sim.NetMgrRegister(id, az); err != nil {
			return err
		}
		return f.sim.RegisterTargets(sim.Launched{ID: id, ZoneID: az})
	}
	if _, err := f.nm.RegisterInstance(ctx, id, az); err != nil {
		return err
	}
	return f.lb.RegisterTargets(ctx, nlb.Target{ID: id, AZ: az})
}

func (f *fixture) drive(ctx context.Context) {
	t := f.clock.NewTicker(time.Minute)
	defer t.Stop()
	f.drv = driverState{last: f.clock.Now(), next: at(5, 28)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		f.minute(ctx)
	}
}

// minute is one minute of the driver: requests through the NLB, the bulk
// work owed since the last minute, a new instance when one is due.
func (f *fixture) minute(ctx context.Context) {
	d := &f.drv
	f.sendRequests(ctx, 4)
	now := f.clock.Now()
	mins := now.Sub(d.last).Minutes()
	d.last = now
	switch {
	case !now.Before(at(2, 25)) && now.Before(at(5, 28)):
		d.owed += releaseRate * mins
	case !now.Before(at(5, 28)) && now.Before(at(10, 0)):
		d.owed += churnRate * mins
	}
	if d.owed >= 1 {
		kind := "droplet-relet"
		if !now.Before(at(5, 28)) {
			kind = "launch-churn"
		}
		admitted, _ := f.postWork(ctx, kind, int(d.owed))
		d.owed -= float64(admitted)
	}
	if d.n < launches && !now.Before(d.next) {
		id := fmt.Sprintf("i-new%02d", d.n)
		if f.launch(ctx, id, zones[d.n%len(zones)]) == nil {
			f.mu.Lock()
			f.launched = append(f.launched, id)
			f.mu.Unlock()
			d.n++
			d.next = d.next.Add(launchEvery)
		}
	}
}

// sendRequests sends n requests through the NLB, as its clients do.
func (f *fixture) sendRequests(ctx context.Context, n int) {
	for range n {
		err := f.request(ctx)
		f.mu.Lock()
		f.requests++
		if err != nil {
			f.failed++
		}
		f.mu.Unlock()
	}
}

// Requests returns how many requests went through the NLB and how many failed.
func (f *fixture) Requests() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.failed
}

// Launched lists the new instances launched so far.
func (f *fixture) Launched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.launched...)
}

// RecordValues reads the NLB's A record from Route53 through the SDK.
func (f *fixture) RecordValues(ctx context.Context) ([]string, error) {
	if f.sim != nil {
		return f.sim.NLBRecord()
	}
	zones, err := f.r53.ListHostedZones(ctx, &r53sdk.ListHostedZonesInput{})
	if err != nil {
		return nil, err
	}
	name := "cascade-nlb.elb.us-east-1.amazonaws.com."
	for _, z := range zones.HostedZones {
		out, err := f.r53.ListResourceRecordSets(ctx, &r53sdk.ListResourceRecordSetsInput{HostedZoneId: z.Id,
			StartRecordName: aws.String(name), StartRecordType: r53types.RRTypeA})
		if err != nil {
			return nil, err
		}
		for _, rr := range out.ResourceRecordSets {
			if aws.ToString(rr.Name) == name && rr.Type == r53types.RRTypeA {
				var vals []string
				for _, v := range rr.ResourceRecords {
					vals = append(vals, aws.ToString(v.Value))
				}
				return vals, nil
			}
		}
	}
	return nil, nil
}

// followDNSChanges keeps the fewest AZs of any record the NLB published: its
// dns-change event is emitted once Route53 has accepted the change. An AZ
// can be out of DNS for a few incident minutes, milliseconds of wall time,
// so reading the record back on a poll could miss it.
func (f *fixture) followDNSChanges() {
	events, unsubscribe := f.stack.Events(4096)
	go func() {
		defer unsubscribe()
		for ev := range events {
			f.onEvent(ev)
		}
	}()
}

func (f *fixture) onEvent(ev kit.Event) {
	if ev.Service != harness.NLBSvc {
		return
	}
	switch ev.Kind {
	case "dns-change":
		azs, published := ev.Fields["azs"], ev.Fields["published"] == true
		if n, ok := count(azs); ok && published {
			f.mu.Lock()
			f.fewest = min(f.fewest, n)
			f.mu.Unlock()
		}
	case "dns-change-failed":
		f.mu.Lock()
		f.failedDNS++
		f.mu.Unlock()
	}
}

// count is the length of an event field holding a list: []string in this
// process, []any once it has gone through JSON.
func count(v any) (int, bool) {
	switch l := v.(type) {
	case []string:
		return len(l), true
	case []any:
		return len(l), true
	}
	return 0, false
}

// FewestAZsPublished is the fewest AZs in a record Route53 accepted from the
// NLB, and how many of the NLB's writes failed.
func (f *fixture) FewestAZsPublished() (fewest, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fewest, f.failedDNS
}

func (f *fixture) Close() error {
	if f.sim != nil {
		f.sim.Close()
		return nil
	}
	f.driver.Close()
	if f.run != nil {
		return f.run.Close()
	}
	return nil
}
