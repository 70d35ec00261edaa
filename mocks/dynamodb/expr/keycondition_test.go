package expr

import (
	"testing"
)

func TestParseKeyCondition(t *testing.T) {
	tests := []struct {
		expr      string
		rangeKey  string
		rangeOp   string
		rangeVals int
	}{
		{"pk = :a", "", "", 0},
		{"#pk = :a", "", "", 0},
		{"(pk = :a)", "", "", 0},
		{":a = pk", "", "", 0},
		{"pk = :a AND sk = :one", "sk", "=", 1},
		{"pk = :a AND sk < :one", "sk", "<", 1},
		{"pk = :a AND sk <= :one", "sk", "<=", 1},
		{"pk = :a AND sk > :one", "sk", ">", 1},
		{"pk = :a AND sk >= :one", "sk", ">=", 1},
		{"pk = :a AND :one < sk", "sk", ">", 1},
		{"pk = :a AND sk BETWEEN :one AND :ten", "sk", "BETWEEN", 2},
		{"pk = :a and sk between :one and :ten", "sk", "BETWEEN", 2},
		{"pk = :a AND begins_with(sk, :ab)", "sk", "begins_with", 1},
		{"sk > :one AND pk = :a", "sk", ">", 1},
		{"(pk = :a) AND (sk > :one)", "sk", ">", 1},
	}
	names := map[string]string{"#pk": "pk"}
	for _, tt := range tests {
		kc, err := ParseKeyCondition(tt.expr, names, testValues(t), "pk", "sk")
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if kc.HashKey != "pk" || !Equal(kc.HashValue, S("a")) || kc.RangeKey != tt.rangeKey ||
			kc.RangeOp != tt.rangeOp || len(kc.RangeValues) != tt.rangeVals {
			t.Errorf("%q = %+v", tt.expr, kc)
		}
	}
}

func TestKeyConditionMatches(t *testing.T) {
	tests := []struct {
		expr string
		sk   Value
		want bool
	}{
		{"pk = :a", Num(3), true},
		{"pk = :a AND sk = :five", Num(5), true},
		{"pk = :a AND sk = :five", Num(4), false},
		{"pk = :a AND sk < :five", Num(4), true},
		{"pk = :a AND sk <= :five", Num(5), true},
		{"pk = :a AND sk > :five", Num(5), false},
		{"pk = :a AND sk >= :five", Num(5), true},
		{"pk = :a AND sk BETWEEN :one AND :five", Num(1), true},
		{"pk = :a AND sk BETWEEN :one AND :five", Num(6), false},
		{"pk = :a AND begins_with(sk, :ab)", S("abc"), true},
		{"pk = :a AND begins_with(sk, :ab)", S("b"), false},
		{"pk = :a AND begins_with(sk, :b1)", B([]byte{1, 5}), true},
		{"pk = :a AND sk > :five", S("z"), false},
		{"pk = :a AND sk > :five", Value{}, false},
	}
	for _, tt := range tests {
		kc, err := ParseKeyCondition(tt.expr, nil, testValues(t), "pk", "sk")
		if err != nil {
			t.Fatalf("%q: %v", tt.expr, err)
		}
		item := Item{"pk": S("a")}
		if !tt.sk.IsZero() {
			item["sk"] = tt.sk
		}
		if got := kc.Matches(item); got != tt.want {
			t.Errorf("%q with sk=%v: %v", tt.expr, tt.sk, got)
		}
		if kc.Matches(Item{"pk": S("other"), "sk": tt.sk}) {
			t.Errorf("%q matched another partition", tt.expr)
		}
	}
}

func TestKeyConditionErrors(t *testing.T) {
	const inv = "Invalid KeyConditionExpression: "
	tests := []struct{ expr, rangeKey, want string }{
		{"", "sk", inv + "The expression can not be empty;"},
		{"pk = ", "sk", inv + `Syntax error; token: "<EOF>", near: "="`},
		{"pk = :undefined", "sk", inv + "An expression attribute value used in expression is not defined; attribute value: :undefined"},
		{"sk = :one", "sk", "Query condition missed key schema element: pk"},
		{"attr = :one", "sk", "Query condition missed key schema element: pk"},
		{"pk = :a AND attr = :one", "sk", "Query condition missed key schema element: sk"},
		{"pk = :a AND sk = :one", "", "Query key condition not supported"},
		{"pk > :a", "sk", "Query key condition not supported"},
		{"begins_with(pk, :a)", "sk", "Query key condition not supported"},
		{"pk = sk", "sk", "Query key condition not supported"},
		{"pk.x = :a", "sk", "Query key condition not supported"},
		{"pk = :a OR sk = :one", "sk", "Invalid operator used in KeyConditionExpression: OR"},
		{"NOT pk = :a", "sk", "Invalid operator used in KeyConditionExpression: NOT"},
		{"pk = :a AND sk <> :one", "sk", "Invalid operator used in KeyConditionExpression: <>"},
		{"pk = :a AND sk IN (:one)", "sk", "Invalid operator used in KeyConditionExpression: IN"},
		{"pk = :a AND attribute_exists(sk)", "sk", "Invalid operator used in KeyConditionExpression: attribute_exists"},
		{"pk = :a AND contains(sk, :one)", "sk", "Invalid operator used in KeyConditionExpression: contains"},
		{"pk = :a AND pk = :a", "sk", "KeyConditionExpressions must only contain one condition per key"},
		{"pk = :a AND sk > :one AND sk < :ten", "sk", "Conditions can be of length 1 or 2 only"},
	}
	for _, tt := range tests {
		_, err := ParseKeyCondition(tt.expr, nil, testValues(t), "pk", tt.rangeKey)
		wantValidation(t, tt.expr, err, tt.want)
	}
}
