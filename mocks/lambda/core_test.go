package lambda

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// leaseTable stands in for the DynamoDB lease table with the transport's
// conditions: acquire sets owner if the record is unowned or the caller's
// (fixed: or expired); renew needs the caller to own it; release clears it.
// down makes every call fail, as an unresolvable endpoint does.
type leaseTable struct {
	owner   map[string]string
	expires map[string]time.Time
	down    bool
}

func (t *leaseTable) do(op Op) OpResult {
	if op.Kind == OpPoll {
		return OpResult{Processed: 1}
	}
	if t.down {
		return OpResult{Err: errors.New("dial tcp: lookup dynamodb.us-east-1.amazonaws.com: no such host")}
	}
	cur := t.owner[op.Mapping]
	switch op.Kind {
	case OpAcquire:
		if cur != "" && cur != op.Worker && !(op.ExpiryCheck && t.expires[op.Mapping].Before(op.Now)) {
			return OpResult{Conflict: true}
		}
		t.owner[op.Mapping], t.expires[op.Mapping] = op.Worker, op.Expires
	case OpRenew:
		if cur != op.Worker {
			return OpResult{Conflict: true}
		}
		t.expires[op.Mapping] = op.Expires
	case OpRelease:
		delete(t.owner, op.Mapping)
	}
	return OpResult{}
}

type pollerRig struct {
	t     *testing.T
	clock *clockwork.FakeClock
	core  *Core
	table *leaseTable
	id    string
	kinds []string
}

func newPollerRig(t *testing.T, mode kit.Mode) *pollerRig {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	core, err := NewCore(CoreConfig{Mode: mode}, clock, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	r := &pollerRig{t: t, clock: clock, core: core, table: &leaseTable{owner: map[string]string{}, expires: map[string]time.Time{}}}
	f, err := core.PrepareCreate(FunctionSpec{FunctionName: "fn", Role: strp("arn:aws:iam::000000000000:role/r"), ZipFile: []byte("zip")})
	if err != nil {
		t.Fatal(err)
	}
	core.Put(f)
	m, err := core.PrepareMapping("fn", "arn:aws:sqs:us-east-1:000000000000:q", 10, true)
	if err != nil {
		t.Fatal(err)
	}
	core.AddMapping(m)
	r.id = m.UUID
	return r
}

func strp(s string) *string { return &s }

// run steps the pollers every 10 incident seconds for d, performing each
// op at once against the lease table.
func (r *pollerRig) run(d time.Duration) {
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); r.clock.Advance(10 * time.Second) {
		for _, op := range r.core.Tick(r.clock.Now()) {
			if k := r.core.Done(op, r.table.do(op)); k != "" {
				r.kinds = append(r.kinds, k)
			}
		}
	}
}

// processing reports whether the mapping's batches go on over d.
func (r *pollerRig) processing(d time.Duration) bool {
	before := r.core.Pollers()[0].Processed
	r.run(d)
	return r.core.Pollers()[0].Processed > before
}

// As-was, a DynamoDB outage longer than the renewal interval leaves the
// lease record claimed by a worker that died when its renewal failed; the
// other worker's acquire, which does not look at expiry, is refused for
// ever after DynamoDB is back. Only the operator's restart (which releases
// the record) gets the mapping processing again.
func TestPollerWedgesAsWasUntilOperatorRestart(t *testing.T) {
	r := newPollerRig(t, kit.AsWas)
	if !r.processing(5 * time.Minute) {
		t.Fatal("no batches processed in the steady state")
	}
	owner := r.core.Pollers()[0].Owner
	r.table.down = true
	r.run(10 * time.Minute)
	r.table.down = false
	ps := r.core.Pollers()[0]
	if ps.Workers[owner] != "dead" || ps.Owner != "" {
		t.Fatalf("after the outage: %+v, want %s dead and no owner", ps, owner)
	}
	if r.table.owner[r.id] != owner {
		t.Fatalf("lease record names %q, want the dead %q", r.table.owner[r.id], owner)
	}
	if r.processing(6 * time.Hour) {
		t.Fatal("as-was pollers recovered by themselves")
	}
	r.core.RestartPollers()
	if !r.processing(5 * time.Minute) {
		t.Fatalf("no batches after the operator's restart: %+v", r.core.Pollers())
	}
}

// The operator's release waits for DynamoDB: a restart during the outage
// takes effect once the table answers.
func TestOperatorRestartDuringOutageRetries(t *testing.T) {
	r := newPollerRig(t, kit.AsWas)
	r.run(5 * time.Minute)
	r.table.down = true
	r.run(10 * time.Minute)
	r.core.RestartPollers()
	r.run(10 * time.Minute)
	if !r.core.Pollers()[0].Releasing {
		t.Fatal("release forgotten while DynamoDB was down")
	}
	r.table.down = false
	if !r.processing(5 * time.Minute) {
		t.Fatalf("no batches once DynamoDB answered: %+v", r.core.Pollers())
	}
}

