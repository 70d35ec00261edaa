package dwfm

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
)

// handOffCfg is the default host with a hand-off of n items per write.
func handOffCfg(n int) CoreConfig {
	cfg := defaultCfg()
	cfg.NetWorkPerWrite = n
	return cfg
}

// Every lease write a worker performs owes NetWorkPerWrite items; one post
// is in flight at a time; what was admitted is done.
func TestHandOffOwesWorkPerLeaseWrite(t *testing.T) {
	cfg := handOffCfg(10)
	cfg.Droplets = DropletIDs("d", 4)
	s := newSim(t, cfg, AsWasPolicy())
	s.core.Restart() // every droplet re-leased
	s.run(30*time.Minute, nil)
	st := s.core.Stats()
	if st.LeasesHeld != 4 || st.LeaseWrites != 4 || st.NetWorkOwed != 40 {
		t.Fatalf("after re-leasing 4 droplets: held %d, writes %d, owed %d; want 4, 4, 40", st.LeasesHeld, st.LeaseWrites, st.NetWorkOwed)
	}
	n := s.core.TakeNetWork()
	if n != 40 || s.core.TakeNetWork() != 0 {
		t.Fatalf("take: %d then another; want 40 then 0 while the post is in flight", n)
	}
	s.core.NetWorkDone(40)
	st = s.core.Stats()
	if st.NetWorkPosted != 40 || st.NetWorkOwed != 0 || st.NetWorkRefused != 0 {
		t.Fatalf("after a full admission: %+v", st)
	}
}

// Work admission control refused is owed again and posted after a backoff
// that doubles up to its ceiling; a full admission resets it.
func TestHandOffRefusedWorkBacksOff(t *testing.T) {
	cfg := handOffCfg(10)
	cfg.Droplets = DropletIDs("d", 2)
	cfg.NetBackoffBase, cfg.NetBackoffMax = time.Minute, 4*time.Minute
	s := newSim(t, cfg, AsWasPolicy())
	s.core.Restart()
	s.run(20*time.Minute, nil)
	if n := s.core.TakeNetWork(); n != 20 {
		t.Fatalf("owed %d; want 20", n)
	}
	s.core.NetWorkDone(5)
	wantWait := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	for i, wait := range wantWait {
		s.clock.Advance(wait - time.Second)
		if n := s.core.TakeNetWork(); n != 0 {
			t.Fatalf("retry %d: %d items taken %v before its backoff of %v ended", i, n, time.Second, wait)
		}
		s.clock.Advance(time.Second)
		if n := s.core.TakeNetWork(); n != 15 {
			t.Fatalf("retry %d after %v: took %d; want the 15 refused", i, wait, n)
		}
		s.core.NetWorkDone(0)
	}
	s.clock.Advance(4 * time.Minute)
	if n := s.core.TakeNetWork(); n != 15 {
		t.Fatalf("took %d; want 15", n)
	}
	s.core.NetWorkDone(15)
	st := s.core.Stats()
	if st.NetWorkPosted != 20 || st.NetWorkRefused != 15+4*15 || st.NetWorkOwed != 0 {
		t.Fatalf("posted %d refused %d owed %d; want 20, 75, 0", st.NetWorkPosted, st.NetWorkRefused, st.NetWorkOwed)
	}
	// the next shortfall starts from the base again
	s.core.Restart()
	s.run(20*time.Minute, nil)
	s.core.NetWorkDone(0) // nothing in flight: ignored
	if n := s.core.TakeNetWork(); n != 20 {
		t.Fatalf("after the restart: took %d; want 20", n)
	}
	s.core.NetWorkDone(0)
	s.clock.Advance(time.Minute)
	if n := s.core.TakeNetWork(); n != 20 {
		t.Fatalf("a new shortfall backs off from the base: took %d after 1 min; want 20", n)
	}
}

// As-was, a worker still writes leases after their deadline: the collapse
// writes far more leases than it establishes, and each write owes work.
func TestHandOffCountsLateWrites(t *testing.T) {
	s := newSim(t, handOffCfg(40), AsWasPolicy())
	s.outages = [][2]time.Duration{{outageStart, restoredAt}}
	s.run(restoredAt+OperatorActionDelay, nil)
	st := s.core.Stats()
	if st.LeaseWrites < 3*st.Established || st.NetWorkOwed != 40*int(st.LeaseWrites) {
		t.Fatalf("collapsed night: %d writes, %d established, owed %d; want writes >> established and 40 items per write",
			st.LeaseWrites, st.Established, st.NetWorkOwed)
	}
}

