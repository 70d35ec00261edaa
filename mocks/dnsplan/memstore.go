package dnsplan

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// MemStore is an in-memory Store with Route53's semantics for the calls the
// automation makes (atomic batches, exact-match DELETE, CREATE of an existing
// record fails, listing in reversed-label order with paging). It is the fake
// that the cores' unit tests run on. Safe for concurrent use.
type MemStore struct {
	mu    sync.Mutex
	zones map[string]*memZone // by ID
	// MaxChangesPerBatch, when positive, rejects larger batches (Route53: 1000).
	MaxChangesPerBatch int
	// BeforeChange, when set, runs (without the lock) before each Change is
	// applied; tests use it to interleave another actor at a precise point.
	BeforeChange func(zoneID string, changes []Change)
	changes      int
	lists        int
}

type memZone struct {
	name    string
	records map[string]Record // by SortKey
	sorted  []string          // every key once listed; may hold deleted keys (skipped)
	added   []string          // keys created since the last merge
}

// NewMemStore returns a store holding the given zones, with IDs Z1, Z2, ...
// in order. Zones(ctx) style lookups use ZoneIDs.
func NewMemStore(zones ...string) *MemStore {
	s := &MemStore{zones: map[string]*memZone{}}
	for i, z := range zones {
		s.zones[fmt.Sprintf("Z%d", i+1)] = &memZone{name: Canonical(z), records: map[string]Record{}}
	}
	return s
}

// ZoneIDs maps the store's zone names to their IDs.
func (s *MemStore) ZoneIDs() ZoneIDs {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := ZoneIDs{}
	for id, z := range s.zones {
		ids[z.name] = id
	}
	return ids
}

// Zones implements ZoneLister; the store's zones are fixed at construction.
func (s *MemStore) Zones(ctx context.Context, create bool) (ZoneIDs, error) {
	ids := s.ZoneIDs()
	for _, z := range Zones {
		if _, ok := ids[z]; !ok {
			return ids, fmt.Errorf("zone %s: %w", z, ErrNoSuchZone)
		}
	}
	return ids, nil
}

// Calls returns how many Change and List calls were made.
func (s *MemStore) Calls() (changes, lists int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes, s.lists
}

// Len is the number of record sets in zoneID.
func (s *MemStore) Len(zoneID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z := s.zones[zoneID]; z != nil {
		return len(z.records)
	}
	return 0
}

// Get returns the record set (name, type, setID) of zoneID.
func (s *MemStore) Get(zoneID, name, typ, setID string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	if z == nil {
		return Record{}, false
	}
	r, ok := z.records[SortKey(name, typ, setID)]
	return r, ok
}

// List implements Store.
func (s *MemStore) List(ctx context.Context, zoneID string, start Cursor, max int) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	z := s.zones[zoneID]
	if z == nil {
		return Page{}, fmt.Errorf("list %s: %w", zoneID, ErrNoSuchZone)
	}
	z.merge()
	if max <= 0 || max > 300 {
		max = 300
	}
	from := ""
	if start.Name != "" {
		from = SortKey(start.Name, start.Type, start.SetID)
	}
	i := sort.SearchStrings(z.sorted, from)
	var p Page
	for ; i < len(z.sorted); i++ {
		r, ok := z.records[z.sorted[i]]
		if !ok {
			continue
		}
		if len(p.Records) == max {
			p.Next = &Cursor{Name: r.Name, Type: r.Type, SetID: r.SetID}
			break
		}
		p.Records = append(p.Records, r)
	}
	return p, nil
}

// merge folds the keys added since the last listing into the sorted index
// in O(n + a log a), dropping deleted keys, so that alternating changes and
// listings over 200,000 records stay cheap.
func (z *memZone) merge() {
	if len(z.added) == 0 && len(z.sorted) <= 2*len(z.records)+64 {
		return
	}
	sort.Strings(z.added)
	out := make([]string, 0, len(z.records))
	i, j := 0, 0
	last := ""
	push := func(k string) {
		if _, ok := z.records[k]; ok && (len(out) == 0 || k != last) {
			out = append(out, k)
			last = k
		}
	}
	for i < len(z.sorted) || j < len(z.added) {
		if j >= len(z.added) || (i < len(z.sorted) && z.sorted[i] <= z.added[j]) {
			push(z.sorted[i])
			i++
		} else {
			push(z.added[j])
			j++
		}
	}
	z.sorted, z.added = out, nil
}

// Change implements Store.
func (s *MemStore) Change(ctx context.Context, zoneID string, changes []Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.BeforeChange != nil {
		s.BeforeChange(zoneID, changes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes++
	z := s.zones[zoneID]
	if z == nil {
		return fmt.Errorf("change %s: %w", zoneID, ErrNoSuchZone)
	}
	if len(changes) == 0 || (s.MaxChangesPerBatch > 0 && len(changes) > s.MaxChangesPerBatch) {
		return fmt.Errorf("change %s: %d changes: %w", zoneID, len(changes), ErrInvalidChangeBatch)
	}
	// Validate against an overlay so the batch applies whole or not at all.
	overlay := map[string]*Record{}
	get := func(k string) (Record, bool) {
		if r, ok := overlay[k]; ok {
			if r == nil {
				return Record{}, false
			}
			return *r, true
		}
		r, ok := z.records[k]
		return r, ok
	}
	for i, c := range changes {
		r := c.Record
		r.Name = Canonical(r.Name)
		if !InSubtree(r.Name, z.name) {
			return fmt.Errorf("change %d: %s is not in zone %s: %w", i, r.Name, z.name, ErrInvalidChangeBatch)
		}
		k := SortKey(r.Name, r.Type, r.SetID)
		cur, exists := get(k)
		switch c.Action {
		case Create:
			if exists {
				return fmt.Errorf("change %d: Tried to create resource record set [name='%s', type='%s'] but it already exists: %w", i, r.Name, r.Type, ErrInvalidChangeBatch)
			}
			overlay[k] = &r
		case Delete:
			if !exists || !cur.Equal(r) {
				return fmt.Errorf("change %d: Tried to delete resource record set [name='%s', type='%s', set='%s'] but it was not found: %w", i, r.Name, r.Type, r.SetID, ErrInvalidChangeBatch)
			}
			overlay[k] = nil
		case Upsert:
			overlay[k] = &r
		default:
			return fmt.Errorf("change %d: action %q: %w", i, c.Action, ErrInvalidChangeBatch)
		}
	}
	for k, r := range overlay {
		if r == nil {
			delete(z.records, k)
			continue
		}
		if _, ok := z.records[k]; !ok {
			z.added = append(z.added, k)
		}
		z.records[k] = *r
	}
	return nil
}
