package dnsenactor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// CoreConfig configures the run's mechanism.
type CoreConfig struct {
	Mode      kit.Mode
	Endpoints []dnsplan.Endpoint
	Zones     dnsplan.ZoneIDs
	// KeepGenerations is K: clean-up deletes generations more than K older
	// than the one just applied.
	KeepGenerations uint64
	// MaxRetries bounds the retries of one endpoint whose transaction failed.
	MaxRetries int
	// RetryBackoff is the first retry's wait (incident time); it grows linearly.
	RetryBackoff time.Duration
	// EndpointsPerBatch puts that many endpoints of one zone in one
	// transaction (1: one transaction per endpoint, as in the incident); a
	// failed batch falls back to one transaction per endpoint.
	EndpointsPerBatch int
	// ReadAhead is how many record sets one read lists, so that reading the
	// current CNAMEs of consecutive endpoints costs O(endpoints/ReadAhead) calls.
	ReadAhead int
	// PageSize is the page size of clean-up listings.
	PageSize int
	// MaxChangesPerBatch bounds clean-up batches.
	MaxChangesPerBatch int
}

func (c *CoreConfig) validate() error {
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if len(c.Endpoints) == 0 {
		return errors.New("no endpoints")
	}
	if c.KeepGenerations == 0 {
		c.KeepGenerations = 5
	}
	if c.MaxRetries < 0 {
		return fmt.Errorf("max retries %d: must not be negative", c.MaxRetries)
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 2 * time.Second
	}
	if c.EndpointsPerBatch <= 0 {
		c.EndpointsPerBatch = 1
	}
	if c.ReadAhead <= 0 {
		c.ReadAhead = 1
	}
	if c.PageSize <= 0 || c.PageSize > 300 {
		c.PageSize = 300
	}
	if c.MaxChangesPerBatch <= 0 {
		c.MaxChangesPerBatch = 1000
	}
	if c.EndpointsPerBatch*4+2 > c.MaxChangesPerBatch {
		return fmt.Errorf("endpoints per batch %d: %d changes exceed max changes per batch %d", c.EndpointsPerBatch, c.EndpointsPerBatch*4+2, c.MaxChangesPerBatch)
	}
	return nil
}

// Core is one Enactor's mechanism: the generation it last applied and the
// mode's rules. Not safe for concurrent use: one run at a time.
type Core struct {
	cfg    CoreConfig
	clock  kit.Clock
	events *kit.Events
	byName map[string]dnsplan.Endpoint

	lastApplied uint64

	// The mode's rules, swapped as a whole by mode.
	plan    func(r *Run, ep dnsplan.Endpoint, cur current) (changes []dnsplan.Change, skip bool)
	guarded bool // fixed: guard each transaction with the generation's marker
	collect func(r *Run, ctx context.Context, gens []uint64) ([]uint64, error)
}

// NewCore returns an Enactor core. events may be nil.
func NewCore(cfg CoreConfig, clock kit.Clock, events *kit.Events) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dnsenactor core: %w", err)
	}
	c := &Core{cfg: cfg, clock: clock, events: events, byName: map[string]dnsplan.Endpoint{}}
	for _, ep := range cfg.Endpoints {
		c.byName[ep.Name] = ep
	}
	if cfg.Mode.IsFixed() {
		c.plan, c.guarded, c.collect = planCAS, true, collectUnclaimed
	} else {
		c.plan, c.collect = planAsWas, collectOld
	}
	return c, nil
}

// LastApplied is the generation the last run applied.
func (c *Core) LastApplied() uint64 { return c.lastApplied }

// SetLastApplied sets what the staleness check compares with (restarts).
func (c *Core) SetLastApplied(gen uint64) { c.lastApplied = gen }

// Mode is the core's mode.
func (c *Core) Mode() kit.Mode { return c.cfg.Mode }

