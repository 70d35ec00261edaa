package dynamodb

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// ItemBatchGet reads up to 100 items from one or more tables
// (BatchGetItem). Every key is processed: UnprocessedKeys is always empty.
func (c *Core) ItemBatchGet(in *BatchGetItemInput) (*BatchGetItemOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if len(in.RequestItems) == 0 {
		return nil, validationErr("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	total := 0
	for _, ka := range in.RequestItems {
		if ka != nil {
			total += len(ka.Keys)
		}
	}
	if total > maxBatchGet {
		return nil, validationErr("Too many items requested for the BatchGetItem call")
	}
	type plan struct {
		t          *table
		proj       *expr.Projection
		keys       []expr.Item
		pks        []string
		consistent bool
	}
	plans := map[string]*plan{}
	for name, ka := range in.RequestItems {
		if ka == nil || len(ka.Keys) == 0 {
			return nil, validationErr("1 validation error detected: Value at 'requestItems." + name + ".member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		if err := rewriteProjection(&ka.exprParams, ka.AttributesToGet, &ka.ProjectionExpression); err != nil {
			return nil, err
		}
		e, err := parseAll(ka.exprParams, exprSource{projection: ka.ProjectionExpression})
		if err != nil {
			return nil, err
		}
		t, err := c.table(name)
		if err != nil {
			return nil, err
		}
		p := &plan{t: t, proj: e.proj, keys: ka.Keys, consistent: ka.ConsistentRead}
		seen := map[string]bool{}
		for _, k := range ka.Keys {
			pk, err := t.primaryKey(k)
			if err != nil {
				return nil, err
			}
			if seen[pk] {
				return nil, validationErr(MsgDuplicateKeys)
			}
			seen[pk] = true
			p.pks = append(p.pks, pk)
		}
		plans[name] = p
	}
	out := &BatchGetItemOutput{Responses: map[string][]expr.Item{}, UnprocessedKeys: map[string]*KeysAndAttributes{}}
	var use usages
	for name, p := range plans {
		items := []expr.Item{}
		for i, k := range p.keys {
			size := 0
			if r := p.t.get(k, p.pks[i]); r != nil {
				items = append(items, p.proj.Apply(r.item))
				size = r.size
			}
			use.add(name, p.t, &usage{table: readUnits(size, p.consistent)})
		}
		out.Responses[name] = items
	}
	out.ConsumedCapacity = use.report(in.ReturnConsumedCapacity, 1)
	return out, nil
}

// ItemBatchWrite puts and deletes up to 25 items in one or more tables
// (BatchWriteItem), without conditions. The request is validated whole
// before anything is written; UnprocessedItems is always empty.
func (c *Core) ItemBatchWrite(in *BatchWriteItemInput) (*BatchWriteItemOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if len(in.RequestItems) == 0 {
		return nil, validationErr("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	total := 0
	for _, reqs := range in.RequestItems {
		total += len(reqs)
	}
	if total > maxBatchPut {
		return nil, validationErr("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]")
	}
	type write struct {
		name string
		t    *table
		put  *record
		del  expr.Item
		pk   string
	}
	var writes []write
	for name, reqs := range in.RequestItems {
		if len(reqs) == 0 {
			return nil, validationErr("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]")
		}
		t, err := c.table(name)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, wr := range reqs {
			var w write
			switch {
			case wr.PutRequest != nil && wr.DeleteRequest == nil:
				if wr.PutRequest.Item == nil {
					return nil, validationErr("1 validation error detected: Value null at 'requestItems." + name + ".member.putRequest.item' failed to satisfy constraint: Member must not be null")
				}
				pk, size, err := t.checkItem(wr.PutRequest.Item, MsgItemTooLarge)
				if err != nil {
					return nil, err
				}
				w = write{name: name, t: t, put: newRecord(wr.PutRequest.Item, pk, size), pk: pk}
			case wr.DeleteRequest != nil && wr.PutRequest == nil:
				pk, err := t.primaryKey(wr.DeleteRequest.Key)
				if err != nil {
					return nil, err
				}
				w = write{name: name, t: t, del: wr.DeleteRequest.Key, pk: pk}
			default:
				return nil, validationErr("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
			}
			if seen[w.pk] {
				return nil, validationErr(MsgDuplicateKeys)
			}
			seen[w.pk] = true
			writes = append(writes, w)
		}
	}
	var use usages
	for _, w := range writes {
		if w.put != nil {
			use.add(w.name, w.t, w.t.writeUsage(w.t.get(w.put.item, w.pk), w.put))
			w.t.put(w.put)
		} else {
			use.add(w.name, w.t, w.t.writeUsage(w.t.remove(w.del, w.pk), nil))
		}
	}
	return &BatchWriteItemOutput{UnprocessedItems: map[string][]WriteRequest{}, ConsumedCapacity: use.report(in.ReturnConsumedCapacity, 1)}, nil
}

// txOp is one validated action of a TransactWriteItems request.
type txOp struct {
	kind string // ConditionCheck, Put, Delete, Update
	op   *TransactOp
	t    *table
	e    exprs
	pk   string
	key  expr.Item
	put  *record
}

// ItemTransactWrite applies up to 100 actions atomically
// (TransactWriteItems): every condition is checked against the state before
// the transaction, and either all actions apply or none, with a
// TransactionCanceledException listing a reason per action.
func (c *Core) ItemTransactWrite(in *TransactWriteItemsInput) (*TransactWriteItemsOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if len(in.TransactItems) == 0 {
		return nil, validationErr("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
	}
	if len(in.TransactItems) > maxTransact {
		return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '[...]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to %d", maxTransact))
	}
	var fingerprint string
	if in.ClientRequestToken != "" {
		if len(in.ClientRequestToken) > 36 {
			return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36", in.ClientRequestToken))
		}
		raw, err := json.Marshal(in.TransactItems)
		if err != nil {
			return nil, err
		}
		fingerprint = string(raw)
		now := c.clock.Now()
		for tok, seen := range c.tokens {
			if !now.Before(seen.expires) {
				delete(c.tokens, tok)
			}
		}
		if seen, ok := c.tokens[in.ClientRequestToken]; ok {
			if seen.fingerprint != fingerprint {
				return nil, newError(CodeIdempotentParameterMismatch, "Request parameters do not match previous request with the same client request token")
			}
			return &TransactWriteItemsOutput{}, nil
		}
	}
	ops := make([]*txOp, 0, len(in.TransactItems))
	seen := map[string]bool{}
	for _, ti := range in.TransactItems {
		op, err := c.prepareTx(ti)
		if err != nil {
			return nil, err
		}
		id := op.op.TableName + "\x00" + op.pk
		if seen[id] {
			return nil, validationErr("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		ops = append(ops, op)
	}
	reasons := make([]CancellationReason, len(ops))
	results := make([]*record, len(ops))
	failed := false
	for i, op := range ops {
		reasons[i] = CancellationReason{Code: "None"}
		old := op.t.get(op.key, op.pk)
		ok, err := checkCondition(op.e.cond, old)
		if err == nil && !ok {
			reasons[i] = CancellationReason{Code: "ConditionalCheckFailed", Message: MsgConditionalCheck}
			if op.op.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil {
				reasons[i].Item = old.item
			}
			failed = true
			continue
		}
		if err != nil {
			reasons[i] = CancellationReason{Code: "ValidationError", Message: asError(err).Message}
			failed = true
			continue
		}
		switch op.kind {
		case "Put":
			results[i] = op.put
		case "Update":
			item, _, size, err := op.t.applyUpdate(op.key, old, op.e.update)
			if err != nil {
				reasons[i] = CancellationReason{Code: "ValidationError", Message: asError(err).Message}
				failed = true
				continue
			}
			results[i] = newRecord(item, op.pk, size)
		}
	}
	if failed {
		codes := make([]string, len(reasons))
		for i, r := range reasons {
			codes[i] = r.Code
		}
		return nil, &Error{
			Code:                CodeTransactionCanceled,
			Message:             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
			CancellationReasons: reasons,
		}
	}
	var use usages
	for i, op := range ops {
		switch op.kind {
		case "Put", "Update":
			use.add(op.op.TableName, op.t, op.t.writeUsage(op.t.get(op.key, op.pk), results[i]))
			op.t.put(results[i])
		case "Delete":
			use.add(op.op.TableName, op.t, op.t.writeUsage(op.t.remove(op.key, op.pk), nil))
		case "ConditionCheck":
			// A check writes nothing but is charged as a write of the item.
			use.add(op.op.TableName, op.t, &usage{table: writeUnits(sizeOf(op.t.get(op.key, op.pk)))})
		}
	}
	if in.ClientRequestToken != "" {
		c.tokens[in.ClientRequestToken] = txToken{fingerprint: fingerprint, expires: c.clock.Now().Add(IdempotencyWindow)}
	}
	// Transactions cost two units for each unit of the same plain writes.
	return &TransactWriteItemsOutput{ConsumedCapacity: use.report(in.ReturnConsumedCapacity, 2)}, nil
}

func sizeOf(r *record) int {
	if r == nil {
		return 0
	}
	return r.size
}

func (c *Core) prepareTx(ti TransactWriteItem) (*txOp, error) {
	var op *txOp
	n := 0
	for kind, o := range map[string]*TransactOp{"ConditionCheck": ti.ConditionCheck, "Put": ti.Put, "Delete": ti.Delete, "Update": ti.Update} {
		if o != nil {
			n++
			op = &txOp{kind: kind, op: o}
		}
	}
	if n != 1 {
		return nil, validationErr("TransactItems can only contain one of Check, Put, Update or Delete")
	}
	o := op.op
	if err := checkReturnValuesOnFailure(o.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	src := exprSource{condition: o.ConditionExpression}
	switch op.kind {
	case "ConditionCheck":
		if o.ConditionExpression == "" {
			return nil, validationErr("1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null")
		}
	case "Update":
		if o.UpdateExpression == "" {
			return nil, validationErr("1 validation error detected: Value null at 'transactItems.1.member.update.updateExpression' failed to satisfy constraint: Member must not be null")
		}
		src.update = o.UpdateExpression
	}
	var err error
	if op.e, err = parseAll(o.exprParams, src); err != nil {
		return nil, err
	}
	if op.kind == "Put" {
		if op.t, err = c.table(o.TableName); err != nil {
			return nil, err
		}
		if o.Item == nil {
			return nil, validationErr("1 validation error detected: Value null at 'transactItems.1.member.put.item' failed to satisfy constraint: Member must not be null")
		}
		pk, size, err := op.t.checkItem(o.Item, MsgItemTooLarge)
		if err != nil {
			return nil, err
		}
		op.pk, op.key, op.put = pk, o.Item, newRecord(o.Item, pk, size)
		return op, nil
	}
	if op.t, op.pk, err = c.keyTable(o.TableName, o.Key); err != nil {
		return nil, err
	}
	op.key = o.Key
	if op.kind == "Update" {
		if err := op.t.checkUpdateKeys(op.e.update); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// ItemTransactGet reads up to 100 items atomically (TransactGetItems).
func (c *Core) ItemTransactGet(in *TransactGetItemsInput) (*TransactGetItemsOutput, error) {
	if err := checkReturnConsumedCapacity(in.ReturnConsumedCapacity); err != nil {
		return nil, err
	}
	if len(in.TransactItems) == 0 {
		return nil, validationErr("1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null")
	}
	if len(in.TransactItems) > maxTransact {
		return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '[...]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to %d", maxTransact))
	}
	type get struct {
		name string
		t    *table
		proj *expr.Projection
		key  expr.Item
		pk   string
	}
	gets := make([]get, 0, len(in.TransactItems))
	seen := map[string]bool{}
	for _, ti := range in.TransactItems {
		g := ti.Get
		if g == nil {
			return nil, validationErr("1 validation error detected: Value null at 'transactItems.1.member.get' failed to satisfy constraint: Member must not be null")
		}
		e, err := parseAll(g.exprParams, exprSource{projection: g.ProjectionExpression})
		if err != nil {
			return nil, err
		}
		t, err := c.table(g.TableName)
		if err != nil {
			return nil, err
		}
		pk, err := t.primaryKey(g.Key)
		if err != nil {
			return nil, err
		}
		if seen[g.TableName+"\x00"+pk] {
			return nil, validationErr("Transaction request cannot include multiple operations on one item")
		}
		seen[g.TableName+"\x00"+pk] = true
		gets = append(gets, get{name: g.TableName, t: t, proj: e.proj, key: g.Key, pk: pk})
	}
	out := &TransactGetItemsOutput{Responses: make([]ItemResponse, len(gets))}
	var use usages
	for i, g := range gets {
		r := g.t.get(g.key, g.pk)
		if r != nil {
			out.Responses[i].Item = g.proj.Apply(r.item)
		}
		use.add(g.name, g.t, &usage{table: readUnits(sizeOf(r), true)})
	}
	out.ConsumedCapacity = use.report(in.ReturnConsumedCapacity, 2)
	return out, nil
}