// Fixed, the worker whose renewal failed goes back to acquiring, and an
// acquire takes a lease whose expiry has passed: the mapping recovers
// within a lease TTL of DynamoDB's return, with no operator.
func TestPollerRecoversByItselfFixed(t *testing.T) {
	r := newPollerRig(t, kit.Fixed)
	r.run(5 * time.Minute)
	r.table.down = true
	r.run(10 * time.Minute)
	if r.processing(0) {
		t.Fatal("processing while DynamoDB is down")
	}
	r.table.down = false
	if !r.processing(r.core.Config().LeaseTTL + time.Minute) {
		t.Fatalf("fixed pollers did not recover: %+v", r.core.Pollers())
	}
}

// A short outage (shorter than the renewal interval) wedges nothing even
// as-was: the wedge needs a failed renewal, not a flag.
func TestShortOutageDoesNotWedge(t *testing.T) {
	r := newPollerRig(t, kit.AsWas)
	r.run(5*time.Minute + 20*time.Second) // just after a renewal
	r.table.down = true
	r.run(30 * time.Second)
	r.table.down = false
	if !r.processing(10 * time.Minute) {
		t.Fatalf("a 30 s outage wedged the pollers: %+v", r.core.Pollers())
	}
}

// Invocations are admitted at a rate proportional to the fleet capacity
// Lambda can reach, and throttled beyond it.
func TestThrottlingFollowsCapacity(t *testing.T) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	core, err := NewCore(CoreConfig{InvokeRatePerSecond: 100, BurstSeconds: 1}, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := core.PrepareCreate(FunctionSpec{FunctionName: "fn", Role: strp("arn:aws:iam::000000000000:role/r"), ZipFile: []byte("z")})
	core.Put(f)
	served := func(capacity float64) int {
		n := 0
		for range 10 {
			clock.Advance(time.Second)
			for range 200 {
				if _, err := core.Invoke("fn", []byte(`{}`), capacity); err == nil {
					n++
				} else if !errors.Is(err, ErrThrottled) {
					t.Fatal(err)
				}
			}
		}
		return n
	}
	full, half, none := served(1), served(0.5), served(0)
	if full < 990 || full > 1100 {
		t.Errorf("full capacity served %d of 2000 in 10 s, want about 1000", full)
	}
	if half < 480 || half > 560 {
		t.Errorf("half capacity served %d, want about 500", half)
	}
	if none != 0 {
		t.Errorf("no capacity served %d", none)
	}
	if back := served(1); back < 990 {
		t.Errorf("capacity restored served %d", back)
	}
}

func TestInvokeAndControlPlaneErrors(t *testing.T) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	core, _ := NewCore(CoreConfig{}, clock, nil)
	role := strp("arn:aws:iam::000000000000:role/r")
	for name, err := range map[string]error{
		"bad name":    err2(core.PrepareCreate(FunctionSpec{FunctionName: "a b", Role: role, ZipFile: []byte("z")})),
		"no code":     err2(core.PrepareCreate(FunctionSpec{FunctionName: "a", Role: role})),
		"no role":     err2(core.PrepareCreate(FunctionSpec{FunctionName: "a", ZipFile: []byte("z")})),
		"timeout":     err2(core.PrepareCreate(FunctionSpec{FunctionName: "a", Role: role, ZipFile: []byte("z"), Timeout: new(901)})),
		"update none": err2(core.PrepareUpdate(FunctionSpec{FunctionName: "a"})),
		"invoke none": err2(core.Invoke("a", nil, 1)),
	} {
		if !errors.Is(err, ErrInvalidParameter) && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
	f, _ := core.PrepareCreate(FunctionSpec{FunctionName: "a", Role: role, ZipFile: []byte("z")})
	core.Put(f)
	if _, err := core.PrepareCreate(FunctionSpec{FunctionName: "a", Role: role, ZipFile: []byte("z")}); !errors.Is(err, ErrConflict) {
		t.Errorf("create twice: %v", err)
	}
	if _, err := core.Invoke("a", []byte("{"), 1); !errors.Is(err, ErrInvalidContent) {
		t.Errorf("invalid payload: %v", err)
	}
	if res, err := core.Invoke(f.FunctionArn, []byte(`{"k":1}`), 1); err != nil || string(res.Payload) != `{"k":1}` {
		t.Errorf("echo by ARN: %s %v", res.Payload, err)
	}
	if _, err := core.PrepareMapping("a", "arn:aws:kinesis:us-east-1:000000000000:stream/s", 10, true); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("kinesis source: %v", err)
	}
}

func err2[T any](_ T, err error) error { return err }
