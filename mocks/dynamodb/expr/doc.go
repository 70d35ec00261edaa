// Package expr implements the data model and the expression language of the
// DynamoDB mock: attribute values with their JSON 1.0 wire encoding, and
// parsers/evaluators for ConditionExpression, FilterExpression,
// KeyConditionExpression, ProjectionExpression and UpdateExpression.
//
// The package is pure (no I/O) and never panics on user input: every problem a
// client can cause is reported as a *ValidationError whose Message mirrors the
// text real DynamoDB returns, so that SDK-based tests see the same errors
// against the mock as against AWS.
//
// Typical use inside a request handler:
//
//	if err := expr.ValidateAttributeMaps(names, values); err != nil { ... }
//	cond, err := expr.ParseCondition(expr.ConditionExpression, req.ConditionExpression, names, values)
//	upd, err := expr.ParseUpdate(req.UpdateExpression, names, values)
//	if err := expr.CheckUnused(names, values, cond, upd); err != nil { ... }
//	ok, err := cond.Eval(oldItem) // a nil *Condition always holds
//	newItem, changed, err := upd.Apply(oldItem)
//
// Parsers report syntax errors first, then reserved words, undefined
// placeholders and other semantic errors, in that order, because DynamoDB
// validates a complete syntax tree. Key-schema checks that need the table
// definition (key attribute types, updates of key attributes, key attributes
// in a FilterExpression, the 400 KB item limit) are left to the caller; the
// Attributes methods and ItemSize give it what it needs.
package expr
