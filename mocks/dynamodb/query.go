package dynamodb

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// readView is what a Query or Scan reads: the table's items or an index's
// view of them, with the key schema that orders it.
type readView struct {
	t     *table
	col   *collection
	keys  keySchema
	index *index
}

// view selects the table or one of its indexes.
func (t *table) view(indexName string, consistent bool) (readView, error) {
	if indexName == "" {
		return readView{t: t, col: t.items, keys: t.keys}, nil
	}
	ix, ok := t.indexes[indexName]
	if !ok {
		return readView{}, validationErr("The table does not have the specified index: " + indexName)
	}
	if ix.global && consistent {
		return readView{}, validationErr("Consistent reads are not supported on global secondary indexes")
	}
	if ix.view == nil {
		ix.view = t.buildIndex(ix)
	}
	return readView{t: t, col: ix.view, keys: ix.keys, index: ix}, nil
}

// buildIndex builds an index's view: the items that carry its key
// attributes, projected as the index says, ordered by index key then
// primary key.
func (t *table) buildIndex(ix *index) *collection {
	col := newCollection(ix.keys, true)
	all := ix.desc.Projection.ProjectionType == "ALL"
	for _, p := range t.items.parts {
		for _, r := range p.recs {
			item := ix.project(r.item)
			if item == nil {
				continue
			}
			rec := r
			if !all {
				// The index entry's own size is what a read of it costs.
				rec = &record{item: item, pk: r.pk, size: expr.ItemSize(item)}
			}
			h := encodeKey(rec.item[ix.keys.hash.name])
			part := col.parts[h]
			if part == nil {
				part = &partition{}
				col.parts[h] = part
			}
			part.recs = append(part.recs, rec)
			col.count++
		}
	}
	for _, p := range col.parts {
		slices.SortFunc(p.recs, col.cmp)
	}
	return col
}

// fetchesFromTable reports whether items read through the view come from
// the table rather than the index's projection: only for a local secondary
// index that does not project everything, when all or specific attributes
// (or a filter) are asked for.
func (v readView) fetchesFromTable(spec readSpec) bool {
	if v.index == nil || v.index.global || v.index.desc.Projection.ProjectionType == "ALL" {
		return false
	}
	return spec.sel == "ALL_ATTRIBUTES" || spec.sel == "SPECIFIC_ATTRIBUTES" || spec.filter != nil
}

// lastKey is the LastEvaluatedKey of rec: the table's key, plus the
// index's key when reading an index.
func (v readView) lastKey(rec *record) expr.Item {
	out := v.t.keys.keyItem(rec.item)
	if v.index != nil {
		for _, n := range v.keys.names() {
			out[n] = rec.item[n]
		}
	}
	return out
}

// startProbe validates an ExclusiveStartKey and turns it into a record to
// search for.
func (v readView) startProbe(esk expr.Item) (*record, error) {
	names := v.t.keys.names()
	if v.index != nil {
		for _, n := range v.keys.names() {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(esk) != len(names) {
		return nil, validationErr("The provided starting key is invalid: The provided key element does not match the schema")
	}
	for _, n := range names {
		if _, ok := esk[n]; !ok {
			return nil, validationErr("The provided starting key is invalid: The provided key element does not match the schema")
		}
	}
	pk, err := v.t.keyOf(esk, true)
	if err != nil {
		return nil, validationErr("The provided starting key is invalid: " + asError(err).Message)
	}
	return &record{item: esk, pk: pk}, nil
}

// readSpec is what Query and Scan share: selection, projection, filter,
// limit.
type readSpec struct {
	sel    string
	proj   *expr.Projection
	filter *expr.Condition
	limit  int
}

// projParam names the parameter that chose the attributes, for messages.
func projParam(attributesToGet []string) string {
	if attributesToGet != nil {
		return "AttributesToGet"
	}
	return "ProjectionExpression"
}

func parseSelect(sel, projection, projName string, index *index) (string, error) {
	switch sel {
	case "":
		if projection != "" {
			return "SPECIFIC_ATTRIBUTES", nil
		}
		if index != nil {
			return "ALL_PROJECTED_ATTRIBUTES", nil
		}
		return "ALL_ATTRIBUTES", nil
	case "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT":
		if projection != "" {
			return "", validationErr("One or more parameter values were invalid: Cannot specify the " + projName + " when choosing to get " + sel)
		}
		if sel == "ALL_PROJECTED_ATTRIBUTES" && index == nil {
			return "", validationErr("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not supported when no index is specified")
		}
		if sel == "ALL_ATTRIBUTES" && index != nil && index.global && index.desc.Projection.ProjectionType != "ALL" {
			return "", validationErr("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index " + index.desc.IndexName + " because its projection type is not ALL")
		}
		return sel, nil
	case "SPECIFIC_ATTRIBUTES":
		if projection == "" {
			return "", validationErr("One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES requires " + projName)
		}
		return sel, nil
	}
	return "", validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]", sel))
}

func parseLimit(limit *int) (int, error) {
	if limit == nil {
		return 0, nil
	}
	if *limit < 1 {
		return 0, validationErr(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *limit))
	}
	return *limit, nil
}

