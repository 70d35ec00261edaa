package dynamodb

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// The legacy (pre-2014) parameters: KeyConditions, QueryFilter, ScanFilter,
// Expected, AttributeUpdates, AttributesToGet and ConditionalOperator.
// Libraries written against DynamoDB Local still send them. Each is
// validated with DynamoDB's messages and then rewritten into the expression
// it means (with generated #lN/:lN placeholders), so one evaluator serves
// both families and their semantics cannot drift apart. Mixing the families
// is refused before any rewrite, so the generated placeholders never meet a
// caller's own, except KeyConditions, which DynamoDB lets a request combine
// with a FilterExpression: it becomes an expr.KeyCondition directly.

// Condition is one entry of KeyConditions, QueryFilter or ScanFilter.
type Condition struct {
	ComparisonOperator string       `json:"ComparisonOperator"`
	AttributeValueList []expr.Value `json:"AttributeValueList,omitempty"`
}

// ExpectedAttributeValue is one entry of Expected: either Exists/Value or
// ComparisonOperator/AttributeValueList.
type ExpectedAttributeValue struct {
	Value              *expr.Value   `json:"Value,omitempty"`
	Exists             *bool         `json:"Exists,omitempty"`
	ComparisonOperator string        `json:"ComparisonOperator,omitempty"`
	AttributeValueList *[]expr.Value `json:"AttributeValueList,omitempty"`
}

// AttributeValueUpdate is one entry of AttributeUpdates.
type AttributeValueUpdate struct {
	Value  *expr.Value `json:"Value,omitempty"`
	Action string      `json:"Action,omitempty"`
}

// param is a request parameter and whether the request set it.
type param struct {
	name string
	set  bool
}

// checkMix refuses a request that sets parameters of both families, with
// DynamoDB's message listing each family's parameters in its own order.
func checkMix(exprParams, legacyParams []param) error {
	var e, l []string
	for _, p := range exprParams {
		if p.set {
			e = append(e, p.name)
		}
	}
	if len(e) == 0 {
		return nil
	}
	for _, p := range legacyParams {
		if p.set {
			l = append(l, p.name)
		}
	}
	if len(l) == 0 {
		return nil
	}
	return validationErr("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {" + strings.Join(l, ", ") + "} Expression parameters: {" + strings.Join(e, ", ") + "}")
}

// legacyExpr accumulates the placeholders of rewritten legacy parameters.
type legacyExpr struct {
	names  map[string]string
	values map[string]expr.Value
}

func (b *legacyExpr) name(attr string) string {
	if b.names == nil {
		b.names = map[string]string{}
	}
	k := "#l" + strconv.Itoa(len(b.names))
	b.names[k] = attr
	return k
}

func (b *legacyExpr) value(v expr.Value) string {
	if b.values == nil {
		b.values = map[string]expr.Value{}
	}
	k := ":l" + strconv.Itoa(len(b.values))
	b.values[k] = v
	return k
}

// params is the placeholder maps to give the expression parser.
func (b *legacyExpr) params() exprParams {
	return exprParams{ExpressionAttributeNames: b.names, ExpressionAttributeValues: b.values}
}

// argCounts is how many values each comparison operator takes (-1: one or more).
var argCounts = map[string]int{
	"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1,
	"CONTAINS": 1, "NOT_CONTAINS": 1, "BEGINS_WITH": 1,
	"NULL": 0, "NOT_NULL": 0, "IN": -1, "BETWEEN": 2,
}

// argTypes is the value types each operator accepts.
var argTypes = map[string]string{
	"EQ": "S N B SS NS BS", "NE": "S N B SS NS BS",
	"LE": "S N B", "LT": "S N B", "GE": "S N B", "GT": "S N B",
	"CONTAINS": "S N B", "NOT_CONTAINS": "S N B", "BEGINS_WITH": "S B",
	"IN": "S N B", "BETWEEN": "S N B",
}

const operatorEnum = "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"

