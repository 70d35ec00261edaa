package expr

import (
	"errors"
	"strings"
	"testing"
)

// testValues are the ExpressionAttributeValues shared by expression tests.
func testValues(t testing.TB) map[string]Value {
	return map[string]Value{
		":zero": Num(0), ":one": Num(1), ":five": Num(5), ":ten": Num(10), ":half": mustN(t, "0.5"),
		":a": S("a"), ":ab": S("ab"), ":abc": S("abc"), ":x": S("x"), ":z": S("z"), ":empty": S(""),
		":b": B([]byte{1, 2}), ":b1": B([]byte{1}), ":true": Bool(true), ":null": Null(),
		":S": S("S"), ":N": S("N"), ":B": S("B"), ":BOOL": S("BOOL"), ":NULL": S("NULL"), ":M": S("M"),
		":L": S("L"), ":SS": S("SS"), ":NS": S("NS"), ":BS": S("BS"), ":bogus": S("STRING"),
		":ss": SS("a", "b"), ":ns": mustNS(t, "1", "2"), ":bs": BS([]byte{9}), ":list": L(Num(1), S("a")),
		":map": M(map[string]Value{"k": S("v")}),
	}
}

var testNames = map[string]string{"#s": "status", "#n": "name", "#dot": "a.b", "#m": "m"}

// testItem exercises every type.
func testItem(t testing.TB) Item {
	return Item{
		"n": Num(5), "s": S("abc"), "e": S(""), "b": B([]byte{1, 2, 3}), "t": Bool(true), "z": Null(),
		"m":  M(map[string]Value{"k": S("v"), "child": M(map[string]Value{"deep": Num(1)})}),
		"l":  L(Num(1), S("a"), L(S("nested"))),
		"ss": SS("a", "b"), "ns": mustNS(t, "1", "2"), "bs": BS([]byte{9}, []byte{8}),
		"status": S("x"), "name": S("alice"), "a.b": S("dotted"), "a": M(map[string]Value{"b": S("nested")}),
	}
}