// Summary is what one run did.
type Summary struct {
	Generation  uint64            `json:"generation"`
	LastApplied uint64            `json:"lastApplied"` // before the run
	Stale       bool              `json:"stale"`       // the start-of-run check found nothing newer
	Applied     int               `json:"applied"`
	Skipped     int               `json:"skipped"`
	Failed      map[string]string `json:"failed,omitempty"` // endpoint ID -> error code
	Deleted     []uint64          `json:"deleted,omitempty"`
	Err         string            `json:"error,omitempty"`
}

// Outcome is what happened to one endpoint.
type Outcome struct {
	Endpoint dnsplan.Endpoint
	From     uint64 // generation before
	Applied  bool
	Skipped  bool
	Code     string // error code when it failed
	Attempts int
}

// Run is one run of the Enactor, from its start-of-run staleness check to
// its clean-up. The server drives it step by step so that its failpoints sit
// between the steps.
type Run struct {
	c       *Core
	io      dnsplan.Store
	Summary Summary
	marker  *dnsplan.Record
	next    int
	cnames  window
	claims  window
}

// Begin starts a run: it finds the newest complete generation and makes the
// staleness check, once, as the incident's Enactor did.
func (c *Core) Begin(ctx context.Context, io dnsplan.Store) (*Run, error) {
	r := &Run{c: c, io: io, Summary: Summary{LastApplied: c.lastApplied}}
	planZone, err := c.cfg.Zones.ID(dnsplan.RegionalZone)
	if err != nil {
		return nil, err
	}
	r.Summary.Generation, r.marker, err = dnsplan.FindNewestComplete(ctx, io, planZone, dnsplan.RegionalZone, c.lastApplied)
	if err != nil {
		return nil, fmt.Errorf("begin run: %w", err)
	}
	r.Summary.Stale = r.Summary.Generation <= c.lastApplied
	c.events.Emit("run-started", "generation", r.Summary.Generation, "last", c.lastApplied, "stale", r.Summary.Stale, "mode", string(c.cfg.Mode))
	if r.Summary.Stale {
		r.next = len(c.cfg.Endpoints)
	}
	return r, nil
}

// Next returns the next endpoints to apply together (one, or up to
// EndpointsPerBatch of one zone), or nil when none are left.
func (r *Run) Next() []dnsplan.Endpoint {
	eps := r.c.cfg.Endpoints
	if r.next >= len(eps) {
		return nil
	}
	i := r.next
	j := i + 1
	for j < len(eps) && j-i < r.c.cfg.EndpointsPerBatch && eps[j].Zone == eps[i].Zone {
		j++
	}
	r.next = j
	return eps[i:j]
}

// current is what an endpoint's records were read to be.
type current struct {
	cname *dnsplan.Record
	gen   uint64
	claim bool // only read by modes that look (fixed)
}

// Apply is the application of one group of endpoints (what Next returned),
// made step by step so that no wait happens inside the core: each Step makes
// one attempt (one transaction with its reads) and says how long the driver
// waits before the next one. The run's generation goes to the group in one
// transaction; when that keeps failing, to one endpoint at a time with
// bounded retries.
//
//	batch attempt --ok--> done
//	    | failed (up to MaxRetries+1 attempts, no wait between them)
//	    v
//	endpoint i attempt --applied/skipped/failed for good--> endpoint i+1 ... --> done
//	    | retryable failure: Wait = attempts * RetryBackoff
//	    +--> (driver waits) --> endpoint i attempt again
type Apply struct {
	r          *Run
	eps        []dnsplan.Endpoint
	out        []Outcome
	batchTries int // batch attempts made; batches come first when len(eps) > 1
	i          int // the endpoint being applied alone
	one        Outcome
	done       bool
}

// Step is what a driver does after one Apply.Step: nothing more (Done), or
// wait Wait (incident time; 0: go on at once) and call Step again.
type Step struct {
	Done bool
	Wait time.Duration
}

