package expr

import (
	"strings"
	"testing"
)

func baseItem(t testing.TB) Item {
	return Item{
		"pk": S("k"), "n": Num(5), "s": S("abc"),
		"l":  L(Num(0), Num(1), Num(2), Num(3)),
		"m":  M(map[string]Value{"k": S("v"), "child": M(map[string]Value{"deep": Num(1)})}),
		"ss": SS("a", "b"), "ns": mustNS(t, "1", "2"), "bs": BS([]byte{1}, []byte{2}),
		"status": S("old"),
	}
}

func TestUpdateApply(t *testing.T) {
	tests := []struct {
		expr    string
		changes map[string]Value // expected new values; a zero Value means removed
		changed string           // expected changed attribute list
	}{
		{"SET a = :one", map[string]Value{"a": Num(1)}, "a"},
		{"set a = :one, b = :a", map[string]Value{"a": Num(1), "b": S("a")}, "a,b"},
		{"SET n = :ten", map[string]Value{"n": Num(10)}, "n"},
		{"SET n = n + :one", map[string]Value{"n": Num(6)}, "n"},
		{"SET n = n - :ten", map[string]Value{"n": Num(-5)}, "n"},
		{"SET n = :half + n", map[string]Value{"n": mustN(t, "5.5")}, "n"},
		{"SET x = :one + :one", map[string]Value{"x": Num(2)}, "x"},
		{"SET x = n", map[string]Value{"x": Num(5)}, "x"},
		{"SET n = s, s = n", map[string]Value{"n": S("abc"), "s": Num(5)}, "n,s"},
		{"SET x = if_not_exists(x, :one)", map[string]Value{"x": Num(1)}, "x"},
		{"SET n = if_not_exists(n, :one)", map[string]Value{"n": Num(5)}, "n"},
		{"SET c = if_not_exists(c, :zero) + :one", map[string]Value{"c": Num(1)}, "c"},
		{"SET n = if_not_exists(absent, n)", map[string]Value{"n": Num(5)}, "n"},
		{"SET l = list_append(l, :list)", map[string]Value{"l": L(Num(0), Num(1), Num(2), Num(3), Num(1), S("a"))}, "l"},
		{"SET l = list_append(:list, l)", map[string]Value{"l": L(Num(1), S("a"), Num(0), Num(1), Num(2), Num(3))}, "l"},
		{"SET x = list_append(if_not_exists(x, :emptylist), :list)", map[string]Value{"x": L(Num(1), S("a"))}, "x"},
		{"SET m.k = :x", map[string]Value{"m": M(map[string]Value{"k": S("x"), "child": M(map[string]Value{"deep": Num(1)})})}, "m"},
		{"SET m.child.deep = m.child.deep + :one", map[string]Value{"m": M(map[string]Value{"k": S("v"), "child": M(map[string]Value{"deep": Num(2)})})}, "m"},
		{"SET m.#n = :one", map[string]Value{"m": M(map[string]Value{"k": S("v"), "name": Num(1), "child": M(map[string]Value{"deep": Num(1)})})}, "m"},
		{"SET l[1] = :a", map[string]Value{"l": L(Num(0), S("a"), Num(2), Num(3))}, "l"},
		{"SET l[10] = :a", map[string]Value{"l": L(Num(0), Num(1), Num(2), Num(3), S("a"))}, "l"},
		{"SET #s = :x", map[string]Value{"status": S("x")}, "status"},
		{"SET #dot = :x", map[string]Value{"a.b": S("x")}, "a.b"},
		{"REMOVE s", map[string]Value{"s": {}}, "s"},
		{"REMOVE s, n", map[string]Value{"s": {}, "n": {}}, "n,s"},
		{"REMOVE absent", nil, "absent"},
		{"REMOVE m.k", map[string]Value{"m": M(map[string]Value{"child": M(map[string]Value{"deep": Num(1)})})}, "m"},
		{"REMOVE m.absent.x", nil, "m"},
		{"REMOVE l[1]", map[string]Value{"l": L(Num(0), Num(2), Num(3))}, "l"},
		{"REMOVE l[0], l[2]", map[string]Value{"l": L(Num(1), Num(3))}, "l"},
		{"REMOVE l[2], l[0]", map[string]Value{"l": L(Num(1), Num(3))}, "l"},
		{"REMOVE l[9]", nil, "l"},
		{"ADD n :one", map[string]Value{"n": Num(6)}, "n"},
		{"ADD n :half", map[string]Value{"n": mustN(t, "5.5")}, "n"},
		{"ADD c :one", map[string]Value{"c": Num(1)}, "c"},
		{"ADD ss :ss2", map[string]Value{"ss": SS("a", "b", "c")}, "ss"},
		{"ADD ns :ns", map[string]Value{"ns": mustNS(t, "1", "2")}, "ns"},
		{"ADD ns :ns3", map[string]Value{"ns": mustNS(t, "1", "2", "3")}, "ns"},
		{"ADD bs :bs", map[string]Value{"bs": BS([]byte{1}, []byte{2}, []byte{9})}, "bs"},
		{"ADD newset :ss", map[string]Value{"newset": SS("a", "b")}, "newset"},
		{"ADD m.cnt :one", map[string]Value{"m": M(map[string]Value{"k": S("v"), "cnt": Num(1), "child": M(map[string]Value{"deep": Num(1)})})}, "m"},
		{"DELETE ss :ss2", map[string]Value{"ss": SS("a")}, "ss"},
		{"DELETE ss :a_set", map[string]Value{"ss": SS("b")}, "ss"},
		{"DELETE ss :ss", map[string]Value{"ss": {}}, "ss"},
		{"DELETE ns :ns1", map[string]Value{"ns": mustNS(t, "2")}, "ns"},
		{"DELETE bs :bs1", map[string]Value{"bs": BS([]byte{2})}, "bs"},
		{"DELETE absent :ss", nil, "absent"},
		{"SET a = :one REMOVE s ADD n :one DELETE ss :a_set", map[string]Value{"a": Num(1), "s": {}, "n": Num(6), "ss": SS("b")}, "a,n,s,ss"},
		{"delete ss :a_set add n :one remove s set a = :one", map[string]Value{"a": Num(1), "s": {}, "n": Num(6), "ss": SS("b")}, "a,n,s,ss"},
	}
	values := testValues(t)
	values[":ss2"] = SS("c", "b")
	values[":a_set"] = SS("a")
	values[":ns3"] = mustNS(t, "3.0")
	values[":ns1"] = mustNS(t, "1")
	values[":bs1"] = BS([]byte{1})
	values[":emptylist"] = L()
	for _, tt := range tests {
		u, err := ParseUpdate(tt.expr, testNames, values)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		before := baseItem(t)
		snapshot, _ := before.MarshalJSON()
		got, changed, err := u.Apply(before)
		if err != nil {
			t.Errorf("%q: Apply: %v", tt.expr, err)
			continue
		}
		if after, _ := before.MarshalJSON(); string(after) != string(snapshot) {
			t.Errorf("%q mutated its input:\n%s\n%s", tt.expr, snapshot, after)
		}
		want := baseItem(t)
		for k, v := range tt.changes {
			if v.IsZero() {
				delete(want, k)
			} else {
				want[k] = v
			}
		}
		if !Equal(M(got), M(want)) {
			t.Errorf("%q:\n got  %v\n want %v", tt.expr, M(got), M(want))
		}
		if c := strings.Join(changed, ","); c != tt.changed {
			t.Errorf("%q: changed = %s, want %s", tt.expr, c, tt.changed)
		}
	}
}

