package sts

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// fleet is a Capacity a test sets, standing in for the NLB's healthy targets.
type fleet struct{ healthy, total int }

func (f *fleet) Healthy() (int, int) { return f.healthy, f.total }

func newCore(t *testing.T, cfg CoreConfig) (*Core, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, err := NewCore(cfg, clock, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

var errDNS = errors.New("lookup dynamodb.us-east-1.amazonaws.com: no such host")

// The DynamoDB impact: as-was, once the fresh TTL has passed every read
// goes to the store, so the outage fails AssumeRole from its first minute
// to its last, and the first read after it succeeds again.
func TestAsWasFailsWhileStoreIsDown(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	if _, err := c.Read(DefaultRole.Key, DefaultRole, true, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Cached(DefaultRole.Key); !ok {
		t.Fatal("a record just read is not served from the cache")
	}
	clock.Advance(c.Config().FreshTTL)
	if _, ok := c.Cached(DefaultRole.Key); ok {
		t.Fatal("a record older than FreshTTL is still fresh")
	}
	for range 88 { // 23:51-01:19: one read a minute, all failing
		if _, err := c.Read(DefaultRole.Key, Record{}, false, errDNS); !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("read during the outage: %v, want ErrStoreUnavailable", err)
		}
		clock.Advance(time.Minute)
	}
	if r, err := c.Read(DefaultRole.Key, DefaultRole, true, nil); err != nil || r != DefaultRole {
		t.Fatalf("first read after the outage: %v %v", r, err)
	}
}

// Fixed: a record read before the outage keeps being served while the
// store is unreadable, for MaxStale and not a moment longer.
func TestFixedServesStaleUpToMaxStale(t *testing.T) {
	c, clock := newCore(t, CoreConfig{Mode: kit.Fixed, MaxStale: 2 * time.Hour})
	if _, err := c.Read(DefaultRole.Key, DefaultRole, true, nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2*time.Hour - time.Second)
	if r, err := c.Read(DefaultRole.Key, Record{}, false, errDNS); err != nil || r != DefaultRole {
		t.Fatalf("stale read within MaxStale: %v %v, want the cached role", r, err)
	}
	clock.Advance(time.Second)
	if _, err := c.Read(DefaultRole.Key, Record{}, false, errDNS); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("stale read at MaxStale: %v, want ErrStoreUnavailable", err)
	}
	if _, err := c.Read("arn:aws:iam::123456789012:role/never-read", Record{}, false, errDNS); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("a role never read before the outage: %v, want ErrStoreUnavailable", err)
	}
}

// A deleted principal is forgotten, so a later outage does not serve it.
func TestNotFoundEvictsTheCache(t *testing.T) {
	c, _ := newCore(t, CoreConfig{Mode: kit.Fixed})
	_, _ = c.Read(DefaultRole.Key, DefaultRole, true, nil)
	if _, err := c.Read(DefaultRole.Key, Record{}, false, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("not found: %v", err)
	}
	if _, err := c.Read(DefaultRole.Key, Record{}, false, errDNS); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("outage after deletion served %v, want ErrStoreUnavailable", err)
	}
}

// The NLB impact: admission follows the healthy host count the load
// balancer reports, second by second, and comes back with it.
func TestAdmissionFollowsHealthyCapacity(t *testing.T) {
	f := &fleet{healthy: 4, total: 4}
	c, clock := newCore(t, CoreConfig{Capacity: f, PerHostPerSecond: 10})
	admitted := func() int { return admitSpread(c, clock, 100, 0, time.Second) }
	if n := admitted(); n != 40 {
		t.Fatalf("4 healthy hosts admitted %d of 100 in a second, want 40", n)
	}
	f.healthy = 1
	if n := admitted(); n != 10 {
		t.Fatalf("1 healthy host admitted %d, want 10", n)
	}
	if err := c.Admit(); err != nil {
		t.Fatalf("first request of a new second: %v", err)
	}
	for range 9 {
		_ = c.Admit()
	}
	if err := c.Admit(); !errors.Is(err, ErrThrottled) {
		t.Fatalf("over capacity: %v, want ErrThrottled", err)
	}
	f.healthy = 0
	if err := c.Admit(); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("no healthy host: %v, want ErrNoCapacity", err)
	}
	clock.Advance(time.Second)
	f.healthy = 4
	if n := admitted(); n != 40 {
		t.Fatalf("after recovery admitted %d, want 40", n)
	}
}

