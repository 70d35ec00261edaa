package ec2

import (
	"testing"
	"time"
)

// Each connected instance owes its setup work; one post is in flight at a
// time; a refused remainder is posted again after a doubling backoff, and a
// full admission resets it.
func TestCoreSetupWorkOwedAndBackedOff(t *testing.T) {
	c, clock := newTestCore(CoreConfig{SetupWork: 40, SetupBackoff: time.Minute})
	if n := c.TakeSetup(); n != 0 {
		t.Fatalf("nothing connected yet: took %d", n)
	}
	c.Connected(3)
	n := c.TakeSetup()
	if n != 120 || c.TakeSetup() != 0 {
		t.Fatalf("took %d then more while in flight; want 120 then 0", n)
	}
	c.SetupDone(100) // admission control took 100
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		clock.Advance(wait - time.Second)
		if n := c.TakeSetup(); n != 0 {
			t.Fatalf("retry %d: took %d before its backoff of %v ended", i, n, wait)
		}
		clock.Advance(time.Second)
		if n := c.TakeSetup(); n != 20 {
			t.Fatalf("retry %d: took %d; want the 20 refused", i, n)
		}
		c.SetupDone(0)
	}
	clock.Advance(8 * time.Minute)
	c.Connected(1) // joins what is owed
	if n := c.TakeSetup(); n != 60 {
		t.Fatalf("took %d; want 60", n)
	}
	c.SetupDone(60)
	owed, posted, refused := c.SetupStats()
	if owed != 0 || posted != 160 || refused != 20+3*20 {
		t.Fatalf("owed %d posted %d refused %d; want 0, 160, 80", owed, posted, refused)
	}
	c.Connected(1)
	c.SetupDone(0) // nothing in flight: a stray result changes nothing
	if n := c.TakeSetup(); n != 40 {
		t.Fatalf("after a full admission the next post goes at once: took %d", n)
	}
}

// Without setup work configured, connecting instances owes nothing.
func TestCoreNoSetupWork(t *testing.T) {
	c, _ := newTestCore(CoreConfig{})
	c.Connected(5)
	if n := c.TakeSetup(); n != 0 {
		t.Fatalf("took %d; want 0", n)
	}
}