// Start begins applying the run's generation to eps (one group from Next).
func (r *Run) Start(eps []dnsplan.Endpoint) *Apply {
	a := &Apply{r: r, eps: eps, out: make([]Outcome, len(eps))}
	if len(eps) <= 1 {
		a.batchTries = r.c.cfg.MaxRetries + 1 // no batch: one endpoint alone
	}
	a.one = Outcome{Endpoint: a.first()}
	return a
}

func (a *Apply) first() dnsplan.Endpoint {
	if len(a.eps) == 0 {
		return dnsplan.Endpoint{}
	}
	return a.eps[0]
}

// Outcomes are what happened to each endpoint of the group (complete once
// Step reported Done).
func (a *Apply) Outcomes() []Outcome { return a.out }

// Step makes one attempt.
func (a *Apply) Step(ctx context.Context) Step {
	if a.done || len(a.eps) == 0 {
		a.done = true
		return Step{Done: true}
	}
	r := a.r
	if a.batchTries <= r.c.cfg.MaxRetries {
		// A batch that fails (another Enactor moved one of its endpoints)
		// is read again with one fresh read-ahead listing and rebuilt:
		// endpoints the other Enactor already moved are skipped. Only a
		// batch that keeps failing falls back to one transaction per
		// endpoint, each with its own reads.
		if ctx.Err() != nil {
			a.batchTries = r.c.cfg.MaxRetries + 1
			return Step{}
		}
		if a.batchTries > 0 {
			r.cnames, r.claims = window{}, window{}
		}
		a.batchTries++
		if r.applyBatch(ctx, a.eps, a.out) {
			a.done = true
			return Step{Done: true}
		}
		return Step{}
	}
	o := &a.one
	if ctx.Err() != nil && o.Attempts > 0 {
		// Cancelled during the driver's wait.
		o.Code = dnsplan.ErrorCode(ctx.Err())
		return a.next()
	}
	wait, again := r.attemptOne(ctx, o)
	if again {
		return Step{Wait: wait}
	}
	return a.next()
}

// next records the endpoint applied alone and moves to the following one.
func (a *Apply) next() Step {
	o := &a.one
	if o.Applied || o.Skipped {
		o.Code = ""
	}
	a.r.record(o)
	a.out[a.i] = *o
	a.i++
	if a.i >= len(a.eps) {
		a.done = true
		return Step{Done: true}
	}
	a.one = Outcome{Endpoint: a.eps[a.i]}
	return Step{}
}

func (r *Run) applyBatch(ctx context.Context, eps []dnsplan.Endpoint, out []Outcome) bool {
	var changes []dnsplan.Change
	for i, ep := range eps {
		cur, err := r.read(ctx, ep, false)
		if err != nil {
			return false
		}
		cs, skip := r.c.plan(r, ep, cur)
		if !skip && r.needsPin(ep, cur) {
			return false // one transaction per endpoint, each pinned
		}
		out[i] = Outcome{Endpoint: ep, From: cur.gen, Skipped: skip, Attempts: 1}
		changes = append(changes, cs...)
	}
	if len(changes) > 0 {
		if r.c.guarded && eps[0].Zone == dnsplan.RegionalZone {
			changes = append(changes, r.guard()...)
		}
		zoneID, err := r.c.cfg.Zones.ID(eps[0].Zone)
		if err != nil {
			return false
		}
		if err := r.io.Change(ctx, zoneID, changes); err != nil {
			return false
		}
	}
	for i := range out {
		r.record(&out[i])
	}
	return true
}