// checkComparison validates one comparison as DynamoDB does: the operator,
// the number of values, one type among them, the types the operator takes,
// and BETWEEN's bounds in order. where is the member path for enum errors.
func checkComparison(op string, vals []expr.Value, where string) error {
	want, ok := argCounts[op]
	if !ok {
		return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at '%s.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: %s", op, where, operatorEnum))
	}
	if (want >= 0 && len(vals) != want) || (want < 0 && len(vals) == 0) {
		return validationErr("One or more parameter values were invalid: Invalid number of argument(s) for the " + op + " ComparisonOperator")
	}
	for _, v := range vals[min(1, len(vals)):] {
		if v.Type() != vals[0].Type() {
			return validationErr("One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type")
		}
	}
	if types, ok := argTypes[op]; ok {
		for _, v := range vals {
			if !slices.Contains(strings.Fields(types), v.Type()) {
				return validationErr("One or more parameter values were invalid: ComparisonOperator " + op + " is not valid for " + v.Type() + " AttributeValue type")
			}
		}
	}
	if op == "BETWEEN" {
		if c, ok := expr.Compare(vals[0], vals[1]); ok && c > 0 {
			return validationErr("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
		}
	}
	return nil
}

// comparison renders one legacy comparison as condition expression text.
func (b *legacyExpr) comparison(attr, op string, vals []expr.Value) string {
	a := b.name(attr)
	v := make([]string, len(vals))
	for i, x := range vals {
		v[i] = b.value(x)
	}
	switch op {
	case "EQ":
		return a + " = " + v[0]
	case "NE":
		return a + " <> " + v[0]
	case "LE":
		return a + " <= " + v[0]
	case "LT":
		return a + " < " + v[0]
	case "GE":
		return a + " >= " + v[0]
	case "GT":
		return a + " > " + v[0]
	case "NULL":
		return "attribute_not_exists(" + a + ")"
	case "NOT_NULL":
		return "attribute_exists(" + a + ")"
	case "CONTAINS":
		return "contains(" + a + ", " + v[0] + ")"
	case "NOT_CONTAINS":
		return "NOT contains(" + a + ", " + v[0] + ")"
	case "BEGINS_WITH":
		return "begins_with(" + a + ", " + v[0] + ")"
	case "IN":
		return a + " IN (" + strings.Join(v, ", ") + ")"
	case "BETWEEN":
		return a + " BETWEEN " + v[0] + " AND " + v[1]
	}
	return ""
}

func checkConditionalOperator(op string) error {
	switch op {
	case "", "AND", "OR":
		return nil
	}
	return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]", op))
}

