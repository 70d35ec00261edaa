package expr

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
)

// Condition is a parsed ConditionExpression or FilterExpression (and the
// tree behind a KeyConditionExpression). A nil *Condition is "no condition"
// and always holds.
type Condition struct {
	root *condNode
	used placeholders
}

// condNode is a boolean node: AND/OR/NOT over children, or a comparison,
// BETWEEN, IN or function over operands.
type condNode struct {
	op       string // AND, OR, NOT, =, <>, <, <=, >, >=, BETWEEN, IN, or a function name
	children []*condNode
	args     []*operand
	// parenthesized marks a node written as "( ... )" so that "((x))" can be
	// rejected as DynamoDB does.
	parenthesized bool
}

func isComparator(t token) bool {
	if t.kind != tokOp {
		return false
	}
	switch t.text {
	case "=", "<>", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// ParseCondition parses a ConditionExpression or FilterExpression (kind
// selects the name used in error messages). Placeholders are resolved from
// names and values; every problem is a *ValidationError.
func ParseCondition(kind Kind, expression string, names map[string]string, values map[string]Value) (*Condition, error) {
	p, err := newParser(kind, expression, names, values)
	if err != nil {
		return nil, err
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return &Condition{root: root, used: p.used()}, nil
}

// Precedence, loosest first: OR, AND, NOT, then comparisons/BETWEEN/IN/functions.
func (p *parser) parseOr() (*condNode, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &condNode{op: "OR", children: []*condNode{left, right}}
	}
	return left, nil
}

func (p *parser) parseAnd() (*condNode, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = &condNode{op: "AND", children: []*condNode{left, right}}
	}
	return left, nil
}

func (p *parser) parseNot() (*condNode, error) {
	if !p.isKeyword("NOT") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next()
	inner, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return &condNode{op: "NOT", children: []*condNode{inner}}, nil
}

func (p *parser) parsePrimary() (*condNode, error) {
	t := p.peek()
	if t.kind == tokOp && t.text == "(" {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		p.next()
		inner, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		if inner.parenthesized {
			p.semantic("The expression has redundant parentheses;")
		}
		inner.parenthesized = true
		return inner, nil
	}
	if t.kind == tokIdent && t.text != "size" && isConditionFunction(t.text) && p.peekAt(1).text == "(" && p.peekAt(1).kind == tokOp {
		return p.parseConditionFunction()
	}
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	switch {
	case isComparator(p.peek()):
		op := p.next().text
		right, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &condNode{op: op, args: []*operand{left, right}}, nil
	case p.isKeyword("BETWEEN"):
		p.next()
		low, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntaxError()
		}
		p.next()
		high, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		p.checkBetweenBounds(low, high)
		return &condNode{op: "BETWEEN", args: []*operand{left, low, high}}, nil
	case p.isKeyword("IN"):
		p.next()
		list, err := p.parseInList()
		if err != nil {
			return nil, err
		}
		return &condNode{op: "IN", args: append([]*operand{left}, list...)}, nil
	}
	if left.kind == opOtherFunction {
		// An unknown function used as a condition: its error was recorded
		// and is more helpful than a syntax error on what follows.
		return &condNode{op: "invalid function", args: left.args}, nil
	}
	return nil, p.syntaxError()
}

