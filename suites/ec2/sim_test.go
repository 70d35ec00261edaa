package ec2_test

// The suite on the deterministic sim (CASCADE_BACKEND=sim): the same specs
// drive harness/sim's Stack, where the seed alone decides the run. The
// clients are the sim's (DynamoDB GetItem/PutItem through the regional
// name with a fresh client, RunInstances), the DWFM hosts' lease events
// come from their cores on the virtual clock, and the faults and operator
// actions are the Stack's counterparts of the ones the ledger applies on
// the other backends, recorded on the timeline under the same kind, name
// and target. Waiting for incident time advances the virtual clock: a spec
// takes the CPU its events take, whatever the machine's load.
//
// The sim runs the whole stack (Network Manager and the NLB besides the
// services dwfmServices names): DWFM's re-lease work then reaches a Network
// Manager, EC2 hands instances off to it, and the NLB has no target; none
// of it is on the path of a lease or a launch's placement, which is what
// the specs assert.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
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

// simRun is the sim side of a run: the Stack, and the faults applied to it
// as the ledger would record them.
type simRun struct {
	st     *sim.Stack
	tl     *timeline.Timeline
	seq    int
	active []simFault
}

type simFault struct {
	id   string
	undo func() error
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
	r := &run{sim: s, tl: tl, hosts: st.DWFMHosts()}
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
			AddReportEntry("timeline", tl.Snapshot())
		}
		err := s.revertAll()
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

// apply is the ledger's Apply on the sim: the Stack's counterpart of f,
// recorded on the timeline under f's ledger entry; it returns the revert.
func (s *simRun) apply(f faults.Fault) (func(context.Context) error, error) {
	rec := faults.Describe(f)
	s.seq++
	rec.ID = fmt.Sprintf("sim-%d", s.seq)
	rec.Start = s.st.Now()
	undo, instant, err := s.do(f)
	if err != nil {
		rec.End, rec.Detail = s.st.Now(), rec.Detail+"; failed: "+err.Error()
		s.tl.AddFault(rec)
		return func(context.Context) error { return nil }, err
	}
	if instant {
		rec.End = rec.Start
		s.tl.AddFault(rec)
		return func(context.Context) error { return nil }, nil
	}
	s.tl.AddFault(rec)
	done := false
	end := func() error {
		if done {
			return nil
		}
		done = true
		if err := undo(); err != nil {
			return err
		}
		return s.tl.EndFault(rec.ID, s.st.Now())
	}
	s.active = append(s.active, simFault{id: rec.ID, undo: end})
	return func(context.Context) error { return end() }, nil
}

// do is the sim counterpart of each fault and action the suite applies;
// another is an error naming the ones it has.
func (s *simRun) do(f faults.Fault) (undo func() error, instant bool, err error) {
	st := s.st
	switch f := f.(type) {
	case faults.DisableDNSAutomation:
		// as the admin action: disable, then wait until no Enactor is in a run
		st.DisableDNSAutomation()
		for limit := st.Now().Add(time.Hour); !st.DNSAutomationIdle() && st.Now().Before(limit); {
			st.RunUntil(st.Now().Add(time.Second))
		}
		if !st.DNSAutomationIdle() {
			return nil, false, fmt.Errorf("sim: an Enactor is still in a run an hour after the DNS automation was disabled")
		}
		return func() error { st.EnableDNSAutomation(); return nil }, false, nil
	case *faults.EmptyEndpoint:
		if f.Endpoint.ID != dnsplan.Regional.ID {
			return nil, false, fmt.Errorf("sim: only the regional endpoint is restored by hand (RestoreDNS), not %q", f.Endpoint.ID)
		}
		return st.RestoreDNS, false, st.EmptyEndpoint(f.Endpoint.ID)
	case *faults.RestoreDNS:
		if f.Endpoint.ID != dnsplan.Regional.ID {
			return nil, false, fmt.Errorf("sim: RestoreDNS restores the regional endpoint, not %q", f.Endpoint.ID)
		}
		return nil, true, st.RestoreDNS()
	case *throttleEC2:
		if f.Burst != 1 {
			return nil, false, fmt.Errorf("sim: ThrottleEC2 has a bucket of one call, not %g", f.Burst)
		}
		st.ThrottleEC2(f.PerMinute)
		return func() error { st.ThrottleEC2(0); return nil }, false, nil
	case *faults.ThrottleDWFM:
		st.ThrottleDWFM(f.PerMinute)
		return func() error { st.ThrottleDWFM(0); return nil }, false, nil
	case *faults.RestartDWFM:
		return nil, true, st.RestartDWFM(f.Instance)
	}
	return nil, false, fmt.Errorf("sim: no counterpart of %T in this suite (disable-dns-automation, empty-endpoint, restore-dns, throttle-ec2, throttle-dwfm, restart-dwfm have one)", f)
}

// revertAll reverts every fault still active, last first (the ledger's
// RevertAll).
func (s *simRun) revertAll() error {
	var errs []error
	for i := len(s.active) - 1; i >= 0; i-- {
		if err := s.active[i].undo(); err != nil {
			errs = append(errs, fmt.Errorf("revert %s: %w", s.active[i].id, err))
		}
	}
	s.active = nil
	return errors.Join(errs...)
}