// page reads records in order, starting at recs[0], until the limit or
// 1 MB. It returns the bytes read from the view and those fetched from the
// table (a local index reading attributes it does not project).
func (v readView) page(spec readSpec, recs func(yield func(*record) bool), out *QueryOutput) (bytes, fetched int) {
	var last *record
	stopped := false
	recs(func(r *record) bool {
		if stopped {
			// One more record exists after the page: the caller must
			// continue from LastEvaluatedKey.
			out.LastEvaluatedKey = v.lastKey(last)
			return false
		}
		out.ScannedCount++
		bytes += r.size
		last = r
		item := r.item
		if v.fetchesFromTable(spec) {
			// A local secondary index reads attributes it does not
			// project from the table, as DynamoDB does (at extra cost).
			if full := v.t.items.get(r); full != nil {
				item = full.item
				fetched += full.size
			}
		}
		ok, _ := spec.filter.Eval(item)
		if ok {
			out.Count++
			if spec.sel != "COUNT" {
				out.Items = append(out.Items, spec.proj.Apply(item))
			}
		}
		if (spec.limit > 0 && out.ScannedCount >= spec.limit) || bytes >= maxPageBytes {
			stopped = true
		}
		return true
	})
	if out.Items == nil && spec.sel != "COUNT" {
		out.Items = []expr.Item{}
	}
	out.countOnly = spec.sel == "COUNT"
	return bytes, fetched
}

// readUsage is the units of a Query or Scan page: the view's bytes, read
// from the table or the index, plus the table reads of a local index.
func (v readView) readUsage(bytes, fetched int, consistent bool) *usage {
	if v.index == nil {
		return &usage{table: readUnits(bytes, consistent)}
	}
	u := &usage{}
	u.addIndex(v.index.desc.IndexName, readUnits(bytes, consistent))
	if fetched > 0 {
		u.table = readUnits(fetched, consistent)
	}
	return u
}