// attemptOne makes one attempt at o's endpoint alone. again reports a
// retryable failure: the driver waits wait (attempts * RetryBackoff), then
// the endpoint is read again and its transaction rebuilt.
func (r *Run) attemptOne(ctx context.Context, o *Outcome) (wait time.Duration, again bool) {
	ep := o.Endpoint
	zoneID, err := r.c.cfg.Zones.ID(ep.Zone)
	if err != nil {
		o.Code = dnsplan.ErrorCode(err)
		return 0, false
	}
	o.Attempts++
	cur, err := r.read(ctx, ep, o.Attempts > 1)
	if err == nil {
		o.From = cur.gen
		changes, skip := r.c.plan(r, ep, cur)
		if skip {
			o.Skipped = true
			return 0, false
		}
		if r.c.guarded && ep.Zone == dnsplan.RegionalZone {
			changes = append(changes, r.guard()...)
		}
		if r.needsPin(ep, cur) {
			err = r.pinned(ctx, ep, func() error { return r.io.Change(ctx, zoneID, changes) })
		} else {
			err = r.io.Change(ctx, zoneID, changes)
		}
		if err == nil {
			o.Applied = true
			return 0, false
		}
	}
	o.Code = dnsplan.ErrorCode(err)
	if !retryable(err) || o.Attempts > r.c.cfg.MaxRetries || ctx.Err() != nil {
		return 0, false
	}
	// Another Enactor changed the endpoint (or Route53 was busy).
	return time.Duration(o.Attempts) * r.c.cfg.RetryBackoff, true
}

func retryable(err error) bool {
	return errors.Is(err, dnsplan.ErrInvalidChangeBatch) || errors.Is(err, dnsplan.ErrConflict) || errors.Is(err, dnsplan.ErrThrottled)
}

func (r *Run) record(o *Outcome) {
	gen := r.Summary.Generation
	switch {
	case o.Skipped:
		r.Summary.Skipped++
		r.c.events.Emit("endpoint-skipped", "endpoint", o.Endpoint.ID, "current", o.From, "generation", gen)
	case o.Code != "":
		if r.Summary.Failed == nil {
			r.Summary.Failed = map[string]string{}
		}
		r.Summary.Failed[o.Endpoint.ID] = o.Code
		r.c.events.Emit("endpoint-failed", "endpoint", o.Endpoint.ID, "code", o.Code, "from", o.From, "generation", gen, "attempts", o.Attempts)
	default:
		o.Applied = true
		r.Summary.Applied++
		r.c.events.Emit("endpoint-applied", "endpoint", o.Endpoint.ID, "from", o.From, "to", gen, "attempts", o.Attempts)
	}
}

// guard makes a transaction fail when the run's generation was cleaned up
// meanwhile: Route53's exact-match DELETE of the marker is a fence.
func (r *Run) guard() []dnsplan.Change {
	return []dnsplan.Change{{Action: dnsplan.Delete, Record: *r.marker}, {Action: dnsplan.Create, Record: *r.marker}}
}

// needsPin reports whether ep's transaction cannot be fenced by the marker
// and nothing else keeps its new generation from being cleaned up under it:
// fixed mode, an endpoint outside the plans' zone (the marker cannot be in
// its transaction), and no claim on an older generation (a brand-new
// endpoint, or one left dangling by as-was clean-up). A claimed older
// generation is enough: clean-up stops at the oldest claimed generation.
func (r *Run) needsPin(ep dnsplan.Endpoint, cur current) bool {
	return r.c.guarded && ep.Zone != dnsplan.RegionalZone && !cur.claim
}

// PinName is the name of the pin an Enactor holds on generation gen for an
// endpoint outside the plans' zone while it applies gen there: a claim of
// that endpoint, but in the plans' zone, so that the marker can guard it.
func PinName(ep dnsplan.Endpoint, gen uint64) string {
	return ep.ID + ".claim." + dnsplan.GenDomain(dnsplan.RegionalZone, gen)
}

func pinRecord(ep dnsplan.Endpoint, gen uint64) dnsplan.Record {
	r := dnsplan.ClaimRecord(ep, gen)
	r.Name = PinName(ep, gen)
	return r
}

