package expr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// requireValidationError fails unless err is nil or a *ValidationError: the
// package promises typed errors for every client input.
func requireValidationError(t *testing.T, what string, err error) {
	t.Helper()
	var ve *ValidationError
	if err != nil && !errors.As(err, &ve) {
		t.Fatalf("%s: untyped error %T: %v", what, err, err)
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, seed := range []string{
		"a = :one", "n BETWEEN :one AND :ten", "s IN (:a, :ab)", "NOT (a = :one OR b <> :a) AND c < :ten",
		"attribute_exists(m.child.deep)", "attribute_type(#s, :S)", "begins_with(s, :ab)", "contains(l, :one)",
		"size(l[0]) >= :one", "((a = :one))", "status = :one", "#undefined = :undefined", "a != b",
		"pk = :a AND sk BETWEEN :one AND :ten", "pk = :a AND begins_with(sk, :ab)", "a, b.c[1], #s",
		strings.Repeat("(", 100), strings.Repeat("NOT ", 100) + "a = :one", "a[99999999999999999999] = :one",
		"é = :one", "a = :one\x00", "size(size(a)) = :one", "foo(a)(b)",
	} {
		f.Add(seed)
	}
	values := testValues(f)
	item := testItem(f)
	f.Fuzz(func(t *testing.T, expression string) {
		cond, err := ParseCondition(FilterExpression, expression, testNames, values)
		requireValidationError(t, "condition", err)
		if err == nil {
			if _, err := cond.Eval(item); err != nil {
				t.Fatalf("Eval: %v", err)
			}
			cond.Attributes()
		}
		kc, err := ParseKeyCondition(expression, testNames, values, "pk", "sk")
		requireValidationError(t, "key condition", err)
		if err == nil {
			kc.Matches(item)
		}
		proj, err := ParseProjection(expression, testNames)
		requireValidationError(t, "projection", err)
		if err == nil {
			proj.Apply(item)
		}
	})
}

func FuzzParseUpdate(f *testing.F) {
	for _, seed := range []string{
		"SET a = :one", "SET n = n + :one, l = list_append(l, :list) REMOVE s ADD ns :ns DELETE ss :ss",
		"SET c = if_not_exists(c, :zero) - :one", "REMOVE l[0], l[2], m.k", "SET l[100] = :a",
		"SET a = :one SET b = :one", "SET a.b = :one, a[0] = :one", "ADD s :a", "SET x = absent",
		"SET m.child.deep = :one REMOVE m.k", "set #s = :x", "SET a = list_append(if_not_exists(a, :list), :list)",
		"SET " + strings.Repeat("a.", 40) + "b = :one", "SET a = " + strings.Repeat("list_append(", 80),
	} {
		f.Add(seed)
	}
	values := testValues(f)
	f.Fuzz(func(t *testing.T, expression string) {
		u, err := ParseUpdate(expression, testNames, values)
		requireValidationError(t, "parse", err)
		if err != nil {
			return
		}
		item := baseItem(t)
		before, _ := json.Marshal(item)
		out, _, err := u.Apply(item)
		requireValidationError(t, "apply", err)
		if after, _ := json.Marshal(item); string(after) != string(before) {
			t.Fatalf("Apply mutated its input")
		}
		if err == nil {
			if _, err := json.Marshal(out); err != nil {
				t.Fatalf("result does not encode: %v", err)
			}
		}
	})
}

func FuzzValueJSON(f *testing.F) {
	for _, seed := range []string{
		`{"S":"x"}`, `{"N":"-12.50e3"}`, `{"B":"AAEC"}`, `{"BOOL":true}`, `{"NULL":true}`,
		`{"M":{"a":{"L":[{"N":"1"},{"SS":["a","b"]}]}}}`, `{"NS":["1","1.0"]}`, `{"BS":["AA=="]}`,
		`{}`, `{"S":"a","N":"1"}`, `{"N":"1e999999999999999999999"}`, `{"SS":[]}`, nested(40), `[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v Value
		err := json.Unmarshal(data, &v)
		var ve *ValidationError
		var syntaxErr *json.SyntaxError
		if err != nil && !errors.As(err, &ve) && !errors.As(err, &syntaxErr) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if err != nil {
			return
		}
		encoded, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		var again Value
		if err := json.Unmarshal(encoded, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", encoded, err)
		}
		if !Equal(v, again) {
			t.Fatalf("round trip changed %s", encoded)
		}
		v.Size()
		v.ByteSize()
	})
}
