package use1

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
)

// fleet is the customer of the replay: an auto-scaling group behind the
// NLB. It launches its steady-state fleet before the trigger, then its
// desired capacity grows by one instance every DemandEvery through the
// night, and by one every MorningDemandEvery more during the business
// morning (MorningFrom to MorningUntil, PDT: Monday 9 AM to 1 PM on the US
// east coast); every incident minute it tries to launch what it lacks, at
// most LaunchAttemptsPerMinute times, and registers each instance it gets
// as an NLB target, as an ASG attached to a target group does. Launches
// refused while leases are gone or while the operators throttle EC2 become
// pent-up demand: when the throttles are relaxed (11:23) the group launches
// it as a wave of new targets that an as-was NLB puts in service before
// their state has propagated (each one's setup work, EC2's NetWorkPerLaunch,
// also loads Network Manager). Nothing here knows about the incident.
type fleet struct {
	w       world
	tr      *tracker
	cal     Calibration
	start   time.Time
	initial int

	mu       sync.Mutex
	have     int
	attempts map[string]int // outcome code -> count
}

func newFleet(w world, tr *tracker, cal Calibration, start time.Time) *fleet {
	return &fleet{w: w, tr: tr, cal: cal, start: start, initial: cal.FleetPerAZ * len(harness.AZs), attempts: map[string]int{}}
}

// launchSteady launches the steady-state fleet, waits (wall) until Network
// Manager has propagated it, and only then registers it with the NLB, so
// the NLB starts healthy.
func (f *fleet) launchSteady(ctx context.Context, rw *realWorld) error {
	var ins []launched
	for range f.initial {
		// The stack has just started: a launch may meet a DWFM host whose
		// lease table is not ready yet. Retry a few times (wall bounded).
		var in launched
		var code string
		var err error
		for try := 0; try < 40; try++ {
			if in, code, err = f.w.launch(ctx, "fleet"); err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(50 * time.Millisecond) // a retry's pause, not synchronisation
		}
		if err != nil {
			return fmt.Errorf("steady-state fleet: launch: %s: %w", code, err)
		}
		ins = append(ins, in)
	}
	f.mu.Lock()
	f.have = len(ins)
	f.mu.Unlock()
	nm := netmgr.NewClient(rw.stack.Endpoints().NetMgrAPI, rw.stack.Clock(), nil)
	deadline := time.Now().Add(20 * time.Second)
	for _, in := range ins {
		for {
			st, err := nm.Instance(ctx, in.ID)
			if err == nil && st.Propagated {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("steady-state fleet: %s not propagated after 20s", in.ID)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond): // polling a service, not synchronisation
			}
		}
	}
	// the steady state is an idle Network Manager: wait until EC2 has posted
	// the fleet's setup work and Network Manager has done it
	for {
		var ec struct {
			Propagated int `json:"propagated"`
			SetupOwed  int `json:"setupOwed"`
		}
		q, err := nm.Queue(ctx)
		if err == nil && q.Depth == 0 && getJSON(ctx, rw.stack.Endpoints().Admin[harness.EC2Svc]+"/admin/state", &ec) == nil &&
			ec.Propagated >= len(ins) && ec.SetupOwed == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("steady-state fleet: Network Manager not idle after 20s (depth %d)", q.Depth)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling a service, not synchronisation
		}
	}
	// targets that have been connected for long
	if err := f.w.register(ctx, ins...); err != nil {
		return fmt.Errorf("steady-state fleet: %w", err)
	}
	return nil
}

// run launches what the group lacks every incident minute until ctx ends.
func (f *fleet) run(ctx context.Context) {
	clock := f.w.Clock()
	everyTick(ctx, clock, FleetPeriod, func() { f.tick(ctx, clock.Now()) })
}

// everyTick calls fn at every tick of period on clock until ctx ends (the
// real backends' loops; the sim schedules the same calls with Stack.Every).
func everyTick(ctx context.Context, clock kit.Clock, period time.Duration, fn func()) {
	t := clock.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		fn()
	}
}

// FleetPeriod is how often the group evaluates its desired capacity.
const FleetPeriod = time.Minute

// tick is one evaluation of the group at now: it launches what it lacks,
// at most LaunchAttemptsPerMinute instances, and stops at the first refusal.
func (f *fleet) tick(ctx context.Context, now time.Time) {
	desired := f.desired(now)
	f.mu.Lock()
	deficit := desired - f.have
	f.mu.Unlock()
	for i := 0; i < min(deficit, f.cal.LaunchAttemptsPerMinute); i++ {
		in, code, err := f.w.launch(ctx, "fleet")
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		if err != nil {
			f.attempts[code]++
			f.mu.Unlock()
			break // the group backs off until its next evaluation
		}
		f.attempts["ok"]++
		f.have++
		f.mu.Unlock()
		f.tr.add(in.ID, now)
		_ = f.w.register(ctx, in)
	}
}

// desired is the group's desired capacity at now: the night's growth, plus
// the growth of the first business morning after the start.
func (f *fleet) desired(now time.Time) int {
	n := f.initial + int(now.Sub(f.start)/f.cal.DemandEvery)
	if f.cal.MorningDemandEvery > 0 {
		s := f.start.In(pdt)
		from := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, pdt).Add(f.cal.MorningFrom)
		if !from.After(f.start) {
			from = from.AddDate(0, 0, 1)
		}
		until := from.Add(f.cal.MorningUntil - f.cal.MorningFrom)
		if now.After(until) {
			now = until
		}
		if now.After(from) {
			n += int(now.Sub(from) / f.cal.MorningDemandEvery)
		}
	}
	return n
}

// FleetStats is what the customer's group saw.
type FleetStats struct {
	Instances int            `json:"instances"`
	Attempts  map[string]int `json:"attempts"`
}

func (f *fleet) stats() FleetStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := make(map[string]int, len(f.attempts))
	for k, v := range f.attempts {
		a[k] = v
	}
	return FleetStats{Instances: f.have, Attempts: a}
}

// HandOffStats is what DWFM handed Network Manager, read from the services
// at the end of the replay: each DWFM host's lease writes and the
// "droplet-relet" work they owed (GET /admin/state), and what Network
// Manager admitted and refused overall (GET /v1/queue).
type HandOffStats struct {
	LeaseWrites uint64 `json:"lease_writes"`
	Posted      uint64 `json:"posted"`
	Refused     uint64 `json:"refused"`
	Owed        int    `json:"owed"`
	Dropped     uint64 `json:"dropped"`
	// NetMgrAdmitted and NetMgrRejected are Network Manager's own counters
	// (instances and terminations included).
	NetMgrAdmitted int64 `json:"netmgr_admitted"`
	NetMgrRejected int64 `json:"netmgr_rejected"`
}

// handOff reads the hand-off's counters from the services.
func handOff(ctx context.Context, w world) HandOffStats {
	var out HandOffStats
	for _, in := range dwfmHosts() {
		st, err := w.dwfmState(ctx, in)
		if err != nil {
			continue
		}
		out.LeaseWrites += st.LeaseWrites
		out.Posted += st.NetWorkPosted
		out.Refused += st.NetWorkRefused
		out.Owed += st.NetWorkOwed
		out.Dropped += st.NetWorkDropped
	}
	if q, err := w.netmgrQueue(ctx); err == nil {
		out.NetMgrAdmitted, out.NetMgrRejected = q.Admitted, q.Rejected
	}
	return out
}