// pinned runs apply (ep's transaction in its own zone) while a pin holds the
// run's generation: the pin is written in the plans' zone in one transaction
// with the marker's guard, so it lands only while the generation is not
// being cleaned up, and clean-up, which deletes the marker first and then
// checks for claims again, sees it. The pin is removed afterwards; a pin
// left behind (a crash) only keeps its generation from being cleaned up.
func (r *Run) pinned(ctx context.Context, ep dnsplan.Endpoint, apply func() error) error {
	planZone, err := r.c.cfg.Zones.ID(dnsplan.RegionalZone)
	if err != nil {
		return err
	}
	pin := pinRecord(ep, r.Summary.Generation)
	if err := r.io.Change(ctx, planZone, append(r.guard(), dnsplan.Change{Action: dnsplan.Upsert, Record: pin})); err != nil {
		return fmt.Errorf("pin generation %d for %s: %w", r.Summary.Generation, ep.ID, err)
	}
	err = apply()
	if uerr := r.io.Change(ctx, planZone, []dnsplan.Change{{Action: dnsplan.Delete, Record: pin}}); uerr != nil && !errors.Is(uerr, dnsplan.ErrInvalidChangeBatch) {
		r.c.events.Emit("pin-left", "endpoint", ep.ID, "generation", r.Summary.Generation, "error", uerr.Error())
	}
	return err
}

// planAsWas is October 2025's apply: the current CNAME is read only to build
// the exact DELETE; its generation is never compared with the run's. The
// claim to delete is derived from the CNAME, not read.
func planAsWas(r *Run, ep dnsplan.Endpoint, cur current) ([]dnsplan.Change, bool) {
	gen := r.Summary.Generation
	if cur.gen == gen {
		return nil, true // nothing to change
	}
	var cs []dnsplan.Change
	if cur.cname != nil {
		cs = append(cs, dnsplan.Change{Action: dnsplan.Delete, Record: *cur.cname})
		if cur.gen != 0 {
			cs = append(cs, dnsplan.Change{Action: dnsplan.Delete, Record: dnsplan.ClaimRecord(ep, cur.gen)})
		}
	}
	return append(cs,
		dnsplan.Change{Action: dnsplan.Create, Record: dnsplan.CNAMERecord(ep, gen)},
		dnsplan.Change{Action: dnsplan.Create, Record: dnsplan.ClaimRecord(ep, gen)}), false
}

// planCAS is the fix: a compare-and-swap on the plan generation. An endpoint
// already on the run's generation or a newer one is left alone; otherwise
// the transaction deletes exactly what it replaces (the CNAME as read, the
// claim only if it is there), so it fails if anything moved meanwhile.
func planCAS(r *Run, ep dnsplan.Endpoint, cur current) ([]dnsplan.Change, bool) {
	gen := r.Summary.Generation
	if cur.gen >= gen {
		return nil, true
	}
	var cs []dnsplan.Change
	if cur.cname != nil {
		cs = append(cs, dnsplan.Change{Action: dnsplan.Delete, Record: *cur.cname})
		if cur.claim {
			cs = append(cs, dnsplan.Change{Action: dnsplan.Delete, Record: dnsplan.ClaimRecord(ep, cur.gen)})
		}
	}
	return append(cs,
		dnsplan.Change{Action: dnsplan.Create, Record: dnsplan.CNAMERecord(ep, gen)},
		dnsplan.Change{Action: dnsplan.Create, Record: dnsplan.ClaimRecord(ep, gen)}), false
}

// read reads ep's current CNAME (and, in fixed mode, whether its claim
// exists). fresh bypasses the read-ahead windows (retries).
func (r *Run) read(ctx context.Context, ep dnsplan.Endpoint, fresh bool) (current, error) {
	var cur current
	zoneID, err := r.c.cfg.Zones.ID(ep.Zone)
	if err != nil {
		return cur, err
	}
	n := r.c.cfg.ReadAhead
	if fresh {
		n = 1
		r.cnames, r.claims = window{}, window{}
	}
	rec, ok, err := r.cnames.get(ctx, r.io, zoneID, ep.Name, dnsplan.TypeCNAME, n)
	if err != nil || !ok {
		return cur, err
	}
	cur.cname = &rec
	cur.gen = dnsplan.CNAMEGeneration(ep, rec)
	if r.c.guarded && cur.gen != 0 {
		_, cur.claim, err = r.claims.get(ctx, r.io, zoneID, dnsplan.ClaimName(ep, cur.gen), dnsplan.TypeTXT, n)
	}
	return cur, err
}

