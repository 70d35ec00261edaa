package expr

import (
	"strings"
	"testing"
)

func TestProjectionApply(t *testing.T) {
	item := Item{
		"a": S("x"), "b": Num(1), "status": S("on"),
		"m": M(map[string]Value{"k": S("v"), "j": Num(2), "child": M(map[string]Value{"deep": Num(1), "other": Num(2)})}),
		"l": L(Num(0), M(map[string]Value{"c": S("c1"), "d": S("d1")}), Num(2), Num(3)),
	}
	tests := []struct {
		expr string
		want Item
	}{
		{"a", Item{"a": S("x")}},
		{"a, b", Item{"a": S("x"), "b": Num(1)}},
		{"a,b , absent", Item{"a": S("x"), "b": Num(1)}},
		{"#s", Item{"status": S("on")}},
		{"m.k", Item{"m": M(map[string]Value{"k": S("v")})}},
		{"m.k, m.j", Item{"m": M(map[string]Value{"k": S("v"), "j": Num(2)})}},
		{"m.child.deep", Item{"m": M(map[string]Value{"child": M(map[string]Value{"deep": Num(1)})})}},
		{"m.absent", Item{}},
		{"a.b", Item{}},
		{"l[2]", Item{"l": L(Num(2))}},
		{"l[3], l[0]", Item{"l": L(Num(0), Num(3))}},
		{"l[1].c", Item{"l": L(M(map[string]Value{"c": S("c1")}))}},
		{"l[9]", Item{}},
		{"m[0]", Item{}},
		{"l.x", Item{}},
		{"#m.#n", Item{}},
		{"#m.k", Item{"m": M(map[string]Value{"k": S("v")})}},
	}
	for _, tt := range tests {
		p, err := ParseProjection(tt.expr, testNames)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if got := p.Apply(item); !Equal(M(got), M(tt.want)) {
			t.Errorf("%q:\n got  %v\n want %v", tt.expr, M(got), M(tt.want))
		}
	}
	var nilProjection *Projection
	if got := nilProjection.Apply(item); len(got) != len(item) {
		t.Error("nil projection must keep everything")
	}
}

func TestProjectionAttributes(t *testing.T) {
	p, err := ParseProjection("m.k, a, l[0], #s", testNames)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Attributes(), ","); got != "a,l,m,status" {
		t.Errorf("Attributes = %s", got)
	}
	if got := strings.Join(p.UsedNames(), ","); got != "#s" {
		t.Errorf("UsedNames = %s", got)
	}
}

func TestProjectionErrors(t *testing.T) {
	const inv = "Invalid ProjectionExpression: "
	tests := []struct{ expr, want string }{
		{"", inv + "The expression can not be empty;"},
		{"a,", inv + `Syntax error; token: "<EOF>", near: ","`},
		{"a b", inv + `Syntax error; token: "b", near: "a b"`},
		{"my-attr", inv + `Syntax error; token: "-", near: "my-attr"`},
		{":v", inv + `Syntax error; token: ":v", near: ":v"`},
		{"a = b", inv + `Syntax error; token: "=", near: "a = b"`},
		{"size(a)", inv + `Syntax error; token: "(", near: "size(a"`},
		{"l[]", inv + `Syntax error; token: "]", near: "[]"`},
		{"a, status", inv + "Attribute name is a reserved keyword; reserved keyword: status"},
		{"#undefined", inv + "An expression attribute name used in the document path is not defined; attribute name: #undefined"},
		{"a, a", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"m, m.k", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, k]"},
		{"m.k[1], m.k", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m, k, [1]], path two: [m, k]"},
		{"m.k, m[0]", inv + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [m, k], path two: [m, [0]]"},
		{"#s, #s", inv + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [status], path two: [status]"},
	}
	for _, tt := range tests {
		_, err := ParseProjection(tt.expr, testNames)
		wantValidation(t, tt.expr, err, tt.want)
	}
}
