package dwfm

import (
	"testing"
	"time"
)

func defaultCfg() CoreConfig { return DefaultCoreConfig("dwfm-test", "use1-az1-d", DefaultDroplets) }

// night runs the incident's shape (outage of outageLen from +30m) and then
// `after` more incident time; it returns the sim and the minutes after DNS
// was restored at which every droplet held a lease again (-1: never).
func night(t *testing.T, p Policy, outage, after time.Duration) (*sim, float64) {
	t.Helper()
	s := newSim(t, defaultCfg(), p)
	s.trace = testing.Verbose()
	s.outages = [][2]time.Duration{{outageStart, outageStart + outage}}
	s.run(outageStart+outage, nil)
	recovered := -1.0
	s.run(after, func(st Stats) {
		if recovered < 0 && st.LeasesHeld == st.Droplets {
			recovered = (s.elapsed() - outageStart - outage).Minutes()
		}
	})
	return s, recovered
}

func TestAsWasCollapsesAfterLongOutage(t *testing.T) {
	s, recovered := night(t, AsWasPolicy(), outageLen, 6*time.Hour)
	st := s.core.Stats()
	if recovered >= 0 {
		t.Fatalf("as-was recovered by itself %v min after DNS came back; want a collapse", recovered)
	}
	if st.LeasesHeld > st.Droplets/10 || st.GoodputPerMinute > 0.2 {
		t.Fatalf("6h after restore: held %d/%d, goodput %.2f/min; want near zero", st.LeasesHeld, st.Droplets, st.GoodputPerMinute)
	}
	if st.TimedOut == 0 || st.Wasted == 0 {
		t.Fatalf("timed out %d, wasted %d: the collapse should be work done past its deadline", st.TimedOut, st.Wasted)
	}
}

func TestFixedRecoversByItself(t *testing.T) {
	_, recovered := night(t, FixedPolicy(defaultCfg()), outageLen, 3*time.Hour)
	if recovered < 0 || recovered > FixedRecoveryBound.Minutes() {
		t.Fatalf("fixed: every lease back %v min after restore; want within %v", recovered, FixedRecoveryBound)
	}
	t.Logf("fixed: every lease back %.0f incident minutes after DNS was restored", recovered)
}

// An outage shorter than a check period loses no lease: the trigger of the
// collapse is lease expiry, not the outage itself.
func TestShortOutageLosesNoLease(t *testing.T) {
	s := newSim(t, defaultCfg(), AsWasPolicy())
	// a lease is lost only when two checks in a row fail within its TTL
	s.outages = [][2]time.Duration{{outageStart, outageStart + DefaultCheckPeriod - time.Minute}}
	s.run(5*time.Hour, func(st Stats) {
		if st.LeasesHeld != st.Droplets {
			t.Fatalf("at +%v held %d/%d; an outage shorter than TTL-period must lose no lease", s.elapsed(), st.LeasesHeld, st.Droplets)
		}
	})
}

// The collapse is metastable: an outage that loses a few leases leaves a
// backlog the as-was host works off; one that loses them all does not.
func TestAsWasFewLostLeasesRecover(t *testing.T) {
	s, recovered := night(t, AsWasPolicy(), DefaultCheckPeriod+4*time.Minute, 4*time.Hour)
	if s.core.Stats().Expired == 0 {
		t.Fatal("the outage lost no lease; the test needs a few")
	}
	if recovered < 0 {
		t.Fatal("as-was did not recover from an outage that lost a few leases")
	}
	t.Logf("as-was: %d leases lost, every lease back %.0f min after restore", s.core.Stats().Expired, recovered)
}

// The collapse needs a backlog larger than the workers can finish within one
// work timeout. Without duplicates the backlog is at most the fleet, so a
// fleet that fits in one timeout recovers even with the other as-was rules
// (and the full fleet does not: TestDuplicatesGrowTheBacklog).
func TestAsWasSmallFleetRecovers(t *testing.T) {
	cfg := defaultCfg()
	cfg.Droplets = cfg.Droplets[:AdmitLimitFor(cfg)]
	p := AsWasPolicy()
	p.Dedup = true
	s := newSim(t, cfg, p)
	s.outages = [][2]time.Duration{{outageStart, restoredAt}}
	s.run(restoredAt+90*time.Minute, nil)
	if st := s.core.Stats(); st.LeasesHeld != st.Droplets {
		t.Fatalf("fleet of %d: held %d 90 min after restore; want all", st.Droplets, st.LeasesHeld)
	}
}