func TestAssumeRoleIssuesAndExpires(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	s, err := c.AssumeRole(DefaultRole, "app-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.AccessKeyID, "ASIA") || len(s.AccessKeyID) != 20 || s.ARN != "arn:aws:sts::123456789012:assumed-role/cascade-app/app-1" ||
		s.UserID != DefaultRole.ID+":app-1" || !s.Expiration.Equal(kit.IncidentStart.Add(time.Hour)) {
		t.Fatalf("session %+v", s)
	}
	if _, ok := c.Session(s.AccessKeyID); !ok {
		t.Fatal("issued session unknown")
	}
	clock.Advance(time.Hour)
	if _, ok := c.Session(s.AccessKeyID); ok {
		t.Fatal("expired session still known")
	}
	for _, bad := range []struct {
		name string
		d    time.Duration
	}{{"x", 0}, {"has space", 0}, {strings.Repeat("a", 65), 0}, {"ok-name", 899 * time.Second}, {"ok-name", 43201 * time.Second}} {
		if _, err := c.AssumeRole(DefaultRole, bad.name, bad.d); !errors.Is(err, ErrInvalid) {
			t.Errorf("AssumeRole(%q, %v): %v, want ErrInvalid", bad.name, bad.d, err)
		}
	}
	if _, err := c.GetSessionToken(DefaultUser, 36*time.Hour+time.Second); !errors.Is(err, ErrInvalid) {
		t.Errorf("GetSessionToken over 36h: %v", err)
	}
	g, err := c.GetSessionToken(DefaultUser, 0)
	if err != nil || g.ARN != DefaultUser.ARN || !g.Expiration.Equal(clock.Now().Add(12*time.Hour)) {
		t.Fatalf("session token %+v %v", g, err)
	}
}

func TestConfigRejectsNonsense(t *testing.T) {
	for _, cfg := range []CoreConfig{{Mode: "later"}, {Hosts: -1}, {PerHostPerSecond: -1}, {AdmitWindow: -time.Second}, {MaxStale: -time.Second}} {
		if _, err := NewCore(cfg, clockwork.NewFakeClock(), rand.New(rand.NewSource(1))); err == nil {
			t.Errorf("NewCore(%+v) accepted", cfg)
		}
	}
}

// A rescaled fleet: one request per healthy host per incident minute,
// counted per minute, admits as the per-second fleet does at 1/60 of the
// rate, whenever in the minute the requests come.
func TestAdmitWindowRescalesTheFleet(t *testing.T) {
	f := &fleet{healthy: 6, total: 6}
	c, clock := newCore(t, CoreConfig{Capacity: f, PerHostPerSecond: 1.0 / 60, AdmitWindow: time.Minute})
	minute := func() int { return admitSpread(c, clock, 4, 15*time.Second, 0) }
	if n := minute(); n != 4 {
		t.Fatalf("6 healthy hosts admitted %d of 4 a minute, want 4", n)
	}
	f.healthy = 3
	if n := minute(); n != 3 {
		t.Fatalf("3 healthy hosts admitted %d of 4 a minute, want 3", n)
	}
	if got := c.WindowCapacity(6); got != 6 {
		t.Fatalf("window capacity of 6 hosts %d, want 6 (1/60 a second over 60 s, rounded)", got)
	}
}

// admitSpread asks for n admissions, every apart, then advances after; it
// returns how many were admitted.
func admitSpread(c *Core, clock *clockwork.FakeClock, n int, every, after time.Duration) int {
	ok := 0
	for range n {
		if c.Admit() == nil {
			ok++
		}
		clock.Advance(every)
	}
	clock.Advance(after)
	return ok
}
