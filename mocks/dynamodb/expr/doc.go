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
//	usage := expr.NewUsage(names, values)
//	cond, err := expr.ParseCondition(expr.ConditionExpression, req.ConditionExpression, names, values, usage)
//	upd, err := expr.ParseUpdate(req.UpdateExpression, names, values, usage)
//	if err := usage.CheckUnused(); err != nil { ... }
//	ok, err := cond.Eval(oldItem)
//	newItem, changed, err := upd.Apply(oldItem)
package expr