// Without de-duplication every check of an unleased droplet adds work, so
// the backlog outgrows the fleet; de-duplication bounds it by the fleet, and
// the host still collapses: losing every lease at once is enough.
func TestDuplicatesGrowTheBacklog(t *testing.T) {
	asWas, _ := night(t, AsWasPolicy(), outageLen, 2*time.Hour)
	p := AsWasPolicy()
	p.Dedup = true
	dedup, recovered := night(t, p, outageLen, 2*time.Hour)
	a, d := asWas.core.Stats(), dedup.core.Stats()
	if a.QueueDepth <= 2*a.Droplets {
		t.Fatalf("as-was backlog %d: want it to outgrow the fleet of %d", a.QueueDepth, a.Droplets)
	}
	if d.QueueDepth > d.Droplets {
		t.Fatalf("de-duplicated backlog %d exceeds the fleet of %d", d.QueueDepth, d.Droplets)
	}
	if recovered >= 0 || d.LeasesHeld > d.Droplets/10 {
		t.Fatalf("de-duplicated as-was recovered (held %d): the collapse should not need duplicates", d.LeasesHeld)
	}
}

// Each as-was rule is needed for the collapse: switch one off and the host
// recovers by itself from the same night.
func TestCollapseNeedsEachRule(t *testing.T) {
	cfg := defaultCfg()
	for _, tc := range []struct {
		name string
		mod  func(p *Policy)
	}{
		{"no re-queue", func(p *Policy) { p.Requeue = false }},
		{"expired work dropped", func(p *Policy) { p.DoExpired = false }},
		{"admission by queue size", func(p *Policy) { p.AdmitLimit = AdmitLimitFor(cfg) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := AsWasPolicy()
			tc.mod(&p)
			_, recovered := night(t, p, outageLen, 6*time.Hour)
			if recovered < 0 {
				t.Fatalf("as-was with %s still collapsed 6h after restore", tc.name)
			}
			t.Logf("as-was with %s: every lease back %.0f min after restore", tc.name, recovered)
		})
	}
}

// operatorNight collapses an as-was host, then at the incident's 4:14
// (109 minutes after DNS came back) applies the operator's actions; it
// returns the minutes from the actions until every droplet held a lease.
func operatorNight(t *testing.T, throttle float64, restart bool) (*sim, float64) {
	t.Helper()
	s, _ := night(t, AsWasPolicy(), outageLen, OperatorActionDelay)
	if st := s.core.Stats(); st.LeasesHeld > st.Droplets/10 {
		t.Fatalf("not collapsed before the operators act: held %d", st.LeasesHeld)
	}
	if throttle > 0 {
		s.core.SetIntake(throttle)
	}
	if restart {
		s.core.Restart()
	}
	back := -1.0
	from := s.elapsed()
	s.run(4*time.Hour, func(st Stats) {
		if back < 0 && st.LeasesHeld == st.Droplets {
			back = (s.elapsed() - from).Minutes()
		}
	})
	return s, back
}

func TestThrottleAndRestartRecover(t *testing.T) {
	_, back := operatorNight(t, OperatorThrottlePerMinute, true)
	if back < 0 {
		t.Fatal("throttle and restart did not bring every lease back within 4h")
	}
	// the real night: 4:14 -> 5:28, 74 minutes
	if back < 30 || back > 120 {
		t.Fatalf("every lease back %.0f min after throttle+restart; want the real night's order (74 min)", back)
	}
	t.Logf("throttle %.2f/min + restart: every lease back %.0f min later", OperatorThrottlePerMinute, back)
}

func TestRestartAloneCollapsesAgain(t *testing.T) {
	s, back := operatorNight(t, 0, true)
	if back >= 0 {
		t.Fatalf("a restart without throttle recovered (%.0f min); want the boot's burst to collapse again", back)
	}
	t.Logf("restart alone: held %d/%d 4h later", s.core.Stats().LeasesHeld, s.core.Stats().Droplets)
}

func TestThrottleAloneDoesNotRecover(t *testing.T) {
	_, back := operatorNight(t, OperatorThrottlePerMinute, false)
	if back >= 0 {
		t.Fatalf("throttling intake alone recovered (%.0f min); the re-queued backlog should keep it collapsed", back)
	}
}
