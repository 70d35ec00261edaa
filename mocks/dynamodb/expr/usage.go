package expr

import (
	"slices"
	"strings"
)

// Expression is implemented by every parsed expression: it reports the
// placeholders it referenced so a request's unused ones can be rejected.
// *Condition, *Update, *Projection and *KeyCondition implement it, and nil
// pointers of those types report nothing.
type Expression interface {
	UsedNames() []string
	UsedValues() []string
}

// CheckUnused rejects ExpressionAttributeNames and ExpressionAttributeValues
// entries that none of a request's expressions used, as DynamoDB does. Pass
// every parsed expression of the request (nil ones are fine).
func CheckUnused(names map[string]string, values map[string]Value, exprs ...Expression) error {
	usedNames, usedValues := map[string]bool{}, map[string]bool{}
	for _, e := range exprs {
		if e == nil {
			continue
		}
		for _, n := range e.UsedNames() {
			usedNames[n] = true
		}
		for _, v := range e.UsedValues() {
			usedValues[v] = true
		}
	}
	if unused := unusedKeys(names, usedNames); len(unused) > 0 {
		return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + strings.Join(unused, ", ") + "}")
	}
	if unused := unusedKeys(values, usedValues); len(unused) > 0 {
		return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + strings.Join(unused, ", ") + "}")
	}
	return nil
}

func unusedKeys[V any](provided map[string]V, used map[string]bool) []string {
	var unused []string
	for k := range provided {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	slices.Sort(unused)
	return unused
}

// ValidateAttributeMaps applies DynamoDB's checks on the placeholder maps
// themselves, before any expression is parsed: a map that is present must not
// be empty, and keys must look like #name and :value. Pass nil for an absent
// map.
func ValidateAttributeMaps(names map[string]string, values map[string]Value) error {
	if names != nil && len(names) == 0 {
		return validation("ExpressionAttributeNames must not be empty")
	}
	if values != nil && len(values) == 0 {
		return validation("ExpressionAttributeValues must not be empty")
	}
	for _, k := range sortedKeys(keySet(names)) {
		if !validPlaceholder(k, '#') {
			return validation("ExpressionAttributeNames contains invalid key: Syntax error; key: \"" + k + "\"")
		}
	}
	for _, k := range sortedKeys(keySet(values)) {
		if !validPlaceholder(k, ':') {
			return validation("ExpressionAttributeValues contains invalid key: Syntax error; key: \"" + k + "\"")
		}
	}
	return nil
}

func keySet[V any](m map[string]V) map[string]bool {
	set := make(map[string]bool, len(m))
	for k := range m {
		set[k] = true
	}
	return set
}

func validPlaceholder(key string, sigil byte) bool {
	if len(key) < 2 || key[0] != sigil {
		return false
	}
	for i := 1; i < len(key); i++ {
		if !isIdentPart(key[i]) {
			return false
		}
	}
	return true
}
