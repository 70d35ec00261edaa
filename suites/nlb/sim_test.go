package nlb_test

// The suite on the deterministic sim (CASCADE_BACKEND=sim): the same
// fixture and specs drive harness/sim's Stack. The driver's minute is a
// process of the run (its requests through the NLB, its work posted to
// Network Manager and its launches are calls over the sim's network), the
// dashboards are the cores' state, the NLB's record is read from Route53's
// store, and waiting for incident time advances the virtual clock. The
// seed alone (CASCADE_SEED, 1 by default) decides the run.
//
// The sim runs the whole stack, not only Route53, Network Manager and the
// NLB: the DNS automation, DynamoDB, three DWFM hosts in the steady state
// and EC2 with no instance run beside them. None of them posts work to
// Network Manager or registers a target (the steady-state DWFM renews
// leases, which owe Network Manager nothing), so the queue and the target
// group are the driver's alone, as on the other backends; the report's
// figures include Network Manager's counts, which say so.

import (
	"context"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
	"github.com/cascade-lab/cascade/mocks/nlb"
)

// simBackend is CASCADE_BACKEND's name of the deterministic sim.
const simBackend = "sim"

func onSim() bool { return os.Getenv(harness.BackendEnv) == simBackend }

// simSeed is the sim run's seed (CASCADE_SEED, else 1).
func simSeed() int64 {
	var seed int64 = 1
	if v := os.Getenv("CASCADE_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			Fail(fmt.Sprintf("CASCADE_SEED=%q: want an integer", v))
		}
	}
	return seed
}

// simStep is how far the virtual clock moves between two looks of an
// awaited condition: the driver's minute.
const simStep = time.Minute

// simSteadyLimit bounds the wait for the steady state on the sim, in
// incident time: the other backends give it 10 s of wall time, 5 incident
// hours at speed 30; the steady state takes a few health-check rounds.
const simSteadyLimit = 30 * time.Minute

func startSimFixture(ctx context.Context, fixed bool) (*fixture, error) {
	cfg := sim.StackConfig{Seed: simSeed(), Start: at(2, 10).UTC()}
	if fixed {
		cfg.Fixes = []string{harness.FixNetMgrThrottle, harness.FixNLBVelocity, harness.GuardNLBPropagation}
	}
	By(fmt.Sprintf("starting the whole stack on the sim backend, seed %d", cfg.Seed))
	st, err := sim.NewStack(cfg)
	f := &fixture{fewest: len(zones)}
	if err != nil {
		return f, err
	}
	AddReportEntry("backend", fmt.Sprintf("sim, seed %d", cfg.Seed))
	f.sim, f.clock = st, st.Clock()
	st.OnEvent(f.onEvent)
	if err := f.launchOld(ctx); err != nil {
		return f, err
	}
	if msg, ok := f.simAwait(st.Now().Add(simSteadyLimit), func(g Gomega) { f.steady(ctx, g) }); !ok {
		return f, fmt.Errorf("steady state not reached within %s of incident time: %s", simSteadyLimit, msg)
	}
	f.drv = driverState{last: st.Now(), next: at(5, 28)}
	st.Every(time.Minute, func() { f.minute(ctx) })
	return f, nil
}

// await waits until poll passes, at the latest when the incident clock
// reads t: on the wall clock on the other backends (wall), by advancing the
// virtual clock on the sim.
func (f *fixture) await(t time.Time, poll func(g Gomega)) {
	GinkgoHelper()
	if f.sim == nil {
		Eventually(poll).WithTimeout(wall(f, t)).WithPolling(50 * time.Millisecond).Should(Succeed())
		return
	}
	if msg, ok := f.simAwait(t, poll); !ok {
		Fail(fmt.Sprintf("not by %s incident time (sim, seed %d): %s", t.In(pdt).Format("15:04"), simSeed(), msg))
	}
}

// consistently checks that poll passes for d of incident time.
func (f *fixture) consistently(d time.Duration, poll func(g Gomega)) {
	GinkgoHelper()
	if f.sim == nil {
		Consistently(poll).WithTimeout(speed.ToWall(d)).WithPolling(20 * time.Millisecond).Should(Succeed())
		return
	}
	for end := f.sim.Now().Add(d); ; {
		if msg, ok := try(poll); !ok {
			Fail(fmt.Sprintf("at %s incident time (sim, seed %d): %s", f.sim.Now().In(pdt).Format("15:04"), simSeed(), msg))
		}
		if !f.sim.Now().Before(end) {
			return
		}
		f.sim.RunUntil(f.sim.Now().Add(simStep))
	}
}

// simAwait looks at poll every simStep until it passes or the incident
// clock passes t; it returns poll's last failure.
func (f *fixture) simAwait(t time.Time, poll func(g Gomega)) (string, bool) {
	for {
		msg, ok := try(poll)
		if ok {
			return "", true
		}
		if !f.sim.Now().Before(t) {
			return msg, false
		}
		f.sim.RunUntil(f.sim.Now().Add(simStep))
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

// queue is Network Manager's queue (GET /v1/queue).
func (f *fixture) queue(ctx context.Context) (netmgrclient.Stats, error) {
	if f.sim != nil {
		return netmgrclient.Stats(f.sim.NetMgrState()), nil
	}
	return f.nm.Queue(ctx)
}

// instance is what Network Manager knows of an instance.
func (f *fixture) instance(ctx context.Context, id string) (netmgrclient.InstanceState, error) {
	if f.sim != nil {
		st, err := f.sim.NetMgrInstance(id)
		return netmgrclient.InstanceState(st), err
	}
	return f.nm.Instance(ctx, id)
}

// state is the NLB's state (withTargets: every target's too).
func (f *fixture) state(ctx context.Context, withTargets bool) (nlb.State, error) {
	if f.sim != nil {
		if withTargets {
			return f.sim.NLBTargets(), nil
		}
		return f.sim.NLBState(), nil
	}
	return f.lb.State(ctx, withTargets)
}

// disableFailover is the operators' action.
func (f *fixture) disableFailover(ctx context.Context) error {
	if f.sim != nil {
		f.sim.DisableNLBFailover()
		return nil
	}
	return f.lb.DisableFailover(ctx)
}

// request is one request through the NLB's listener.
func (f *fixture) request(ctx context.Context) error {
	if f.sim != nil {
		if code := f.sim.NLBRequest(); code != "" {
			return fmt.Errorf("request through the NLB: %s", code)
		}
		return nil
	}
	return f.lb.Request(ctx)
}

// postWork posts bulk work to Network Manager; how many items it admitted.
func (f *fixture) postWork(ctx context.Context, kind string, n int) (int, error) {
	if f.sim != nil {
		return f.sim.NetMgrPostWork(kind, n)
	}
	return f.nm.PostWork(ctx, kind, n)
}
