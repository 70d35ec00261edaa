package dynamodb

import (
	"sort"
	"strings"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// collection holds records grouped by hash key, each group sorted by range
// key: a table's items, or an index's view of them. Scan order is the groups
// in the order of their encoded hash key, then the records of each group.
//
//	parts["S4:user"] -> [rec(range=1), rec(range=2), ...]
//	order            -> sorted hash encodings (rebuilt after a group appears or empties)
type collection struct {
	keys keySchema
	// tiebreak orders records with equal range keys by primary key: an
	// index may hold many items under one index key.
	tiebreak bool
	parts    map[string]*partition
	order    []string
	count    int
}

type partition struct {
	recs []*record
}

func newCollection(keys keySchema, tiebreak bool) *collection {
	return &collection{keys: keys, tiebreak: tiebreak, parts: map[string]*partition{}}
}

// cmp orders two records of one partition.
func (c *collection) cmp(a, b *record) int {
	if c.keys.rng.name != "" {
		if n, ok := expr.Compare(a.item[c.keys.rng.name], b.item[c.keys.rng.name]); ok && n != 0 {
			return n
		}
	}
	if c.tiebreak {
		return strings.Compare(a.pk, b.pk)
	}
	return 0
}

// search returns the position of the first record not less than probe.
func (c *collection) search(p *partition, probe *record) (int, bool) {
	i := sort.Search(len(p.recs), func(i int) bool { return c.cmp(p.recs[i], probe) >= 0 })
	return i, i < len(p.recs) && c.cmp(p.recs[i], probe) == 0
}

// get returns the record with the key of probe (a key item), or nil. It
// serves the table's own collection, where the range key identifies a record.
func (c *collection) get(probe *record) *record {
	p := c.parts[encodeKey(probe.item[c.keys.hash.name])]
	if p == nil {
		return nil
	}
	if i, ok := c.search(p, probe); ok {
		return p.recs[i]
	}
	return nil
}

// put inserts or replaces rec and returns the replaced record.
func (c *collection) put(rec *record) *record {
	h := encodeKey(rec.item[c.keys.hash.name])
	p := c.parts[h]
	if p == nil {
		p = &partition{}
		c.parts[h] = p
		c.order = nil
	}
	i, found := c.search(p, rec)
	if found {
		old := p.recs[i]
		p.recs[i] = rec
		return old
	}
	p.recs = append(p.recs, nil)
	copy(p.recs[i+1:], p.recs[i:])
	p.recs[i] = rec
	c.count++
	return nil
}

// remove deletes the record with the key of probe and returns it.
func (c *collection) remove(probe *record) *record {
	h := encodeKey(probe.item[c.keys.hash.name])
	p := c.parts[h]
	if p == nil {
		return nil
	}
	i, ok := c.search(p, probe)
	if !ok {
		return nil
	}
	r := p.recs[i]
	p.recs = append(p.recs[:i], p.recs[i+1:]...)
	c.count--
	if len(p.recs) == 0 {
		delete(c.parts, h)
		c.order = nil
	}
	return r
}

// hashOrder is the sorted list of hash encodings, cached until a group
// appears or empties.
func (c *collection) hashOrder() []string {
	if c.order == nil {
		c.order = make([]string, 0, len(c.parts))
		for h := range c.parts {
			c.order = append(c.order, h)
		}
		sort.Strings(c.order)
	}
	return c.order
}