func join(parts []string, conditionalOperator string) string {
	sep := " AND "
	if conditionalOperator == "OR" {
		sep = " OR "
	}
	for i, p := range parts {
		parts[i] = "(" + p + ")"
	}
	return strings.Join(parts, sep)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// filter rewrites QueryFilter or ScanFilter (param names it for messages).
func (b *legacyExpr) filter(conds map[string]Condition, conditionalOperator, param string) (string, error) {
	if err := checkConditionalOperator(conditionalOperator); err != nil {
		return "", err
	}
	var parts []string
	for _, attr := range sortedKeys(conds) {
		c := conds[attr]
		if err := checkComparison(c.ComparisonOperator, c.AttributeValueList, param+"."+attr+".member"); err != nil {
			return "", err
		}
		parts = append(parts, b.comparison(attr, c.ComparisonOperator, c.AttributeValueList))
	}
	return join(parts, conditionalOperator), nil
}

// expected rewrites Expected into a ConditionExpression.
func (b *legacyExpr) expected(exp map[string]ExpectedAttributeValue, conditionalOperator string) (string, error) {
	if err := checkConditionalOperator(conditionalOperator); err != nil {
		return "", err
	}
	const invalid = "One or more parameter values were invalid: "
	var parts []string
	for _, attr := range sortedKeys(exp) {
		c := exp[attr]
		if c.AttributeValueList != nil && c.Value != nil {
			return "", validationErr(invalid + "Value and AttributeValueList cannot be used together for Attribute: " + attr)
		}
		if c.ComparisonOperator != "" {
			if c.Exists != nil {
				return "", validationErr(invalid + "Exists and ComparisonOperator cannot be used together for Attribute: " + attr)
			}
			var vals []expr.Value
			switch {
			case c.AttributeValueList != nil:
				vals = *c.AttributeValueList
			case c.Value != nil:
				vals = []expr.Value{*c.Value}
			case c.ComparisonOperator != "NULL" && c.ComparisonOperator != "NOT_NULL":
				if _, known := argCounts[c.ComparisonOperator]; known {
					return "", validationErr(invalid + "Value or AttributeValueList must be used with ComparisonOperator: " + c.ComparisonOperator + " for Attribute: " + attr)
				}
			}
			if err := checkComparison(c.ComparisonOperator, vals, "expected."+attr+".member"); err != nil {
				return "", err
			}
			parts = append(parts, b.comparison(attr, c.ComparisonOperator, vals))
			continue
		}
		if c.AttributeValueList != nil {
			return "", validationErr(invalid + "AttributeValueList can only be used with a ComparisonOperator for Attribute: " + attr)
		}
		exists := c.Exists == nil || *c.Exists
		switch {
		case exists && c.Value == nil:
			state := "null"
			if c.Exists != nil {
				state = "true"
			}
			return "", validationErr(invalid + "Value must be provided when Exists is " + state + " for Attribute: " + attr)
		case !exists && c.Value != nil:
			return "", validationErr(invalid + "Value cannot be used when Exists is false for Attribute: " + attr)
		case exists:
			parts = append(parts, b.comparison(attr, "EQ", []expr.Value{*c.Value}))
		default:
			parts = append(parts, b.comparison(attr, "NULL", nil))
		}
	}
	return join(parts, conditionalOperator), nil
}

// updates rewrites AttributeUpdates into an UpdateExpression.
func (b *legacyExpr) updates(ups map[string]AttributeValueUpdate) (string, error) {
	const invalid = "One or more parameter values were invalid: "
	var set, remove, add, del []string
	for _, attr := range sortedKeys(ups) {
		u := ups[attr]
		action := u.Action
		if action == "" {
			action = "PUT"
		}
		switch action {
		case "PUT", "ADD", "DELETE":
		default:
			return "", validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeUpdates.%s.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]", u.Action, attr))
		}
		if u.Value == nil {
			if action != "DELETE" {
				return "", validationErr(invalid + "Only DELETE action is allowed when no attribute value is specified")
			}
			remove = append(remove, b.name(attr))
			continue
		}
		typ := u.Value.Type()
		switch action {
		case "PUT":
			set = append(set, b.name(attr)+" = "+b.value(*u.Value))
		case "DELETE":
			if typ != expr.TypeSS && typ != expr.TypeNS && typ != expr.TypeBS {
				return "", validationErr(invalid + "DELETE action with value is not supported for the type " + typ)
			}
			del = append(del, b.name(attr)+" "+b.value(*u.Value))
		case "ADD":
			switch typ {
			case expr.TypeN, expr.TypeSS, expr.TypeNS, expr.TypeBS:
				add = append(add, b.name(attr)+" "+b.value(*u.Value))
			case expr.TypeL:
				// ADD of a list appends to the stored list (or starts one).
				a := b.name(attr)
				set = append(set, a+" = list_append(if_not_exists("+a+", "+b.value(expr.L())+"), "+b.value(*u.Value)+")")
			default:
				return "", validationErr(invalid + "ADD action is not supported for the type " + typ)
			}
		}
	}
	var clauses []string
	for _, c := range []struct {
		kw   string
		list []string
	}{{"SET", set}, {"REMOVE", remove}, {"ADD", add}, {"DELETE", del}} {
		if len(c.list) > 0 {
			clauses = append(clauses, c.kw+" "+strings.Join(c.list, ", "))
		}
	}
	return strings.Join(clauses, " "), nil
}

// projection rewrites AttributesToGet into a ProjectionExpression.
func (b *legacyExpr) projection(attrs []string) (string, error) {
	seen := map[string]bool{}
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		if seen[a] {
			return "", validationErr("One or more parameter values were invalid: Duplicate value in attribute name: " + a)
		}
		seen[a] = true
		parts = append(parts, b.name(a))
	}
	return strings.Join(parts, ", "), nil
}

