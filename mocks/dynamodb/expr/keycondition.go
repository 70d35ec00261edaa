package expr

// Sort-key operators a KeyConditionExpression may use.
const (
	KeyEqual          = "="
	KeyLess           = "<"
	KeyLessOrEqual    = "<="
	KeyGreater        = ">"
	KeyGreaterOrEqual = ">="
	KeyBetween        = "BETWEEN"
	KeyBeginsWith     = "begins_with"
)

// KeyCondition is a validated KeyConditionExpression: equality on the
// partition key and an optional condition on the sort key.
type KeyCondition struct {
	// HashKey is the partition key attribute name and HashValue its value.
	HashKey   string
	HashValue Value
	// RangeKey is the sort key name, or "" when there is no sort-key condition.
	RangeKey string
	// RangeOp is one of the Key* operators.
	RangeOp string
	// RangeValues holds one value, or two (low, high) for BETWEEN.
	RangeValues []Value
	used        placeholders
}

// ParseKeyCondition parses a KeyConditionExpression and validates it against
// the key schema of the table or index being queried (rangeKey is "" when
// there is no sort key). Checking that value types match the schema is left
// to the caller, which knows the attribute definitions.
func ParseKeyCondition(expression string, names map[string]string, values map[string]Value, hashKey, rangeKey string) (*KeyCondition, error) {
	cond, err := ParseCondition(KeyConditionExpression, expression, names, values)
	if err != nil {
		return nil, err
	}
	var conjuncts []*condNode
	if err := flattenKeyConjuncts(cond.root, &conjuncts); err != nil {
		return nil, err
	}
	if len(conjuncts) > 2 {
		return nil, validation("Conditions can be of length 1 or 2 only")
	}
	kc := &KeyCondition{used: cond.used}
	seen := map[string]bool{}
	var other *keyLeaf
	for _, node := range conjuncts {
		leaf, err := keyLeafOf(node)
		if err != nil {
			return nil, err
		}
		if seen[leaf.attribute] {
			return nil, validation("KeyConditionExpressions must only contain one condition per key")
		}
		seen[leaf.attribute] = true
		if leaf.attribute == hashKey {
			if leaf.op != KeyEqual {
				return nil, validation("Query key condition not supported")
			}
			kc.HashKey, kc.HashValue = hashKey, leaf.values[0]
			continue
		}
		other = leaf
	}
	if kc.HashKey == "" {
		return nil, validation("Query condition missed key schema element: " + hashKey)
	}
	if other != nil {
		if rangeKey == "" {
			return nil, validation("Query key condition not supported")
		}
		if other.attribute != rangeKey {
			return nil, validation("Query condition missed key schema element: " + rangeKey)
		}
		kc.RangeKey, kc.RangeOp, kc.RangeValues = rangeKey, other.op, other.values
	}
	return kc, nil
}

func flattenKeyConjuncts(n *condNode, out *[]*condNode) error {
	switch n.op {
	case "AND":
		for _, c := range n.children {
			if err := flattenKeyConjuncts(c, out); err != nil {
				return err
			}
		}
		return nil
	case "OR", "NOT", "<>", "IN", "attribute_exists", "attribute_not_exists", "attribute_type", "contains":
		return validation("Invalid operator used in KeyConditionExpression: " + n.op)
	}
	*out = append(*out, n)
	return nil
}

// keyLeaf is one "key op values" condition.
type keyLeaf struct {
	attribute string
	op        string
	values    []Value
}

// mirrored flips a comparator for ":v < key" written value-first.
var mirrored = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

func keyLeafOf(n *condNode) (*keyLeaf, error) {
	args, op := n.args, n.op
	if op != KeyBetween && op != KeyBeginsWith && len(args) == 2 && args[0].kind == opValue && args[1].kind == opPath {
		args, op = []*operand{args[1], args[0]}, mirrored[op]
	}
	if len(args) == 0 || args[0].kind != opPath || len(args[0].path) != 1 {
		return nil, validation("Query key condition not supported")
	}
	leaf := &keyLeaf{attribute: args[0].path[0].name, op: op}
	for _, a := range args[1:] {
		if a.kind != opValue {
			return nil, validation("Query key condition not supported")
		}
		leaf.values = append(leaf.values, a.value)
	}
	return leaf, nil
}

// MatchesRange reports whether a sort-key value satisfies the range
// condition; it is true when there is none. Values of another type never
// match.
func (k *KeyCondition) MatchesRange(v Value) bool {
	if k.RangeKey == "" {
		return true
	}
	switch k.RangeOp {
	case KeyBetween:
		low, okLow := Compare(v, k.RangeValues[0])
		high, okHigh := Compare(v, k.RangeValues[1])
		return okLow && okHigh && low >= 0 && high <= 0
	case KeyBeginsWith:
		return beginsWith(v, k.RangeValues[0])
	}
	cmp, ok := Compare(v, k.RangeValues[0])
	return ok && compareHolds(k.RangeOp, cmp)
}

// Matches reports whether item has the partition key value and satisfies the
// sort-key condition.
func (k *KeyCondition) Matches(item Item) bool {
	return Equal(item[k.HashKey], k.HashValue) && (k.RangeKey == "" || k.MatchesRange(item[k.RangeKey]))
}

// UsedNames returns the #placeholders the expression referenced, sorted.
func (k *KeyCondition) UsedNames() []string {
	if k == nil {
		return nil
	}
	return k.used.names
}

// UsedValues returns the :placeholders the expression referenced, sorted.
func (k *KeyCondition) UsedValues() []string {
	if k == nil {
		return nil
	}
	return k.used.values
}