func (p *parser) parseInList() ([]*operand, error) {
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var list []*operand
	for {
		item, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		list = append(list, item)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if len(list) > maxInOperands {
		p.semantic("The IN operator is provided with too many operands; number of operands: " + strconv.Itoa(len(list)))
	}
	return list, p.expectOp(")")
}

// checkBetweenBounds applies DynamoDB's static check on literal bounds.
func (p *parser) checkBetweenBounds(low, high *operand) {
	if low.kind != opValue || high.kind != opValue {
		return
	}
	if cmp, ok := Compare(low.value, high.value); ok && cmp > 0 {
		p.semantic("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: " +
			messageValue(low.value) + ", upper bound operand: AttributeValue: " + messageValue(high.value))
	}
}

// messageValue renders a scalar as DynamoDB does inside messages: {N:10}.
func messageValue(v Value) string {
	text := v.str
	if v.typ == TypeB {
		text = base64.StdEncoding.EncodeToString(v.bin)
	}
	return "{" + v.typ + ":" + text + "}"
}

var validTypeNames = []string{TypeS, TypeSS, TypeN, TypeNS, TypeB, TypeBS, TypeBOOL, TypeNULL, TypeL, TypeM}

func (p *parser) parseConditionFunction() (*condNode, error) {
	name := p.next().text
	args, err := p.parseArgs()
	if err != nil {
		return nil, err
	}
	switch name {
	case "attribute_exists", "attribute_not_exists":
		if p.checkArity(name, args, 1) {
			p.requirePath(name, args[0])
		}
	case "attribute_type":
		if p.checkArity(name, args, 2) {
			p.requirePath(name, args[0])
			p.checkTypeArgument(args[1])
		}
	case "begins_with":
		if p.checkArity(name, args, 2) {
			p.requirePath(name, args[0])
			if v := args[1]; v.kind == opValue && !v.value.IsZero() && v.value.typ != TypeS && v.value.typ != TypeB {
				p.semantic("Incorrect operand type for operator or function; operator or function: begins_with, operand type: " + v.value.typ)
			}
		}
	case "contains":
		if p.checkArity(name, args, 2) {
			p.requirePath(name, args[0])
		}
	}
	return &condNode{op: name, args: args}, nil
}

func (p *parser) checkTypeArgument(arg *operand) {
	if arg.kind != opValue || arg.value.IsZero() {
		if arg.kind != opValue {
			p.semantic("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: PATH")
		}
		return
	}
	if arg.value.typ != TypeS {
		p.semantic("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: " + arg.value.typ)
		return
	}
	if !slices.Contains(validTypeNames, arg.value.str) {
		p.semantic("Invalid attribute type name found; type: " + arg.value.str + ", valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }")
	}
}

// Eval evaluates the condition against item with DynamoDB semantics:
// comparisons involving a missing attribute or values of different types are
// false (but "<>" is then true), and functions on unsuitable types are false.
// The error is reserved for future checks; evaluation currently cannot fail.
func (c *Condition) Eval(item Item) (bool, error) {
	if c == nil || c.root == nil {
		return true, nil
	}
	return c.root.eval(item), nil
}

// Attributes returns the top-level attribute names the condition reads,
// sorted; the caller uses it to reject key attributes in a FilterExpression.
func (c *Condition) Attributes() []string {
	if c == nil || c.root == nil {
		return nil
	}
	seen := map[string]bool{}
	var walk func(n *condNode)
	walk = func(n *condNode) {
		for _, child := range n.children {
			walk(child)
		}
		for _, a := range n.args {
			collectOperandAttributes(a, seen)
		}
	}
	walk(c.root)
	return sortedKeys(seen)
}

func collectOperandAttributes(o *operand, seen map[string]bool) {
	if o.kind == opPath && len(o.path) > 0 {
		seen[o.path[0].name] = true
	}
	for _, a := range o.args {
		collectOperandAttributes(a, seen)
	}
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// value computes an operand in a condition; the zero Value means "absent".
func (o *operand) conditionValue(item Item) Value {
	switch o.kind {
	case opPath:
		return o.path.lookup(item)
	case opValue:
		return o.value
	case opSize:
		if n, ok := o.args[0].conditionValue(item).Size(); ok {
			return Num(int64(n))
		}
	}
	return Value{}
}

func (n *condNode) eval(item Item) bool {
	switch n.op {
	case "AND":
		return n.children[0].eval(item) && n.children[1].eval(item)
	case "OR":
		return n.children[0].eval(item) || n.children[1].eval(item)
	case "NOT":
		return !n.children[0].eval(item)
	}
	vals := make([]Value, len(n.args))
	for i, a := range n.args {
		vals[i] = a.conditionValue(item)
	}
	switch n.op {
	case "=":
		return !vals[0].IsZero() && Equal(vals[0], vals[1])
	case "<>":
		return !Equal(vals[0], vals[1]) || vals[0].IsZero()
	case "<", "<=", ">", ">=":
		cmp, ok := Compare(vals[0], vals[1])
		return ok && compareHolds(n.op, cmp)
	case "BETWEEN":
		low, okLow := Compare(vals[0], vals[1])
		high, okHigh := Compare(vals[0], vals[2])
		return okLow && okHigh && low >= 0 && high <= 0
	case "IN":
		if vals[0].IsZero() {
			return false
		}
		return slices.ContainsFunc(vals[1:], func(v Value) bool { return Equal(vals[0], v) })
	case "attribute_exists":
		return !vals[0].IsZero()
	case "attribute_not_exists":
		return vals[0].IsZero()
	case "attribute_type":
		return !vals[0].IsZero() && vals[1].typ == TypeS && vals[0].typ == vals[1].str
	case "begins_with":
		return beginsWith(vals[0], vals[1])
	case "contains":
		return contains(vals[0], vals[1])
	}
	return false
}

func compareHolds(op string, cmp int) bool {
	switch op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "=":
		return cmp == 0
	}
	return false
}

func beginsWith(v, prefix Value) bool {
	switch {
	case v.typ == TypeS && prefix.typ == TypeS:
		return strings.HasPrefix(v.str, prefix.str)
	case v.typ == TypeB && prefix.typ == TypeB:
		return bytes.HasPrefix(v.bin, prefix.bin)
	}
	return false
}

// contains implements contains(): substring for S, membership for sets (of
// the matching scalar type) and lists.
func contains(v, member Value) bool {
	switch v.typ {
	case TypeS:
		return member.typ == TypeS && strings.Contains(v.str, member.str)
	case TypeB:
		return member.typ == TypeB && bytes.Contains(v.bin, member.bin)
	case TypeSS:
		return member.typ == TypeS && slices.Contains(v.strs, member.str)
	case TypeNS:
		return member.typ == TypeN && slices.ContainsFunc(v.nums, func(d decimal) bool { return compareDecimal(d, member.num) == 0 })
	case TypeBS:
		return member.typ == TypeB && slices.ContainsFunc(v.bins, func(b []byte) bool { return bytes.Equal(b, member.bin) })
	case TypeL:
		return !member.IsZero() && slices.ContainsFunc(v.l, func(e Value) bool { return Equal(e, member) })
	}
	return false
}

// UsedNames returns the #placeholders the expression referenced, sorted.
func (c *Condition) UsedNames() []string {
	if c == nil {
		return nil
	}
	return c.used.names
}

// UsedValues returns the :placeholders the expression referenced, sorted.
func (c *Condition) UsedValues() []string {
	if c == nil {
		return nil
	}
	return c.used.values
}