// ItemQuery reads the items of one partition key (Query).
func (c *Core) ItemQuery(in *QueryInput) (*QueryOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	limit, err := parseLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	if err := rewriteRead(&in.exprParams, in.legacyRead, in.QueryFilter, "QueryFilter", &in.FilterExpression, &in.ProjectionExpression, &in.KeyConditionExpression, in.KeyConditions != nil); err != nil {
		return nil, err
	}
	if in.KeyConditionExpression == "" && in.KeyConditions == nil {
		return nil, validationErr("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	e, err := parseExprs(in.exprParams, exprSource{filter: in.FilterExpression, projection: in.ProjectionExpression, key: in.KeyConditionExpression})
	if err != nil {
		return nil, err
	}
	t, err := c.table(in.TableName)
	if err != nil {
		return nil, err
	}
	v, err := t.view(in.IndexName, in.ConsistentRead)
	if err != nil {
		return nil, err
	}
	if in.KeyConditions != nil {
		e.key, err = keyConditions(in.KeyConditions, v.keys)
	} else {
		e.key, err = expr.ParseKeyCondition(in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, v.keys.hash.name, v.keys.rng.name)
	}
	if err != nil {
		return nil, err
	}
	if err := e.checkUnused(in.exprParams); err != nil {
		return nil, err
	}
	kc := e.key
	if kc.HashValue.Type() != v.keys.hash.typ {
		return nil, validationErr("One or more parameter values were invalid: Condition parameter type does not match schema type")
	}
	for _, rv := range kc.RangeValues {
		if rv.Type() != v.keys.rng.typ {
			return nil, validationErr("One or more parameter values were invalid: Condition parameter type does not match schema type")
		}
	}
	if kc.RangeOp == expr.KeyBeginsWith && v.keys.rng.typ == expr.TypeN {
		return nil, validationErr("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
	}
	if err := checkFilterKeys(e.filter, v, in.QueryFilter != nil); err != nil {
		return nil, err
	}
	sel, err := parseSelect(in.Select, in.ProjectionExpression, projParam(in.AttributesToGet), v.index)
	if err != nil {
		return nil, err
	}
	var probe *record
	if in.ExclusiveStartKey != nil {
		if probe, err = v.startProbe(in.ExclusiveStartKey); err != nil {
			return nil, err
		}
	}
	var matched []*record
	if p := v.col.parts[encodeKey(kc.HashValue)]; p != nil {
		for _, r := range p.recs {
			if kc.RangeKey == "" || kc.MatchesRange(r.item[kc.RangeKey]) {
				matched = append(matched, r)
			}
		}
	}
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	if !forward {
		slices.Reverse(matched)
	}
	if probe != nil {
		// Continue after the start key, whichever way the query runs.
		i := sort.Search(len(matched), func(i int) bool {
			n := v.col.cmp(matched[i], probe)
			if forward {
				return n > 0
			}
			return n < 0
		})
		matched = matched[i:]
	}
	out := &QueryOutput{}
	bytes, fetched := v.page(readSpec{sel: sel, proj: e.proj, filter: e.filter, limit: limit}, slices.Values(matched), out)
	out.ConsumedCapacity = v.readUsage(bytes, fetched, in.ConsistentRead).report(t, in.TableName, in.ReturnConsumedCapacity, 1)
	return out, nil
}

// checkFilterKeys rejects a Query filter on key attributes.
func checkFilterKeys(filter *expr.Condition, v readView, legacy bool) error {
	keys := append(v.t.keys.names(), v.keys.names()...)
	for _, a := range filter.Attributes() {
		if slices.Contains(keys, a) {
			if legacy {
				return validationErr("QueryFilter can only contain non-primary key attributes: Primary key attribute: " + a)
			}
			return validationErr("Filter Expression can only contain non-primary key attributes: Primary key attribute: " + a)
		}
	}
	return nil
}

// ItemScan reads every item of a table or index, a page at a time (Scan).
func (c *Core) ItemScan(in *ScanInput) (*QueryOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	limit, err := parseLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	segment, total := 0, 1
	switch {
	case in.Segment == nil && in.TotalSegments == nil:
	case in.TotalSegments == nil:
		return nil, validationErr("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
	case in.Segment == nil:
		return nil, validationErr("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
	default:
		segment, total = *in.Segment, *in.TotalSegments
		if total < 1 || total > 1000000 {
			return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%d' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000", total))
		}
		if segment < 0 || segment >= total {
			return nil, validationErr(fmt.Sprintf("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: %d is not less than TotalSegments: %d", segment, total))
		}
	}
	if err := rewriteRead(&in.exprParams, in.legacyRead, in.ScanFilter, "ScanFilter", &in.FilterExpression, &in.ProjectionExpression, nil, false); err != nil {
		return nil, err
	}
	e, err := parseAll(in.exprParams, exprSource{filter: in.FilterExpression, projection: in.ProjectionExpression})
	if err != nil {
		return nil, err
	}
	t, err := c.table(in.TableName)
	if err != nil {
		return nil, err
	}
	v, err := t.view(in.IndexName, in.ConsistentRead)
	if err != nil {
		return nil, err
	}
	sel, err := parseSelect(in.Select, in.ProjectionExpression, projParam(in.AttributesToGet), v.index)
	if err != nil {
		return nil, err
	}
	var probe *record
	if in.ExclusiveStartKey != nil {
		if probe, err = v.startProbe(in.ExclusiveStartKey); err != nil {
			return nil, err
		}
	}
	order := v.col.hashOrder()
	first := 0
	if probe != nil {
		first = sort.SearchStrings(order, encodeKey(probe.item[v.keys.hash.name]))
	}
	recs := func(yield func(*record) bool) {
		for _, h := range order[first:] {
			if total > 1 && int(segmentOf(h)%uint32(total)) != segment {
				continue
			}
			p := v.col.parts[h]
			start := 0
			if probe != nil && h == encodeKey(probe.item[v.keys.hash.name]) {
				start = sort.Search(len(p.recs), func(i int) bool { return v.col.cmp(p.recs[i], probe) > 0 })
			}
			for _, r := range p.recs[start:] {
				if !yield(r) {
					return
				}
			}
		}
	}
	out := &QueryOutput{}
	bytes, fetched := v.page(readSpec{sel: sel, proj: e.proj, filter: e.filter, limit: limit}, recs, out)
	out.ConsumedCapacity = v.readUsage(bytes, fetched, in.ConsistentRead).report(t, in.TableName, in.ReturnConsumedCapacity, 1)
	return out, nil
}

func segmentOf(hashEnc string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(hashEnc))
	return h.Sum32()
}
