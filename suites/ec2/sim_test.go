package ec2_test

// The suite on the deterministic sim (CASCADE_BACKEND=sim): the same specs
// drive harness/sim's Stack, where the seed alone decides the run. The
// clients are the sim's (DynamoDB GetItem/PutItem through the regional
// name with a fresh client, RunInstances), the DWFM hosts' lease events
// come from their cores on the virtual clock, and the same faults and
// operator actions go through a sim ledger (faults.NewSimLedger: each
// fault's sim counterpart, recorded on the timeline as on the other
// backends). Waiting for incident time advances the virtual clock: a spec
// takes the CPU its events take, whatever the machine's load.
//
// The sim runs the whole stack (Network Manager and the NLB besides the
// services dwfmServices names): DWFM's re-lease work then reaches a Network
// Manager, EC2 hands instances off to it, and the NLB has no target; none
// of it is on the path of a lease or a launch's placement, which is what
// the specs assert.

import (
	"context"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/report/specreport"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	ddbmock "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// simBackend is CASCADE_BACKEND's name of the deterministic sim.
const simBackend = "sim"

func onSim() bool { return os.Getenv(harness.BackendEnv) == simBackend }

// simSeed is the sim run's seed (CASCADE_SEED, else 1): one seed is one
// exact run.
func simSeed() int64 {
	var seed int64 = 1
	if v := os.Getenv("CASCADE_SEED"); v != "" {
		_, err := fmt.Sscan(v, &seed)
		Expect(err).NotTo(HaveOccurred(), "CASCADE_SEED=%q: want an integer", v)
	}
	return seed
}

// simStep is how far the virtual clock moves between two looks of an
// awaited condition: finer than every probe period, so a condition is seen
// within one probe sample of the moment it held.
const simStep = 30 * time.Second

// simRun is the sim side of a run: the Stack and its timeline (the run's
// ledger is a faults.NewSimLedger on the Stack).
type simRun struct {
	st *sim.Stack
	tl *timeline.Timeline
}

// startSimRun is startRun on the sim: the same timeline, probes (sampled
// as processes of the run at the same incident periods) and DynamoDB
// connection age; fixes by the names the other backends use.
func startSimRun(fixes ...string) *run {
	By(fmt.Sprintf("starting the whole stack on the sim backend, seed %d", simSeed()))
	st, err := sim.NewStack(sim.StackConfig{Seed: simSeed(), Fixes: fixes, Tune: func(_ string, cfg any) {
		if c, ok := cfg.(*ddbmock.Config); ok {
			c.MaxConnAge = 10 * time.Minute // connAge: the other backends' tune
		}
	}})
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("backend", fmt.Sprintf("sim, seed %d", simSeed()))
	tl := timeline.MustNew(timeline.WithName(fmt.Sprintf("sim-%d", simSeed())), timeline.WithComponents(suiteComponents()...))
	tl.RegisterEventProbe(probeDWFMLeases, dwfmLeaseProbe())
	st.OnEvent(func(ev kit.Event) { tl.AddEvent(ev) })
	s := &simRun{st: st, tl: tl}
	r := &run{sim: s, tl: tl, hosts: st.DWFMHosts(), ledger: faults.NewSimLedger(st, faults.WithTimeline(tl))}
	sample := func(name string, fn func() timeline.Sample) {
		at := st.Now()
		smp := fn()
		smp.Time, smp.Probe = at, name
		tl.AddSample(smp)
	}
	code := func(c string) timeline.Sample {
		if c != "" {
			return timeline.Sample{Code: c, Detail: c}
		}
		return timeline.Sample{OK: true}
	}
	st.Every(ddbProbePeriod, func() {
		sample(timeline.ProbeDNSResolve, func() timeline.Sample {
			addrs := st.Resolve(dnsplan.Regional.Name)
			if len(addrs) == 0 {
				return timeline.Sample{Code: timeline.CodeNoAddresses, Detail: dnsplan.Regional.Name}
			}
			return timeline.Sample{OK: true, Value: float64(len(addrs)), Detail: fmt.Sprint(addrs)}
		})
		sample(timeline.ProbeDDBGetItem, func() timeline.Sample { return code(st.DynamoDBGetItem()) })
		sample(timeline.ProbeDDBPutItem, func() timeline.Sample { return code(st.DynamoDBPutItem()) })
	})
	st.Every(launchProbePeriod, func() {
		sample(timeline.ProbeEC2Launch, func() timeline.Sample {
			c, id := s.launch()
			return timeline.Sample{OK: c == ec2.LaunchOutcome(nil), Code: c, Detail: id}
		})
	})
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() || os.Getenv("CASCADE_EC2_REPORT") == "always" {
			specreport.Attach(tl.Snapshot()) // as framework.Open does on the other backends
		}
		err := r.ledger.RevertAll(context.Background())
		st.Close()
		Expect(err).NotTo(HaveOccurred())
	})
	return r
}

// launch is one RunInstances of one instance on the sim: its code as
// ec2.LaunchOutcome names it on the other backends, and the instance id.
func (s *simRun) launch() (code, id string) {
	ins, c := s.st.RunInstances(1)
	switch {
	case c != "":
		return c, ""
	case len(ins) == 0:
		return "error", ""
	}
	return ec2.LaunchOutcome(nil), ins[0].ID
}

// await looks at poll every simStep of incident time until it passes, for
// at most d of incident time; then it fails with poll's last failure.
func (s *simRun) await(d time.Duration, poll func(g Gomega)) {
	GinkgoHelper()
	deadline := s.st.Now().Add(d)
	for {
		msg, ok := try(poll)
		if ok {
			return
		}
		if !s.st.Now().Before(deadline) {
			Fail(fmt.Sprintf("not within %s of incident time (sim, seed %d): %s", d, simSeed(), msg))
		}
		s.st.RunUntil(s.st.Now().Add(simStep))
	}
}

// simFailure is the panic a failed assertion inside try unwinds with.
type simFailure struct{ msg string }

// try runs poll once with a Gomega whose failures end it (as Eventually's
// does); it returns the failure.
func try(poll func(g Gomega)) (msg string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			f, is := r.(simFailure)
			if !is {
				panic(r)
			}
			msg, ok = f.msg, false
		}
	}()
	poll(NewGomega(func(m string, _ ...int) { panic(simFailure{m}) }))
	return "", true
}

// ApplySim is the throttle's counterpart on the sim (faults.SimFault): the
// Stack's throttle has a bucket of one call, as the suite's.
func (t *throttleEC2) ApplySim(_ context.Context, st *sim.Stack) error {
	if t.Burst != 1 {
		return fmt.Errorf("sim: ThrottleEC2 has a bucket of one call, not %g", t.Burst)
	}
	st.ThrottleEC2(t.PerMinute)
	return nil
}

// RevertSim removes it.
func (t *throttleEC2) RevertSim(_ context.Context, st *sim.Stack) error {
	st.ThrottleEC2(0)
	return nil
}
