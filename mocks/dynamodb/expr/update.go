package expr

import (
	"bytes"
	"maps"
	"slices"
	"strings"
)

// Update is a parsed UpdateExpression. A nil *Update changes nothing.
type Update struct {
	sets    []setAction
	removes []docPath
	adds    []valueAction
	deletes []valueAction
	used    placeholders
}

// setAction is "path = value" where value may be computed.
type setAction struct {
	path  docPath
	value *operand
}

// valueAction is "path :value" of ADD and DELETE.
type valueAction struct {
	path  docPath
	value Value
}

var (
	errIncorrectOperandType = validation("An operand in the update expression has an incorrect data type")
	errMissingAttribute     = validation("The provided expression refers to an attribute that does not exist in the item")
)

// ParseUpdate parses an UpdateExpression: SET, REMOVE, ADD and DELETE
// clauses, each at most once and in any order.
func ParseUpdate(expression string, names map[string]string, values map[string]Value) (*Update, error) {
	p, err := newParser(UpdateExpression, expression, names, values)
	if err != nil {
		return nil, err
	}
	u := &Update{}
	seen := map[string]bool{}
	for p.peek().kind != tokEOF {
		t := p.peek()
		clause := strings.ToUpper(t.text)
		if t.kind != tokIdent || (clause != "SET" && clause != "REMOVE" && clause != "ADD" && clause != "DELETE") {
			return nil, p.syntaxError()
		}
		p.next()
		if seen[clause] {
			p.semantic("The \"" + clause + "\" section can only be used once in an update expression;")
		}
		seen[clause] = true
		for {
			if err := p.parseUpdateAction(u, clause); err != nil {
				return nil, err
			}
			if !p.isOp(",") {
				break
			}
			p.next()
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	if err := checkPathSet("Invalid UpdateExpression: ", u.targets()); err != nil {
		return nil, err
	}
	u.used = p.used()
	return u, nil
}

func (p *parser) parseUpdateAction(u *Update, clause string) error {
	path, err := p.parsePath()
	if err != nil {
		return err
	}
	switch clause {
	case "SET":
		if err := p.expectOp("="); err != nil {
			return err
		}
		value, err := p.parseSetValue()
		if err != nil {
			return err
		}
		u.sets = append(u.sets, setAction{path: path, value: value})
	case "REMOVE":
		u.removes = append(u.removes, path)
	case "ADD", "DELETE":
		t := p.peek()
		if t.kind != tokValue {
			return p.syntaxError()
		}
		p.next()
		value := p.valueOperand(t).value
		if clause == "ADD" {
			if !value.IsZero() && !slices.Contains([]string{TypeN, TypeSS, TypeNS, TypeBS}, value.typ) {
				p.semantic("Incorrect operand type for operator or function; operator: ADD, operand type: " + typeWord(value.typ) + ", typeSet: ALLOWED_FOR_ADD_OPERAND")
			}
			u.adds = append(u.adds, valueAction{path: path, value: value})
		} else {
			if !value.IsZero() && !slices.Contains([]string{TypeSS, TypeNS, TypeBS}, value.typ) {
				p.semantic("Incorrect operand type for operator or function; operator: DELETE, operand type: " + typeWord(value.typ) + ", typeSet: ALLOWED_FOR_DELETE_OPERAND")
			}
			u.deletes = append(u.deletes, valueAction{path: path, value: value})
		}
	}
	return nil
}

// parseSetValue parses operand [ ('+' | '-') operand ].
func (p *parser) parseSetValue() (*operand, error) {
	left, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	kind := opPlus
	switch {
	case p.isOp("+"):
	case p.isOp("-"):
		kind = opMinus
	default:
		return left, nil
	}
	p.next()
	right, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	return &operand{kind: kind, args: []*operand{left, right}}, nil
}

// targets lists every path the update writes, in clause order.
func (u *Update) targets() []docPath {
	var paths []docPath
	for _, s := range u.sets {
		paths = append(paths, s.path)
	}
	paths = append(paths, u.removes...)
	for _, a := range u.adds {
		paths = append(paths, a.path)
	}
	for _, d := range u.deletes {
		paths = append(paths, d.path)
	}
	return paths
}

// Attributes returns the top-level attribute names the update writes,
// sorted; the caller uses it to reject updates of key attributes and to build
// UPDATED_OLD/UPDATED_NEW responses.
func (u *Update) Attributes() []string {
	if u == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, p := range u.targets() {
		seen[p[0].name] = true
	}
	return sortedKeys(seen)
}

// Apply returns a new item with the update applied, and the sorted top-level
// attribute names the update touched. The input item is not modified. As in
// DynamoDB, every right-hand side is computed from the original item, so
// "SET a = b, b = a" swaps.
func (u *Update) Apply(item Item) (Item, []string, error) {
	out := maps.Clone(item)
	if out == nil {
		out = Item{}
	}
	if u == nil {
		return out, nil, nil
	}
	values := make([]Value, len(u.sets))
	for i, s := range u.sets {
		v, err := s.value.updateValue(item)
		if err != nil {
			return nil, nil, err
		}
		values[i] = v
	}
	var err error
	for i, s := range u.sets {
		if out, err = setPath(out, s.path, values[i]); err != nil {
			return nil, nil, err
		}
	}
	for _, path := range removalOrder(u.removes) {
		out = removePath(out, path)
	}
	for _, a := range u.adds {
		if out, err = applyAdd(out, a); err != nil {
			return nil, nil, err
		}
	}
	for _, d := range u.deletes {
		if out, err = applyDelete(out, d); err != nil {
			return nil, nil, err
		}
	}
	return out, u.Attributes(), nil
}

// removalOrder sorts removals so that, within one list, higher indexes go
// first: "REMOVE a[0], a[1]" then removes the two original elements rather
// than shifting the second into the first one's place.
func removalOrder(paths []docPath) []docPath {
	sorted := slices.Clone(paths)
	slices.SortStableFunc(sorted, func(a, b docPath) int {
		for i := range min(len(a), len(b)) {
			x, y := a[i], b[i]
			if x.isIndex && y.isIndex && x.index != y.index {
				return y.index - x.index
			}
			if !x.isIndex && !y.isIndex && x.name != y.name {
				return strings.Compare(x.name, y.name)
			}
		}
		return 0
	})
	return sorted
}

// updateValue computes a SET right-hand side against the original item.
func (o *operand) updateValue(item Item) (Value, error) {
	switch o.kind {
	case opValue:
		return o.value, nil
	case opPath:
		v := o.path.lookup(item)
		if v.IsZero() {
			return Value{}, errMissingAttribute
		}
		return v, nil
	case opIfNotExists:
		if v := o.args[0].path.lookup(item); !v.IsZero() {
			return v, nil
		}
		return o.args[1].updateValue(item)
	case opListAppend:
		a, err := o.args[0].updateValue(item)
		if err != nil {
			return Value{}, err
		}
		b, err := o.args[1].updateValue(item)
		if err != nil {
			return Value{}, err
		}
		if a.typ != TypeL || b.typ != TypeL {
			return Value{}, errIncorrectOperandType
		}
		return L(append(slices.Clone(a.l), b.l...)...), nil
	case opPlus, opMinus:
		a, err := o.args[0].updateValue(item)
		if err != nil {
			return Value{}, err
		}
		b, err := o.args[1].updateValue(item)
		if err != nil {
			return Value{}, err
		}
		if a.typ != TypeN || b.typ != TypeN {
			return Value{}, errIncorrectOperandType
		}
		right := b.num
		if o.kind == opMinus {
			right = negateDecimal(right)
		}
		sum, err := addDecimal(a.num, right)
		if err != nil {
			return Value{}, err
		}
		return numberValue(sum), nil
	}
	// Parsing rejects every other operand kind in updates.
	return Value{}, errIncorrectOperandType
}

// applyAdd adds a number or unions a set; a missing attribute is created.
func applyAdd(item Item, a valueAction) (Item, error) {
	current := a.path.lookup(item)
	if current.IsZero() {
		return setPath(item, a.path, a.value)
	}
	if current.typ != a.value.typ {
		return nil, errIncorrectOperandType
	}
	var result Value
	switch current.typ {
	case TypeN:
		sum, err := addDecimal(current.num, a.value.num)
		if err != nil {
			return nil, err
		}
		result = numberValue(sum)
	case TypeSS:
		result = SS(append(slices.Clone(current.strs), a.value.strs...)...)
	case TypeNS:
		result = numberSet(append(slices.Clone(current.nums), a.value.nums...))
	case TypeBS:
		result = BS(append(slices.Clone(current.bins), a.value.bins...)...)
	default:
		return nil, errIncorrectOperandType
	}
	return setPath(item, a.path, result)
}

// applyDelete removes set members; an emptied set removes the attribute
// because DynamoDB cannot store empty sets.
func applyDelete(item Item, d valueAction) (Item, error) {
	current := d.path.lookup(item)
	if current.IsZero() {
		return item, nil
	}
	if current.typ != d.value.typ {
		return nil, errIncorrectOperandType
	}
	var result Value
	switch current.typ {
	case TypeSS:
		result = SS(slices.DeleteFunc(slices.Clone(current.strs), func(s string) bool { return slices.Contains(d.value.strs, s) })...)
	case TypeNS:
		result = numberSet(slices.DeleteFunc(slices.Clone(current.nums), func(x decimal) bool {
			return slices.ContainsFunc(d.value.nums, func(y decimal) bool { return compareDecimal(x, y) == 0 })
		}))
	case TypeBS:
		result = BS(slices.DeleteFunc(slices.Clone(current.bins), func(x []byte) bool {
			return slices.ContainsFunc(d.value.bins, func(y []byte) bool { return bytes.Equal(x, y) })
		})...)
	default:
		return nil, errIncorrectOperandType
	}
	if size, _ := result.Size(); size == 0 {
		return removePath(item, d.path), nil
	}
	return setPath(item, d.path, result)
}

// UsedNames returns the #placeholders the expression referenced, sorted.
func (u *Update) UsedNames() []string {
	if u == nil {
		return nil
	}
	return u.used.names
}

// UsedValues returns the :placeholders the expression referenced, sorted.
func (u *Update) UsedValues() []string {
	if u == nil {
		return nil
	}
	return u.used.values
}