// handOffNight is the as-was night of three hosts (the stack's three AZs),
// with the operators' throttle and restarts, each host handing its lease
// writes' work to one Network Manager core on the same fake clock (rate 80
// items/min, the replay's). It returns the longest head wait Network
// Manager's queue reached and its final stats.
func handOffNight(t *testing.T, perWrite int, nmMode kit.Mode) (time.Duration, netmgr.Stats, []Stats) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	nm, err := netmgr.NewCore(netmgr.CoreConfig{Mode: nmMode, RatePerMinute: 80, QueueLimit: 300}, clock, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	var sims []*sim
	for i := range 3 {
		s := newSim(t, handOffCfg(perWrite), AsWasPolicy())
		s.clock = clock
		s.start = clock.Now()
		core, err := NewCore(handOffCfg(perWrite), AsWasPolicy(), clock, rand.New(rand.NewSource(int64(7+i))), kit.NewEvents("dwfm", clock, nil))
		if err != nil {
			t.Fatal(err)
		}
		s.core = core
		s.outages = [][2]time.Duration{{outageStart, restoredAt}}
		sims = append(sims, s)
	}
	var worst time.Duration
	minute := func() {
		clock.Advance(10 * time.Second)
		for _, s := range sims {
			for _, op := range s.core.Tick() {
				s.core.OpDone(op.ID, s.table.do(clock.Now(), op))
			}
			if n := s.core.TakeNetWork(); n > 0 {
				admitted, _ := nm.AddWork(NetWorkKind, n)
				s.core.NetWorkDone(admitted)
			}
		}
		nm.Tick(clock.Now())
		worst = max(worst, nm.Stats().HeadWait)
	}
	for el := time.Duration(0); el < 12*time.Hour; el += 10 * time.Second {
		if el == restoredAt+OperatorActionDelay {
			for _, s := range sims {
				s.core.SetIntake(OperatorThrottlePerMinute)
				s.core.Restart()
			}
		}
		minute()
	}
	var sts []Stats
	for _, s := range sims {
		sts = append(sts, s.core.Stats())
	}
	return worst, nm.Stats(), sts
}

// The Network Manager backlog is DWFM's hand-off: with it, the as-was night
// leaves Network Manager hours behind; without it (no work per lease
// write) the same night leaves no backlog at all. Fixed Network Manager
// bounds the queue and DWFM re-posts what it refused until all of it is in.
func TestNetMgrBacklogNeedsTheHandOff(t *testing.T) {
	worst, nm, hosts := handOffNight(t, DefaultNetWorkPerWrite, kit.AsWas)
	for i, st := range hosts {
		if st.LeasesHeld != st.Droplets {
			t.Fatalf("host %d did not recover: %+v", i, st)
		}
	}
	if worst < 2*time.Hour {
		t.Fatalf("with the hand-off Network Manager's head wait peaked at %v; want hours", worst)
	}
	t.Logf("hand-off: head wait peaked at %v, %d items admitted", worst, nm.Admitted)

	worst, nm, _ = handOffNight(t, 0, kit.AsWas)
	if worst != 0 || nm.Admitted != 0 {
		t.Fatalf("without the hand-off: head wait %v, %d items; want no backlog", worst, nm.Admitted)
	}

	worst, nm, hosts = handOffNight(t, DefaultNetWorkPerWrite, kit.Fixed)
	var refused uint64
	owed := 0
	for _, st := range hosts {
		refused += st.NetWorkRefused
		owed += st.NetWorkOwed
	}
	if refused == 0 || owed != 0 || nm.Depth != 0 {
		t.Fatalf("fixed Network Manager: %d refused, %d still owed, depth %d; want refusals, all posted in the end", refused, owed, nm.Depth)
	}
	if bound := time.Duration(float64(300) / 80 * float64(time.Minute)); worst > bound+time.Minute {
		t.Fatalf("fixed Network Manager: head wait peaked at %v; want at most the queue limit's %v", worst, bound)
	}
}

// A host with a Network Manager posts its re-lease work over HTTP; fixed
// Network Manager refuses what is over its queue limit, the host owes it and
// posts it again once the queue has room.
func TestServerPostsReleaseWorkToNetMgr(t *testing.T) {
	nmClock := clockwork.NewFakeClockAt(kit.IncidentStart) // Network Manager's worker runs only when the test says
	nm, err := netmgr.New(netmgr.Config{CoreConfig: netmgr.CoreConfig{Mode: kit.Fixed, QueueLimit: 25, RatePerMinute: 100}}, kit.NewEnv("netmgr", nmClock, nil, 5))
	if err != nil {
		t.Fatal(err)
	}
	if err := nm.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nm.Close() })

	r := newServerRig(t, kit.AsWas)
	r.cfg.NetMgrURL = nm.URL()
	r.cfg.NetWorkPerWrite = 10
	r.start("dwfm-test")
	r.run(5 * time.Minute)
	r.srv.Restart() // four re-leases: 40 items owed
	r.run(30 * time.Minute)
	st := r.srv.State()
	if st.LeaseWrites != 4 || st.NetWorkPosted != 25 || st.NetWorkOwed != 15 || st.NetWorkRefused == 0 {
		t.Fatalf("with the queue at its limit: %+v; want 4 writes, 25 posted, 15 owed after refusals", st.Stats)
	}
	if q := nm.Stats(); q.Depth != 25 || q.Rejected == 0 {
		t.Fatalf("Network Manager: %+v; want 25 waiting and refusals", q)
	}
	nmClock.Advance(time.Minute) // the worker drains the queue
	gomega.NewWithT(t).Eventually(nm.Stats).WithTimeout(5*time.Second).WithPolling(time.Millisecond).
		Should(gomega.HaveField("Depth", gomega.BeZero()), "Network Manager did not drain")
	r.run(20 * time.Minute) // past the backoff ceiling of 16 min
	if st := r.srv.State(); st.NetWorkPosted != 40 || st.NetWorkOwed != 0 {
		t.Fatalf("after the queue drained: %+v; want all 40 posted", st.Stats)
	}
}