func TestUpdateNilAndEmptyItem(t *testing.T) {
	var u *Update
	out, changed, err := u.Apply(Item{"a": Num(1)})
	if err != nil || changed != nil || !Equal(M(out), M(Item{"a": Num(1)})) {
		t.Error("nil update must return the item unchanged")
	}
	if u.Attributes() != nil || u.UsedNames() != nil || u.UsedValues() != nil {
		t.Error("nil update reports nothing")
	}
	u, err = ParseUpdate("SET a = :one", nil, testValues(t))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = u.Apply(nil)
	if err != nil || !Equal(M(out), M(Item{"a": Num(1)})) {
		t.Errorf("apply to nil item: %v %v", out, err)
	}
}

func TestUpdateApplyErrors(t *testing.T) {
	const (
		incorrectType = "An operand in the update expression has an incorrect data type"
		missing       = "The provided expression refers to an attribute that does not exist in the item"
		invalidPath   = "The document path provided in the update expression is invalid for update"
	)
	tests := []struct{ expr, want string }{
		{"SET n = n + :a", incorrectType},
		{"SET n = s - :one", incorrectType},
		{"SET x = :a + :one", incorrectType},
		{"SET l = list_append(l, :one)", incorrectType},
		{"SET l = list_append(s, :list)", incorrectType},
		{"ADD s :one", incorrectType},
		{"ADD n :ss", incorrectType},
		{"ADD ss :ns", incorrectType},
		{"DELETE ss :ns", incorrectType},
		{"DELETE n :ns", incorrectType},
		{"SET x = absent + :one", missing},
		{"SET x = absent", missing},
		{"SET x = list_append(absent, :list)", missing},
		{"SET absent.x = :one", invalidPath},
		{"SET m.absent.x = :one", invalidPath},
		{"SET s.x = :one", invalidPath},
		{"SET n[0] = :one", invalidPath},
		{"SET l[10].x = :one", invalidPath},
		{"SET l[0].x = :one", invalidPath},
		{"ADD absent.x :one", invalidPath},
		{"SET x = :big + :big", "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{"SET x = :precise + :tiny", "Attempting to store more than 38 significant digits in a Number"},
	}
	values := testValues(t)
	values[":big"] = mustN(t, "9E+125")
	values[":precise"] = mustN(t, "1"+strings.Repeat("0", 37))
	values[":tiny"] = mustN(t, "0.1")
	for _, tt := range tests {
		u, err := ParseUpdate(tt.expr, testNames, values)
		if err != nil {
			t.Errorf("%q: parse: %v", tt.expr, err)
			continue
		}
		_, _, err = u.Apply(baseItem(t))
		wantValidation(t, tt.expr, err, tt.want)
	}
}

func TestUpdateParseErrors(t *testing.T) {
	const inv = "Invalid UpdateExpression: "
	tests := []struct{ expr, want string }{
		{"", inv + "The expression can not be empty;"},
		{"a = :one", inv + `Syntax error; token: "a", near: "a ="`},
		{"SET", inv + `Syntax error; token: "<EOF>", near: "SET"`},
		{"SET a", inv + `Syntax error; token: "<EOF>", near: "a"`},
		{"SET a = ", inv + `Syntax error; token: "<EOF>", near: "="`},
		{"SET a = :one,", inv + `Syntax error; token: "<EOF>", near: ","`},
		{"SET a = :one + ", inv + `Syntax error; token: "<EOF>", near: "+"`},
		{"SET a = :one + :one + :one", inv + `Syntax error; token: "+", near: ":one + :one"`},
		{"SET a = (:one)", inv + `Syntax error; token: "(", near: "= (:one"`},
		{"SET a :one", inv + `Syntax error; token: ":one", near: "a :one"`},
		{"ADD a", inv + `Syntax error; token: "<EOF>", near: "a"`},
		{"ADD a = :one", inv + `Syntax error; token: "=", near: "a = :one"`},
		{"ADD a b", inv + `Syntax error; token: "b", near: "a b"`},
		{"DELETE a", inv + `Syntax error; token: "<EOF>", near: "a"`},
		{"REMOVE a = :one", inv + `Syntax error; token: "=", near: "a = :one"`},
		{"REMOVE", inv + `Syntax error; token: "<EOF>", near: "REMOVE"`},
		{"UPSERT a = :one", inv + `Syntax error; token: "UPSERT", near: "UPSERT a"`},
		{"SET a = :one SET b = :one", inv + `The "SET" section can only be used once in an update expression;`},
		{"REMOVE a REMOVE b", inv + `The "REMOVE" section can only be used once in an update expression;`},
		{"SET status = :one", inv + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"REMOVE a, Comment", inv + "Attribute name is a reserved keyword; reserved keyword: Comment"},
		{"SET a = size", inv + "Attribute name is a reserved keyword; reserved keyword: size"},
		{"SET #x = :one", inv + "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"SET a = :x1", inv + "An expression attribute value used in expression is not defined; attribute value: :x1"},
		{"ADD a :x1", inv + "An expression attribute value used in expression is not defined; attribute value: :x1"},
		{"SET a = :one, a = :ten", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"SET a.b = :one REMOVE a", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"},
		{"SET a[1] = :one ADD a[1].c :one", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, [1], c]"},
		{"SET a.b = :one, a[0] = :one", inv + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"},
		{"SET a = :one, #dot = :one", ""},
		{"SET a.b = :one, a.c = :one", ""},
		{"REMOVE l[0], l[1]", ""},
		{"ADD a :a", inv + "Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"},
		{"ADD a :list", inv + "Incorrect operand type for operator or function; operator: ADD, operand type: LIST, typeSet: ALLOWED_FOR_ADD_OPERAND"},
		{"DELETE a :one", inv + "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND"},
		{"SET a = foo(b)", inv + "Invalid function name; function: foo"},
		{"SET a = size(b)", inv + "The function is not allowed in an update expression; function: size"},
		{"SET a = attribute_exists(b)", inv + "The function is not allowed in an update expression; function: attribute_exists"},
		{"SET a = if_not_exists(:one, :one)", inv + "Operator or function requires a document path; operator or function: if_not_exists"},
		{"SET a = if_not_exists(a)", inv + "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"},
		{"SET a = list_append(a, :list, :list)", inv + "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 3"},
		{"SET a = :one" + strings.Repeat(" ", 4096), inv + "Expression size has exceeded the maximum allowed size; expression size: 4108"},
	}
	for _, tt := range tests {
		_, err := ParseUpdate(tt.expr, testNames, testValues(t))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: unexpected %v", tt.expr, err)
			}
			continue
		}
		wantValidation(t, tt.expr, err, tt.want)
	}
}