// keyConditions turns KeyConditions into a KeyCondition on the queried key
// schema, with DynamoDB's messages.
func keyConditions(conds map[string]Condition, keys keySchema) (*expr.KeyCondition, error) {
	for _, attr := range sortedKeys(conds) {
		c := conds[attr]
		if err := checkComparison(c.ComparisonOperator, c.AttributeValueList, "keyConditions."+attr+".member"); err != nil {
			return nil, err
		}
	}
	if len(conds) != 1 && len(conds) != 2 {
		return nil, validationErr("Conditions can be of length 1 or 2 only")
	}
	kc := &expr.KeyCondition{}
	for _, kd := range []keyDef{keys.hash, keys.rng} {
		if kd.name == "" {
			if len(conds) > 1 {
				return nil, validationErr("Query key condition not supported")
			}
			break
		}
		c, ok := conds[kd.name]
		if !ok {
			if kd == keys.hash || len(conds) > 1 {
				return nil, validationErr("Query condition missed key schema element: " + kd.name)
			}
			continue
		}
		op := c.ComparisonOperator
		switch op {
		case "NULL", "NOT_NULL", "NE", "CONTAINS", "NOT_CONTAINS", "IN":
			return nil, validationErr("Attempted conditional constraint is not an indexable operation")
		}
		for _, v := range c.AttributeValueList {
			if v.Type() != kd.typ {
				return nil, validationErr("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
		}
		if kd == keys.hash {
			if op != "EQ" {
				return nil, validationErr("Query key condition not supported")
			}
			kc.HashKey, kc.HashValue = kd.name, c.AttributeValueList[0]
			continue
		}
		kc.RangeKey, kc.RangeValues = kd.name, c.AttributeValueList
		kc.RangeOp = map[string]string{"EQ": expr.KeyEqual, "LT": expr.KeyLess, "LE": expr.KeyLessOrEqual, "GT": expr.KeyGreater, "GE": expr.KeyGreaterOrEqual, "BETWEEN": expr.KeyBetween, "BEGINS_WITH": expr.KeyBeginsWith}[op]
	}
	return kc, nil
}

// install makes the rewritten placeholders the request's own. A request
// that uses legacy parameters may not bring placeholder maps of its own.
func (b *legacyExpr) install(p *exprParams) error {
	if p.ExpressionAttributeNames != nil {
		return validationErr("ExpressionAttributeNames can only be specified when using expressions")
	}
	if p.ExpressionAttributeValues != nil {
		return validationErr("ExpressionAttributeValues can only be specified when using expressions")
	}
	*p = b.params()
	return nil
}

// rewriteWrite rewrites Expected into *condition (and AttributeUpdates into
// *update when updates is not nil) after checking that the request does not
// mix the families. exprNames are the request's expression parameters.
func rewriteWrite(p *exprParams, lc legacyConditional, condition *string, updates map[string]AttributeValueUpdate, update *string) error {
	exprs := []param{{"ConditionExpression", *condition != ""}}
	legacy := []param{{"Expected", lc.Expected != nil}, {"ConditionalOperator", lc.ConditionalOperator != ""}}
	if update != nil {
		exprs = append([]param{{"UpdateExpression", *update != ""}}, exprs...)
		legacy = append([]param{{"AttributeUpdates", updates != nil}}, legacy...)
	}
	if err := checkMix(exprs, legacy); err != nil {
		return err
	}
	if lc.Expected == nil && updates == nil {
		return checkConditionalOperator(lc.ConditionalOperator)
	}
	var b legacyExpr
	var err error
	if updates != nil {
		if *update, err = b.updates(updates); err != nil {
			return err
		}
	}
	if lc.Expected != nil {
		if *condition, err = b.expected(lc.Expected, lc.ConditionalOperator); err != nil {
			return err
		}
	}
	return b.install(p)
}

// rewriteRead rewrites a Query's or Scan's legacy filter (filterParam names
// it: QueryFilter or ScanFilter) and AttributesToGet. keyConditions tells
// whether a Query uses KeyConditions, which may go with expressions.
func rewriteRead(p *exprParams, lr legacyRead, filter map[string]Condition, filterParam string, filterExpr, projExpr *string, keyCondExpr *string, keyConds bool) error {
	exprs := []param{{"ProjectionExpression", *projExpr != ""}, {"FilterExpression", *filterExpr != ""}}
	legacy := []param{{"AttributesToGet", lr.AttributesToGet != nil}, {filterParam, filter != nil}, {"ConditionalOperator", lr.ConditionalOperator != ""}}
	if keyCondExpr != nil {
		exprs = append(exprs, param{"KeyConditionExpression", *keyCondExpr != ""})
		legacy = append(legacy, param{"KeyConditions", keyConds && *keyCondExpr != ""})
	}
	if err := checkMix(exprs, legacy); err != nil {
		return err
	}
	if filter == nil && lr.AttributesToGet == nil {
		return checkConditionalOperator(lr.ConditionalOperator)
	}
	var b legacyExpr
	var err error
	if lr.AttributesToGet != nil {
		if *projExpr, err = b.projection(lr.AttributesToGet); err != nil {
			return err
		}
	}
	if filter != nil {
		param := strings.ToLower(filterParam[:1]) + filterParam[1:]
		if *filterExpr, err = b.filter(filter, lr.ConditionalOperator, param); err != nil {
			return err
		}
	}
	return b.install(p)
}

// rewriteProjection rewrites AttributesToGet of GetItem and BatchGetItem.
func rewriteProjection(p *exprParams, attrs []string, projExpr *string) error {
	if err := checkMix([]param{{"ProjectionExpression", *projExpr != ""}}, []param{{"AttributesToGet", attrs != nil}}); err != nil {
		return err
	}
	if attrs == nil {
		return nil
	}
	var b legacyExpr
	var err error
	if *projExpr, err = b.projection(attrs); err != nil {
		return err
	}
	return b.install(p)
}
