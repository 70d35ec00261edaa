package dwfm

import (
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

type pendingOp struct {
	at   time.Time
	core int
	op   Op
}

// fleetNight runs the real night on hosts cores sharing one fake clock, each
// call completing after a uniform latency in [0, 2*lat): an outage of 157
// minutes from +30m, then (as-was) throttle and restart 109 minutes after
// the restore. It returns the minutes from the operators' action (as-was) or
// from the restore (fixed) until every droplet of every host holds a lease,
// -1 when that never happens.
func fleetNight(t *testing.T, seed int64, hosts int, lat time.Duration, throttle float64, fixed bool) (opBack, fixedBack float64) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	start := clock.Now()
	var cores []*Core
	tables := []*fakeTable{}
	up := true
	for h := 0; h < hosts; h++ {
		cfg := DefaultCoreConfig("h", "d", DefaultDroplets)
		p := AsWasPolicy()
		if fixed {
			p = FixedPolicy(cfg)
		}
		c, err := NewCore(cfg, p, clock, rand.New(rand.NewSource(seed*31+int64(h))), kit.NewEvents("x", clock, nil))
		if err != nil {
			t.Fatal(err)
		}
		cores = append(cores, c)
		tables = append(tables, &fakeTable{items: map[string]leaseItem{}, up: func(time.Time) bool { return up }})
	}
	rng := rand.New(rand.NewSource(seed))
	var pend []pendingOp
	step := 10 * time.Second
	allHeld := func() bool {
		for _, c := range cores {
			st := c.Stats()
			if st.LeasesHeld != st.Droplets {
				return false
			}
		}
		return true
	}
	advance := func(d time.Duration) {
		end := clock.Now().Add(d)
		for clock.Now().Before(end) {
			clock.Advance(step)
			now := clock.Now()
			sort.Slice(pend, func(i, j int) bool { return pend[i].at.Before(pend[j].at) })
			k := 0
			for k < len(pend) && !pend[k].at.After(now) {
				p := pend[k]
				cores[p.core].OpDone(p.op.ID, tables[p.core].do(now, p.op))
				k++
			}
			pend = pend[k:]
			for i, c := range cores {
				for _, op := range c.Tick() {
					l := time.Duration(0)
					if lat > 0 {
						l = time.Duration(rng.Int63n(int64(2 * lat)))
					}
					pend = append(pend, pendingOp{at: now.Add(l), core: i, op: op})
				}
			}
		}
	}
	advance(30 * time.Minute)
	up = false
	advance(157 * time.Minute)
	up = true
	restored := clock.Now()
	if fixed {
		for clock.Now().Sub(restored) < 4*time.Hour {
			advance(time.Minute)
			if allHeld() {
				return -1, clock.Now().Sub(restored).Minutes()
			}
		}
		return -1, -1
	}
	advance(OperatorActionDelay)
	for _, c := range cores {
		c.SetIntake(throttle)
		c.Restart()
	}
	acted := clock.Now()
	_ = start
	for clock.Now().Sub(acted) < 5*time.Hour {
		advance(time.Minute)
		if allHeld() {
			return clock.Now().Sub(acted).Minutes(), -1
		}
	}
	return -1, -1
}

// The stack's night on three hosts (the stack runs one per AZ; "every
// droplet holds a lease" waits for the slowest): throttle and restart bring
// every lease back in the order of the real night's 74 minutes, with or
// without a minute of DynamoDB latency per call; fixed recovers by itself
// well before, and its adaptive admission keeps it within the bound when
// DynamoDB is slow.
func TestThreeHostNight(t *testing.T) {
	for _, lat := range []time.Duration{0, time.Minute} {
		var op, fx []float64
		for seed := int64(1); seed <= 6; seed++ {
			b, _ := fleetNight(t, seed, 3, lat, OperatorThrottlePerMinute, false)
			_, f := fleetNight(t, seed, 3, lat, 0, true)
			op, fx = append(op, b), append(fx, f)
		}
		sort.Float64s(op)
		sort.Float64s(fx)
		t.Logf("DynamoDB latency %v: throttle %.1f/min + restart: every lease back after %v min; fixed: %v min after restore", lat, OperatorThrottlePerMinute, op, fx)
		if op[0] < 0 || op[0] < 50 || op[len(op)-1] > 150 {
			t.Errorf("latency %v: throttle+restart recovered after %v min; want every seed within 50-150 (real: 74)", lat, op)
		}
		if fx[0] < 0 || fx[len(fx)-1] > FixedRecoveryBound.Minutes()+20 {
			t.Errorf("latency %v: fixed recovered after %v min; want within %v (+20 for latency)", lat, fx, FixedRecoveryBound)
		}
	}
}
