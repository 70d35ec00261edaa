package dynamodb

import (
	"fmt"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// Capacity units as DynamoDB documents them: a read unit is one strongly
// consistent read of up to 4 KB (half for an eventually consistent read), a
// write unit one write of up to 1 KB; a Query or Scan rounds the summed size
// of the items it read, not each item; a write that replaces or updates an
// item is charged on the larger of the old and new images; a write touches
// each index whose entry appears, disappears or changes (two writes when
// the index key moves); transactions cost double.

// Capacity is the units consumed on a table or one index.
type Capacity struct {
	CapacityUnits float64 `json:"CapacityUnits"`
}

// ConsumedCapacity is returned when ReturnConsumedCapacity is TOTAL or
// INDEXES; INDEXES adds the table's and each index's share.
type ConsumedCapacity struct {
	TableName              string              `json:"TableName"`
	CapacityUnits          float64             `json:"CapacityUnits"`
	Table                  *Capacity           `json:"Table,omitempty"`
	GlobalSecondaryIndexes map[string]Capacity `json:"GlobalSecondaryIndexes,omitempty"`
	LocalSecondaryIndexes  map[string]Capacity `json:"LocalSecondaryIndexes,omitempty"`
}

func checkReturnConsumedCapacity(mode string) error {
	switch mode {
	case "", "NONE", "TOTAL", "INDEXES":
		return nil
	}
	return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]", mode))
}

// usage tallies one table's units within a request.
type usage struct {
	table   float64
	indexes map[string]float64
}

func (u *usage) addIndex(name string, units float64) {
	if units == 0 {
		return
	}
	if u.indexes == nil {
		u.indexes = map[string]float64{}
	}
	u.indexes[name] += units
}

// report renders the usage of table t in mode (nil for NONE), every figure
// multiplied by factor (2 in transactions).
func (u *usage) report(t *table, name, mode string, factor float64) *ConsumedCapacity {
	if mode != "TOTAL" && mode != "INDEXES" {
		return nil
	}
	total := u.table
	for _, v := range u.indexes {
		total += v
	}
	cc := &ConsumedCapacity{TableName: name, CapacityUnits: total * factor}
	if mode != "INDEXES" {
		return cc
	}
	cc.Table = &Capacity{CapacityUnits: u.table * factor}
	for ixName, v := range u.indexes {
		m := &cc.LocalSecondaryIndexes
		if ix := t.indexes[ixName]; ix != nil && ix.global {
			m = &cc.GlobalSecondaryIndexes
		}
		if *m == nil {
			*m = map[string]Capacity{}
		}
		(*m)[ixName] = Capacity{CapacityUnits: v * factor}
	}
	return cc
}

func writeUnits(size int) float64 { return float64(max(1, (size+1023)/1024)) }

func readUnits(size int, consistent bool) float64 {
	u := float64(max(1, (size+4095)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// writeUsage is the units of replacing old with new (either may be nil) in
// t and its indexes.
func (t *table) writeUsage(old, new *record) *usage {
	size := 0
	var oldItem, newItem expr.Item
	if old != nil {
		size, oldItem = old.size, old.item
	}
	if new != nil {
		size, newItem = max(size, new.size), new.item
	}
	u := &usage{table: writeUnits(size)}
	for name, ix := range t.indexes {
		before, after := ix.project(oldItem), ix.project(newItem)
		switch {
		case before == nil && after == nil:
		case before == nil:
			u.addIndex(name, writeUnits(expr.ItemSize(after)))
		case after == nil:
			u.addIndex(name, writeUnits(expr.ItemSize(before)))
		case !sameKeys(ix.keys, before, after):
			u.addIndex(name, writeUnits(expr.ItemSize(before))+writeUnits(expr.ItemSize(after)))
		case !expr.Equal(expr.M(before), expr.M(after)):
			u.addIndex(name, writeUnits(max(expr.ItemSize(before), expr.ItemSize(after))))
		}
	}
	return u
}

func sameKeys(k keySchema, a, b expr.Item) bool {
	for _, n := range k.names() {
		if !expr.Equal(a[n], b[n]) {
			return false
		}
	}
	return true
}

// project is item as the index holds it, or nil when the item (nil: none)
// lacks the index's key attributes.
func (ix *index) project(item expr.Item) expr.Item {
	if item == nil {
		return nil
	}
	for _, kd := range []keyDef{ix.keys.hash, ix.keys.rng} {
		if kd.name == "" {
			continue
		}
		// An item whose attribute has another type than the index key
		// (possible only for items written before the index) is left out.
		if v, ok := item[kd.name]; !ok || v.Type() != kd.typ {
			return nil
		}
	}
	if ix.desc.Projection.ProjectionType == "ALL" {
		return item
	}
	out := expr.Item{}
	for k, v := range item {
		if ix.keep[k] {
			out[k] = v
		}
	}
	return out
}

// usages tallies a multi-table request (batches, transactions) by table.
type usages struct {
	tables map[string]*table
	use    map[string]*usage
}

func (us *usages) add(name string, t *table, u *usage) {
	if us.use == nil {
		us.tables, us.use = map[string]*table{}, map[string]*usage{}
	}
	sum := us.use[name]
	if sum == nil {
		sum = &usage{}
		us.use[name], us.tables[name] = sum, t
	}
	sum.table += u.table
	for ix, v := range u.indexes {
		sum.addIndex(ix, v)
	}
}

// report is one ConsumedCapacity per table, in table name order.
func (us *usages) report(mode string, factor float64) []ConsumedCapacity {
	if mode != "TOTAL" && mode != "INDEXES" {
		return nil
	}
	out := []ConsumedCapacity{}
	for _, name := range sortedKeys(us.use) {
		out = append(out, *us.use[name].report(us.tables[name], name, mode, factor))
	}
	return out
}

// ItemCollectionMetrics is the size of the item collection (the items
// sharing a partition key) a write touched, returned when
// ReturnItemCollectionMetrics is SIZE and the table has a local secondary
// index, as DynamoDB does.
type ItemCollectionMetrics struct {
	ItemCollectionKey   expr.Item `json:"ItemCollectionKey"`
	SizeEstimateRangeGB []float64 `json:"SizeEstimateRangeGB"`
}

func checkReturnItemCollectionMetrics(mode string) error {
	switch mode {
	case "", "NONE", "SIZE":
		return nil
	}
	return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must satisfy enum value set: [SIZE, NONE]", mode))
}

// collectionMetrics is the metrics of the collection holding key, or nil
// when not asked for or the table has no local index. The estimate is the
// whole gigabytes the collection's items fill and the next one.
func (t *table) collectionMetrics(key expr.Item, mode string) *ItemCollectionMetrics {
	if mode != "SIZE" {
		return nil
	}
	local := false
	for _, ix := range t.indexes {
		local = local || !ix.global
	}
	if !local {
		return nil
	}
	h := key[t.keys.hash.name]
	bytes := 0
	if p := t.items.parts[encodeKey(h)]; p != nil {
		for _, r := range p.recs {
			bytes += r.size
		}
	}
	gb := float64(bytes / (1 << 30))
	return &ItemCollectionMetrics{ItemCollectionKey: expr.Item{t.keys.hash.name: h}, SizeEstimateRangeGB: []float64{gb, gb + 1}}
}
