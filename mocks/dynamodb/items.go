package dynamodb

import (
	"fmt"
	"slices"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// exprs is the parsed expressions of one request (or one transaction item).
type exprs struct {
	cond   *expr.Condition
	update *expr.Update
	proj   *expr.Projection
	filter *expr.Condition
	key    *expr.KeyCondition
}

// exprSource is the expression text of a request.
type exprSource struct {
	condition, update, projection, filter string
	// key is the KeyConditionExpression, which the caller parses against
	// the schema it queries; here it only counts as "an expression".
	key string
}

// parseExprs validates the placeholder maps, parses every expression the
// request has and rejects unused placeholders, as DynamoDB does before it
// looks at any item.
func parseExprs(p exprParams, src exprSource) (exprs, error) {
	var e exprs
	if err := expr.ValidateAttributeMaps(p.ExpressionAttributeNames, p.ExpressionAttributeValues); err != nil {
		return e, err
	}
	if src == (exprSource{}) {
		if p.ExpressionAttributeNames != nil {
			return e, validationErr("ExpressionAttributeNames can only be specified when using expressions")
		}
		if p.ExpressionAttributeValues != nil {
			return e, validationErr("ExpressionAttributeValues can only be specified when using expressions")
		}
		return e, nil
	}
	names, values := p.ExpressionAttributeNames, p.ExpressionAttributeValues
	var err error
	if src.condition != "" {
		if e.cond, err = expr.ParseCondition(expr.ConditionExpression, src.condition, names, values); err != nil {
			return e, err
		}
	}
	if src.filter != "" {
		if e.filter, err = expr.ParseCondition(expr.FilterExpression, src.filter, names, values); err != nil {
			return e, err
		}
	}
	if src.update != "" {
		if e.update, err = expr.ParseUpdate(src.update, names, values); err != nil {
			return e, err
		}
	}
	if src.projection != "" {
		if e.proj, err = expr.ParseProjection(src.projection, names); err != nil {
			return e, err
		}
	}
	return e, nil
}

// checkUnused rejects placeholders no expression of the request used.
func (e exprs) checkUnused(p exprParams) error {
	list := []expr.Expression{}
	if e.cond != nil {
		list = append(list, e.cond)
	}
	if e.filter != nil {
		list = append(list, e.filter)
	}
	if e.update != nil {
		list = append(list, e.update)
	}
	if e.proj != nil {
		list = append(list, e.proj)
	}
	if e.key != nil {
		list = append(list, e.key)
	}
	return expr.CheckUnused(p.ExpressionAttributeNames, p.ExpressionAttributeValues, list...)
}

func parseAll(p exprParams, src exprSource) (exprs, error) {
	e, err := parseExprs(p, src)
	if err != nil {
		return e, err
	}
	return e, e.checkUnused(p)
}

func checkReturnValuesOnFailure(v string) error {
	switch v {
	case "", "NONE", "ALL_OLD":
		return nil
	}
	return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", v))
}

// checkReturnOld checks the ReturnValues of PutItem and DeleteItem (the old
// item or nothing) and ReturnValuesOnConditionCheckFailure, in that order.
func checkReturnOld(returnValues, returnOnFailure string) error {
	switch returnValues {
	case "", "NONE", "ALL_OLD":
	default:
		return validationErr("ReturnValues can only be ALL_OLD or NONE")
	}
	return checkReturnValuesOnFailure(returnOnFailure)
}

// keyTable finds the table a keyed request names and checks its Key, in the
// order DynamoDB reports the problems: the table, a missing key, then a key
// that is not exactly the table's primary key. It returns the key's encoding.
func (c *Core) keyTable(name string, key expr.Item) (*table, string, error) {
	t, err := c.table(name)
	if err != nil {
		return nil, "", err
	}
	if key == nil {
		return nil, "", validationErr("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
	}
	pk, err := t.primaryKey(key)
	if err != nil {
		return nil, "", err
	}
	return t, pk, nil
}

// guard reads the stored item at key (nil: none) and checks cond against it;
// a false condition is ConditionalCheckFailed, carrying the old item when
// returnOnFailure asks for it.
func (t *table) guard(key expr.Item, pk string, cond *expr.Condition, returnOnFailure string) (*record, error) {
	old := t.get(key, pk)
	ok, err := checkCondition(cond, old)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, conditionFailed(old, returnOnFailure)
	}
	return old, nil
}

// conditionFailed is the ConditionalCheckFailedException, carrying the old
// item when the request asked for it.
func conditionFailed(old *record, returnOnFailure string) *Error {
	e := newError(CodeConditionalCheckFailed, MsgConditionalCheck)
	if returnOnFailure == "ALL_OLD" && old != nil {
		e.Item = old.item
	}
	return e
}

// checkCondition evaluates cond against the stored record (nil: no item).
func checkCondition(cond *expr.Condition, old *record) (bool, error) {
	if cond == nil {
		return true, nil
	}
	var item expr.Item
	if old != nil {
		item = old.item
	}
	return cond.Eval(item)
}

func itemOf(r *record) expr.Item {
	if r == nil {
		return nil
	}
	return r.item
}

// ItemPut stores an item, replacing any item with the same key (PutItem).
func (c *Core) ItemPut(in *PutItemInput) (*ItemOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := checkReturnItemCollectionMetrics(in.ReturnItemCollectionMetrics); err != nil {
		return nil, err
	}
	if err := checkReturnOld(in.ReturnValues, in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	if err := rewriteWrite(&in.exprParams, in.legacyConditional, &in.ConditionExpression, nil, nil); err != nil {
		return nil, err
	}
	e, err := parseAll(in.exprParams, exprSource{condition: in.ConditionExpression})
	if err != nil {
		return nil, err
	}
	t, err := c.table(in.TableName)
	if err != nil {
		return nil, err
	}
	if in.Item == nil {
		return nil, validationErr("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
	}
	pk, size, err := t.checkItem(in.Item, MsgItemTooLarge)
	if err != nil {
		return nil, err
	}
	old, err := t.guard(in.Item, pk, e.cond, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	rec := newRecord(in.Item, pk, size)
	t.put(rec)
	out := &ItemOutput{ConsumedCapacity: t.writeUsage(old, rec).report(t, in.TableName, in.ReturnConsumedCapacity, 1), ItemCollectionMetrics: t.collectionMetrics(rec.item, in.ReturnItemCollectionMetrics)}
	if in.ReturnValues == "ALL_OLD" {
		out.Attributes = itemOf(old)
	}
	return out, nil
}

// ItemGet reads an item (GetItem). Reads are always strongly consistent.
func (c *Core) ItemGet(in *GetItemInput) (*GetItemOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := rewriteProjection(&in.exprParams, in.AttributesToGet, &in.ProjectionExpression); err != nil {
		return nil, err
	}
	e, err := parseAll(in.exprParams, exprSource{projection: in.ProjectionExpression})
	if err != nil {
		return nil, err
	}
	t, pk, err := c.keyTable(in.TableName, in.Key)
	if err != nil {
		return nil, err
	}
	rec := t.get(in.Key, pk)
	out := &GetItemOutput{}
	size := 0
	if rec != nil {
		size = rec.size
		if e.proj != nil {
			out.Item = e.proj.Apply(rec.item)
		} else {
			out.Item, out.raw = rec.item, rec.raw
		}
	}
	u := usage{table: readUnits(size, in.ConsistentRead)}
	out.ConsumedCapacity = u.report(t, in.TableName, in.ReturnConsumedCapacity, 1)
	return out, nil
}

// ItemUpdate updates (or creates) an item with an UpdateExpression
// (UpdateItem).
func (c *Core) ItemUpdate(in *UpdateItemInput) (*ItemOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := checkReturnItemCollectionMetrics(in.ReturnItemCollectionMetrics); err != nil {
		return nil, err
	}
	switch in.ReturnValues {
	case "", "NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW":
	default:
		return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]", in.ReturnValues))
	}
	if err := checkReturnValuesOnFailure(in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	if err := rewriteWrite(&in.exprParams, in.legacyConditional, &in.ConditionExpression, in.AttributeUpdates, &in.UpdateExpression); err != nil {
		return nil, err
	}
	e, err := parseAll(in.exprParams, exprSource{condition: in.ConditionExpression, update: in.UpdateExpression})
	if err != nil {
		return nil, err
	}
	t, pk, err := c.keyTable(in.TableName, in.Key)
	if err != nil {
		return nil, err
	}
	if err := t.checkUpdateKeys(e.update); err != nil {
		return nil, err
	}
	old, err := t.guard(in.Key, pk, e.cond, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	newItem, changed, size, err := t.applyUpdate(in.Key, old, e.update)
	if err != nil {
		return nil, err
	}
	rec := newRecord(newItem, pk, size)
	t.put(rec)
	out := &ItemOutput{ConsumedCapacity: t.writeUsage(old, rec).report(t, in.TableName, in.ReturnConsumedCapacity, 1), ItemCollectionMetrics: t.collectionMetrics(rec.item, in.ReturnItemCollectionMetrics)}
	switch in.ReturnValues {
	case "ALL_OLD":
		out.Attributes = itemOf(old)
	case "ALL_NEW":
		out.Attributes = newItem
	case "UPDATED_OLD":
		out.Attributes = pick(itemOf(old), changed)
	case "UPDATED_NEW":
		out.Attributes = pick(newItem, changed)
	}
	return out, nil
}

// checkUpdateKeys rejects an update that writes a key attribute.
func (t *table) checkUpdateKeys(u *expr.Update) error {
	for _, name := range u.Attributes() {
		if slices.Contains(t.keys.names(), name) {
			return validationErr("One or more parameter values were invalid: Cannot update attribute " + name + ". This attribute is part of the key")
		}
	}
	return nil
}

// applyUpdate computes the item an update leaves: the old item (or the key
// alone) with the update applied, validated for storage.
func (t *table) applyUpdate(key expr.Item, old *record, u *expr.Update) (expr.Item, []string, int, error) {
	base := itemOf(old)
	if base == nil {
		base = t.keys.keyItem(key)
	}
	newItem, changed, err := u.Apply(base)
	if err != nil {
		return nil, nil, 0, err
	}
	_, size, err := t.checkItem(newItem, MsgUpdateItemTooLarge)
	if err != nil {
		return nil, nil, 0, err
	}
	return newItem, changed, size, nil
}

func pick(item expr.Item, names []string) expr.Item {
	if item == nil {
		return nil
	}
	out := expr.Item{}
	for _, n := range names {
		if v, ok := item[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ItemDelete deletes an item (DeleteItem); deleting a missing item succeeds.
func (c *Core) ItemDelete(in *DeleteItemInput) (*ItemOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if err := checkReturnItemCollectionMetrics(in.ReturnItemCollectionMetrics); err != nil {
		return nil, err
	}
	if err := checkReturnOld(in.ReturnValues, in.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	if err := rewriteWrite(&in.exprParams, in.legacyConditional, &in.ConditionExpression, nil, nil); err != nil {
		return nil, err
	}
	e, err := parseAll(in.exprParams, exprSource{condition: in.ConditionExpression})
	if err != nil {
		return nil, err
	}
	t, pk, err := c.keyTable(in.TableName, in.Key)
	if err != nil {
		return nil, err
	}
	old, err := t.guard(in.Key, pk, e.cond, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	if old != nil {
		t.remove(in.Key, pk)
	}
	out := &ItemOutput{ConsumedCapacity: t.writeUsage(old, nil).report(t, in.TableName, in.ReturnConsumedCapacity, 1), ItemCollectionMetrics: t.collectionMetrics(in.Key, in.ReturnItemCollectionMetrics)}
	if in.ReturnValues == "ALL_OLD" {
		out.Attributes = itemOf(old)
	}
	return out, nil
}