// window is one listing of consecutive record sets: a lookup of a name it
// covers costs nothing, and one it does not cover lists ReadAhead record
// sets from that name on.
type window struct {
	zoneID   string
	from, to string // sort keys covered, inclusive; to == "" means to the end
	recs     map[string]dnsplan.Record
	ok       bool
}

func (w *window) get(ctx context.Context, st dnsplan.Store, zoneID, name, typ string, n int) (dnsplan.Record, bool, error) {
	key := dnsplan.SortKey(name, typ, "")
	if !w.ok || w.zoneID != zoneID || key < w.from || (w.to != "" && key > w.to) {
		page, err := st.List(ctx, zoneID, dnsplan.Cursor{Name: name, Type: typ}, n)
		if err != nil {
			return dnsplan.Record{}, false, err
		}
		*w = window{zoneID: zoneID, from: key, recs: make(map[string]dnsplan.Record, len(page.Records)), ok: true}
		for _, rec := range page.Records {
			rec.Name = dnsplan.Canonical(rec.Name)
			w.recs[dnsplan.SortKey(rec.Name, rec.Type, rec.SetID)] = rec
		}
		if page.Next != nil && len(page.Records) > 0 {
			last := page.Records[len(page.Records)-1]
			w.to = dnsplan.SortKey(last.Name, last.Type, last.SetID)
		} else if page.Next != nil {
			w.to = key
		}
	}
	rec, ok := w.recs[key]
	return rec, ok, nil
}

// Cleanup deletes the generations the mode allows: more than K older than
// the one applied (aswas: all of them; fixed: only those no endpoint claims).
func (r *Run) Cleanup(ctx context.Context) error {
	if r.Summary.Stale || r.Summary.Generation <= r.c.cfg.KeepGenerations {
		return nil
	}
	seen := map[uint64]bool{}
	for _, zone := range dnsplan.Zones {
		zoneID, err := r.c.cfg.Zones.ID(zone)
		if err != nil {
			continue
		}
		gens, err := dnsplan.ListGenerationsBelow(ctx, r.io, zoneID, zone, r.Summary.Generation-r.c.cfg.KeepGenerations)
		if err != nil {
			return err
		}
		for _, g := range gens {
			if g.Gen+r.c.cfg.KeepGenerations < r.Summary.Generation {
				seen[g.Gen] = true
			}
		}
	}
	old := make([]uint64, 0, len(seen))
	for g := range seen {
		old = append(old, g)
	}
	sort.Slice(old, func(i, j int) bool { return old[i] < old[j] })
	deleted, err := r.c.collect(r, ctx, old)
	r.Summary.Deleted = append(r.Summary.Deleted, deleted...)
	return err
}

// collectOld is October 2025's clean-up: every old generation goes, whether
// an endpoint still references it or not.
func collectOld(r *Run, ctx context.Context, gens []uint64) ([]uint64, error) {
	var deleted []uint64
	for _, g := range gens {
		n, err := r.deleteGeneration(ctx, g)
		if err != nil {
			return deleted, err
		}
		deleted = append(deleted, g)
		r.c.events.Emit("plan-deleted", "generation", g, "records", n)
	}
	return deleted, nil
}