func TestConditionEval(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		// comparisons
		{"n = :five", true}, {"n = :ten", false}, {"n <> :ten", true}, {"n <> :five", false},
		{"n < :ten", true}, {"n < :five", false}, {"n <= :five", true}, {"n > :one", true},
		{"n > :five", false}, {"n >= :five", true}, {"n >= :ten", false},
		{"s = :abc", true}, {"s > :ab", true}, {"s < :z", true}, {"b > :b", true}, {"b < :b1", false},
		{"t = :true", true}, {"z = :null", true}, {"ss = :ss", true}, {"l = :list", false},
		{"m.k = :x", false}, {"m.child.deep = :one", true}, {"l[0] = :one", true}, {"l[1] = :a", true},
		{"l[2][0] = :x", false}, {"l[9] = :one", false},
		// different types: comparisons are false, <> is true
		{"n = :a", false}, {"n < :a", false}, {"n > :a", false}, {"s <> :five", true},
		{"t < :true", false},
		// absent attributes
		{"absent = :five", false}, {"absent < :five", false}, {"absent <> :five", true},
		{"m.nope.deep = :one", false}, {"s.k = :x", false}, {"s[0] = :a", false},
		// path to path
		{"n = n", true}, {"n > s", false}, {"n <> s", true},
		// BETWEEN
		{"n BETWEEN :one AND :ten", true}, {"n BETWEEN :five AND :five", true}, {"n BETWEEN :zero AND :one", false},
		{"s BETWEEN :a AND :z", true}, {"s BETWEEN :one AND :ten", false}, {"absent BETWEEN :one AND :ten", false},
		{"n between :one and :ten", true},
		// IN
		{"n IN (:one, :five)", true}, {"n IN (:one, :ten)", false}, {"s IN (:abc)", true},
		{"s IN (:five, :abc)", true}, {"absent IN (:one)", false}, {"n in (:five)", true},
		// logic and precedence
		{"n = :five AND s = :abc", true}, {"n = :five AND s = :x", false}, {"n = :one OR s = :abc", true},
		{"n = :one OR s = :x", false}, {"NOT n = :one", true}, {"NOT n = :five", false},
		{"not not n = :five", true},
		{"n = :one AND s = :x OR n = :five", true},    // (F AND F) OR T
		{"n = :five OR n = :one AND s = :x", true},    // T OR (F AND F)
		{"(n = :five OR n = :one) AND s = :x", false}, // parentheses win
		{"NOT n = :one AND n = :five", true},          // (NOT F) AND T
		{"NOT (n = :five AND s = :x)", true},
		{"NOT n = :five OR s = :abc", true}, // (NOT T) OR T
		// functions
		{"attribute_exists(n)", true}, {"attribute_exists(absent)", false}, {"attribute_exists(m.child.deep)", true},
		{"attribute_exists(l[2])", true}, {"attribute_exists(l[3])", false},
		{"attribute_not_exists(absent)", true}, {"attribute_not_exists(n)", false},
		{"attribute_type(s, :S)", true}, {"attribute_type(n, :N)", true}, {"attribute_type(b, :B)", true},
		{"attribute_type(t, :BOOL)", true}, {"attribute_type(z, :NULL)", true}, {"attribute_type(m, :M)", true},
		{"attribute_type(l, :L)", true}, {"attribute_type(ss, :SS)", true}, {"attribute_type(ns, :NS)", true},
		{"attribute_type(bs, :BS)", true}, {"attribute_type(n, :S)", false}, {"attribute_type(absent, :S)", false},
		{"begins_with(s, :ab)", true}, {"begins_with(s, :x)", false}, {"begins_with(s, :empty)", true},
		{"begins_with(b, :b)", true}, {"begins_with(b, :b1)", true}, {"begins_with(n, :a)", false},
		{"begins_with(absent, :a)", false},
		{"contains(s, :ab)", true}, {"contains(s, :z)", false}, {"contains(ss, :a)", true}, {"contains(ss, :x)", false},
		{"contains(ns, :one)", true}, {"contains(ns, :five)", false}, {"contains(bs, :bs)", false},
		{"contains(l, :one)", true}, {"contains(l, :a)", true}, {"contains(l, :x)", false},
		{"contains(ss, :one)", false}, {"contains(n, :five)", false}, {"contains(absent, :a)", false},
		{"contains(s, s)", true},
		{"size(s) = :one", false}, {"size(e) = :zero", true}, {"size(b) > :one", true}, {"size(ss) = :one", false},
		{"size(l) > :one", true}, {"size(m) < :five", true}, {"size(ns) BETWEEN :one AND :five", true},
		{"size(n) = :one", false}, {"size(absent) = :zero", false}, {"size(l) IN (:one, :ten)", false},
		{":five = n", true}, {":one < size(s)", true},
		// placeholders
		{"#s = :x", true}, {"#n = :x", false}, {"#dot = :x", false}, {"attribute_exists(#dot)", true},
		{"attribute_exists(a.b)", true}, {"#m.k = :x", false}, {"attribute_exists(#m.child)", true},
	}
	item := testItem(t)
	for _, tt := range tests {
		c, err := ParseCondition(ConditionExpression, tt.expr, testNames, testValues(t))
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		got, err := c.Eval(item)
		if err != nil || got != tt.want {
			t.Errorf("%q = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
}

func TestConditionNilAlwaysHolds(t *testing.T) {
	var c *Condition
	if ok, err := c.Eval(nil); !ok || err != nil {
		t.Error("nil condition must hold")
	}
	if c.Attributes() != nil || c.UsedNames() != nil || c.UsedValues() != nil {
		t.Error("nil condition reports nothing")
	}
}

func TestConditionAttributes(t *testing.T) {
	c, err := ParseCondition(FilterExpression, "a.b = :one AND (size(l[0]) > :one OR contains(#s, :a))", testNames, testValues(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Attributes(), ","); got != "a,l,status" {
		t.Errorf("Attributes = %s", got)
	}
	if got := strings.Join(c.UsedValues(), ","); got != ":a,:one" {
		t.Errorf("UsedValues = %s", got)
	}
	if got := strings.Join(c.UsedNames(), ","); got != "#s" {
		t.Errorf("UsedNames = %s", got)
	}
}

// wantValidation asserts err is a *ValidationError with exactly msg.
func wantValidation(t *testing.T, context string, err error, msg string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("%s: error = %v (%T), want ValidationError %q", context, err, err, msg)
		return
	}
	if ve.Message != msg {
		t.Errorf("%s:\n got  %q\n want %q", context, ve.Message, msg)
	}
}

func TestConditionErrors(t *testing.T) {
	const inv = "Invalid ConditionExpression: "
	tests := []struct{ expr, want string }{
		{"", inv + "The expression can not be empty;"},
		{"   ", inv + "The expression can not be empty;"},
		{"a = = :one", inv + `Syntax error; token: "=", near: "= = :one"`},
		{"my-attr = :one", inv + `Syntax error; token: "-", near: "my-attr"`},
		{"a = :one AND", inv + `Syntax error; token: "<EOF>", near: "AND"`},
		{"a =", inv + `Syntax error; token: "<EOF>", near: "="`},
		{"a", inv + `Syntax error; token: "<EOF>", near: "a"`},
		{"a != :one", inv + `Syntax error; token: "!", near: "a !="`},
		{"(a = :one", inv + `Syntax error; token: "<EOF>", near: ":one"`},
		{"a = :one)", inv + `Syntax error; token: ")", near: ":one)"`},
		{"a BETWEEN :one OR :ten", inv + `Syntax error; token: "OR", near: ":one OR :ten"`},
		{"a IN :one", inv + `Syntax error; token: ":one", near: "IN :one"`},
		{"a IN ()", inv + `Syntax error; token: ")", near: "()"`},
		{"a[x] = :one", inv + `Syntax error; token: "x", near: "[x]"`},
		{"a. = :one", inv + `Syntax error; token: "=", near: ". = :one"`},
		{"# = :one", inv + `Syntax error; token: "#", near: "# ="`},
		{"a = :", inv + `Syntax error; token: ":", near: "= :"`},
		{"AND = :one", inv + `Syntax error; token: "AND", near: "AND ="`},
		{"size(a)", inv + `Syntax error; token: "<EOF>", near: ")"`},
		{"a = :one b = :one", inv + `Syntax error; token: "b", near: ":one b ="`},
		{"a[99999999999] = :one", inv + `Syntax error; token: "99999999999", near: "[99999999999]"`},
		{"status = :one", inv + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"a.Name = :one", inv + "Attribute name is a reserved keyword; reserved keyword: Name"},
		{"attribute_exists(data)", inv + "Attribute name is a reserved keyword; reserved keyword: data"},
		{"#undefined = :one", inv + "An expression attribute name used in the document path is not defined; attribute name: #undefined"},
		{"a = :undefined", inv + "An expression attribute value used in expression is not defined; attribute value: :undefined"},
		{"#undefined = :undefined", inv + "An expression attribute name used in the document path is not defined; attribute name: #undefined"},
		{"status = :undefined", inv + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"status = :one AND (", inv + `Syntax error; token: "<EOF>", near: "("`},
		{"((a = :one))", inv + "The expression has redundant parentheses;"},
		{"((a = :one) AND b = :one)", ""},
		{"foo(a)", inv + "Invalid function name; function: foo"},
		{"a = foo(b)", inv + "Invalid function name; function: foo"},
		{"ATTRIBUTE_EXISTS(a)", inv + "Invalid function name; function: ATTRIBUTE_EXISTS"},
		{"a = if_not_exists(a, :one)", inv + "The function is not allowed in a condition expression; function: if_not_exists"},
		{"a = attribute_exists(b)", inv + "The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"attribute_exists(a, b)", inv + "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
		{"begins_with(a)", inv + "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"},
		{"size(a, b) = :one", inv + "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2"},
		{"attribute_exists(:one)", inv + "Operator or function requires a document path; operator or function: attribute_exists"},
		{"attribute_not_exists(:one)", inv + "Operator or function requires a document path; operator or function: attribute_not_exists"},
		{"size(:a) = :one", inv + "Operator or function requires a document path; operator or function: size"},
		{"contains(:a, a)", inv + "Operator or function requires a document path; operator or function: contains"},
		{"begins_with(a, :one)", inv + "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
		{"attribute_type(a, :one)", inv + "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"},
		{"attribute_type(a, b)", inv + "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: PATH"},
		{"attribute_type(a, :bogus)", inv + "Invalid attribute type name found; type: STRING, valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }"},
		{"a BETWEEN :ten AND :one", inv + "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}"},
		{"a BETWEEN :z AND :a", inv + "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:z}, upper bound operand: AttributeValue: {S:a}"},
		{"a IN (" + strings.Repeat(":one, ", 100) + ":one)", inv + "The IN operator is provided with too many operands; number of operands: 101"},
		{strings.Repeat("a.", 32) + "a = :one", inv + "The document path has too many nesting levels; nesting levels: 33"},
		{strings.Repeat("(", 70) + "a = :one" + strings.Repeat(")", 70), inv + "The expression has too many nesting levels; maximum nesting levels: 64"},
		{strings.Repeat("NOT ", 70) + "a = :one", inv + "The expression has too many nesting levels; maximum nesting levels: 64"},
		{"a = :one" + strings.Repeat(" ", 4090), inv + "Expression size has exceeded the maximum allowed size; expression size: 4098"},
	}
	for _, tt := range tests {
		_, err := ParseCondition(ConditionExpression, tt.expr, testNames, testValues(t))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: unexpected %v", tt.expr, err)
			}
			continue
		}
		wantValidation(t, tt.expr, err, tt.want)
	}
}

func TestConditionKindInMessages(t *testing.T) {
	for _, kind := range []Kind{ConditionExpression, FilterExpression} {
		_, err := ParseCondition(kind, "a = = :one", nil, testValues(t))
		wantValidation(t, string(kind), err, "Invalid "+string(kind)+`: Syntax error; token: "=", near: "= = :one"`)
	}
}

func TestConditionMaxSizeAccepted(t *testing.T) {
	expr := "a = :one" + strings.Repeat(" ", MaxExpressionSize-8)
	if _, err := ParseCondition(ConditionExpression, expr, nil, testValues(t)); err != nil {
		t.Errorf("4096-byte expression rejected: %v", err)
	}
}