// collectUnclaimed deletes old generations from the oldest up to the first
// one an endpoint still claims. A generation's marker goes first (so no
// guarded transaction can start using it), then its claims are checked again
// (a transaction that landed just before the marker's deletion is seen), and
// only then the rest.
func collectUnclaimed(r *Run, ctx context.Context, gens []uint64) ([]uint64, error) {
	planZone, err := r.c.cfg.Zones.ID(dnsplan.RegionalZone)
	if err != nil {
		return nil, err
	}
	var deleted []uint64
	for _, g := range gens {
		claimed, err := r.claimed(ctx, g)
		if err != nil || claimed {
			return deleted, err
		}
		marker, hasMarker, err := dnsplan.ReadRecord(ctx, r.io, planZone, dnsplan.MarkerName(g), dnsplan.TypeTXT)
		if err != nil {
			return deleted, err
		}
		if hasMarker {
			if err := r.io.Change(ctx, planZone, []dnsplan.Change{{Action: dnsplan.Delete, Record: marker}}); err != nil {
				if errors.Is(err, dnsplan.ErrInvalidChangeBatch) {
					continue // another Enactor is cleaning it up
				}
				return deleted, err
			}
			if claimed, err = r.claimed(ctx, g); err != nil || claimed {
				if claimed {
					_ = r.io.Change(ctx, planZone, []dnsplan.Change{{Action: dnsplan.Create, Record: marker}})
				}
				return deleted, err
			}
		}
		n, err := r.deleteGeneration(ctx, g)
		if err != nil {
			return deleted, err
		}
		deleted = append(deleted, g)
		r.c.events.Emit("plan-deleted", "generation", g, "records", n)
	}
	return deleted, nil
}

// claimed reports whether any endpoint claims generation g in any zone.
func (r *Run) claimed(ctx context.Context, g uint64) (bool, error) {
	for _, zone := range dnsplan.Zones {
		zoneID, err := r.c.cfg.Zones.ID(zone)
		if err != nil {
			continue
		}
		has, err := dnsplan.HasAny(ctx, r.io, zoneID, dnsplan.ClaimsDomain(zone, g))
		if err != nil || has {
			return has, err
		}
	}
	return false, nil
}

// deleteGeneration deletes every record set under generation g in every
// zone, the marker first. A batch that fails because another Enactor is
// deleting the same records is listed again and retried.
func (r *Run) deleteGeneration(ctx context.Context, g uint64) (int, error) {
	total := 0
	for _, zone := range dnsplan.Zones {
		zoneID, err := r.c.cfg.Zones.ID(zone)
		if err != nil {
			continue
		}
		for attempt := 0; ; attempt++ {
			var changes []dnsplan.Change
			err := dnsplan.WalkSubtree(ctx, r.io, zoneID, dnsplan.GenDomain(zone, g), r.c.cfg.PageSize, func(rec dnsplan.Record) error {
				changes = append(changes, dnsplan.Change{Action: dnsplan.Delete, Record: rec})
				return nil
			})
			if err != nil {
				return total, err
			}
			var failed error
			for _, b := range dnsplan.Batches(changes, r.c.cfg.MaxChangesPerBatch) {
				if err := r.io.Change(ctx, zoneID, b); err != nil {
					failed = err
					break
				}
				total += len(b)
			}
			if failed == nil {
				break
			}
			if !retryable(failed) || attempt >= r.c.cfg.MaxRetries {
				return total, failed
			}
		}
	}
	return total, nil
}

// Finish ends the run: the generation becomes the one last applied, which
// the next run's staleness check compares with.
func (r *Run) Finish(err error) Summary {
	if err != nil {
		r.Summary.Err = err.Error()
	}
	if !r.Summary.Stale && r.Summary.Generation > r.c.lastApplied {
		r.c.lastApplied = r.Summary.Generation
	}
	r.c.events.Emit("run-finished", "generation", r.Summary.Generation, "applied", r.Summary.Applied,
		"skipped", r.Summary.Skipped, "failed", len(r.Summary.Failed), "deleted", len(r.Summary.Deleted), "stale", r.Summary.Stale)
	return r.Summary
}
