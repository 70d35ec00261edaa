package expr

import (
	"encoding/json"
	"errors"
	"testing"
)

func mustN(t testing.TB, s string) Value {
	t.Helper()
	v, err := N(s)
	if err != nil {
		t.Fatalf("N(%q): %v", s, err)
	}
	return v
}

func mustNS(t testing.TB, s ...string) Value {
	t.Helper()
	v, err := NS(s...)
	if err != nil {
		t.Fatalf("NS(%q): %v", s, err)
	}
	return v
}

func TestNumberCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"0.000", "0"}, {"1", "1"}, {"+1", "1"}, {"01", "1"},
		{"1.0", "1"}, {"1.50", "1.5"}, {"-12.5", "-12.5"}, {".5", "0.5"}, {"5.", "5"},
		{"1e2", "100"}, {"1E+2", "100"}, {"12.5e-3", "0.0125"}, {"0.001", "0.001"},
		{"1E-130", "0." + repeat("0", 129) + "1"}, {"1500", "1500"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"0e999999999999999999", "0"},
	}
	for _, tt := range tests {
		v, err := N(tt.in)
		if err != nil {
			t.Errorf("N(%q): %v", tt.in, err)
			continue
		}
		if v.Number() != tt.want {
			t.Errorf("N(%q) = %q, want %q", tt.in, v.Number(), tt.want)
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestNumberErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "The parameter cannot be converted to a numeric value: abc"},
		{"", "The parameter cannot be converted to a numeric value: "},
		{"1e", "The parameter cannot be converted to a numeric value: 1e"},
		{"1..2", "The parameter cannot be converted to a numeric value: 1..2"},
		{"--1", "The parameter cannot be converted to a numeric value: --1"},
		{" 1", "The parameter cannot be converted to a numeric value:  1"},
		{"1e+", "The parameter cannot be converted to a numeric value: 1e+"},
		{"0x10", "The parameter cannot be converted to a numeric value: 0x10"},
		{"123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"},
		{"1E126", "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{"1e99999999999999999999", "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{"1E-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"},
		{"1e-99999999999999999999", "Number underflow. Attempting to store a number with magnitude smaller than supported range"},
	}
	for _, tt := range tests {
		_, err := N(tt.in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Message != tt.want {
			t.Errorf("N(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
	if _, err := N("9.9999999999999999999999999999999999999E+125"); err != nil {
		t.Errorf("max number rejected: %v", err)
	}
}

func TestValueJSONRoundTrip(t *testing.T) {
	tests := []struct {
		wire string
		want Value
	}{
		{`{"S":"x"}`, S("x")},
		{`{"S":""}`, S("")},
		{`{"N":"12.5"}`, mustN(t, "12.5")},
		{`{"B":"AAEC"}`, B([]byte{0, 1, 2})},
		{`{"BOOL":true}`, Bool(true)},
		{`{"BOOL":false}`, Bool(false)},
		{`{"NULL":true}`, Null()},
		{`{"M":{"a":{"S":"x"},"b":{"N":"1"}}}`, M(map[string]Value{"a": S("x"), "b": Num(1)})},
		{`{"M":{}}`, M(nil)},
		{`{"L":[{"S":"x"},{"N":"1"}]}`, L(S("x"), Num(1))},
		{`{"L":[]}`, L()},
		{`{"SS":["a","b"]}`, SS("b", "a")},
		{`{"NS":["1","2.5"]}`, mustNS(t, "2.5", "1")},
		{`{"BS":["AA==","AQ=="]}`, BS([]byte{1}, []byte{0})},
	}
	for _, tt := range tests {
		var v Value
		if err := json.Unmarshal([]byte(tt.wire), &v); err != nil {
			t.Errorf("unmarshal %s: %v", tt.wire, err)
			continue
		}
		if !Equal(v, tt.want) {
			t.Errorf("unmarshal %s = %v, want %v", tt.wire, v, tt.want)
		}
		out, err := json.Marshal(v)
		if err != nil || string(out) != tt.wire {
			t.Errorf("marshal %s = %s, %v", tt.wire, out, err)
		}
	}
}

func TestValueJSONErrors(t *testing.T) {
	tests := []struct{ wire, want string }{
		{`{}`, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"X":"1"}`, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"S":null}`, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"S":"a","N":"1"}`, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"},
		{`{"N":"abc"}`, "The parameter cannot be converted to a numeric value: abc"},
		{`{"NS":["1","x"]}`, "The parameter cannot be converted to a numeric value: x"},
		{`{"SS":[]}`, "One or more parameter values were invalid: An string set  may not be empty"},
		{`{"NS":[]}`, "One or more parameter values were invalid: An number set  may not be empty"},
		{`{"BS":[]}`, "One or more parameter values were invalid: An binary set  may not be empty"},
		{`{"SS":["a","a"]}`, "Input collection [a, a] contains duplicates."},
		{`{"NS":["1","1.0"]}`, "Input collection [1, 1.0] contains duplicates."},
		{`{"BS":["AA==","AA=="]}`, "Input collection [AA==, AA==] contains duplicates."},
		{`{"NULL":false}`, "One or more parameter values were invalid: Null attribute value types must have the value of true"},
		{`{"B":"!!"}`, "Invalid Base64 encoded binary value: !!"},
		{`{"M":{"a":{}}}`, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"L":[{"S":"a","BOOL":true}]}`, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"},
		{`{"S":1}`, "Unexpected JSON for S"},
		{`[]`, "Unexpected JSON for an AttributeValue"},
		{`{"L":[null]}`, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{nested(33), "Nesting Levels have exceeded supported limits"},
	}
	for _, tt := range tests {
		var v Value
		err := json.Unmarshal([]byte(tt.wire), &v)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Message != tt.want {
			t.Errorf("unmarshal %s error = %v, want %q", tt.wire, err, tt.want)
		}
	}
	var v Value
	if err := json.Unmarshal([]byte(nested(32)), &v); err != nil {
		t.Errorf("32 levels rejected: %v", err)
	}
}

// nested builds an attribute value with the given number of nesting levels.
func nested(levels int) string {
	s := `{"S":"x"}`
	for range levels - 1 {
		s = `{"L":[` + s + `]}`
	}
	return s
}

func TestItemJSON(t *testing.T) {
	var it Item
	if err := json.Unmarshal([]byte(`{"pk":{"S":"a"},"n":{"N":"007"}}`), &it); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(it)
	if string(out) != `{"n":{"N":"7"},"pk":{"S":"a"}}` {
		t.Errorf("got %s", out)
	}
	err := json.Unmarshal([]byte(`{"pk":{}}`), &it)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("want ValidationError, got %v", err)
	}
	// Items embedded in request structs keep the typed error.
	var req struct{ Item Item }
	err = json.Unmarshal([]byte(`{"Item":{"a":{"N":"x"}}}`), &req)
	if !errors.As(err, &ve) || ve.Message != "The parameter cannot be converted to a numeric value: x" {
		t.Errorf("embedded: %v", err)
	}
	if _, err := json.Marshal(Value{}); err == nil {
		t.Error("zero Value marshalled")
	}
}

func TestEqualCompare(t *testing.T) {
	if !Equal(mustN(t, "1.0"), Num(1)) || Equal(S("1"), Num(1)) || !Equal(Value{}, Value{}) {
		t.Error("scalar equality")
	}
	if !Equal(mustNS(t, "1", "2"), mustNS(t, "2.0", "1")) || !Equal(SS("a", "b"), SS("b", "a")) {
		t.Error("set equality ignores order")
	}
	if Equal(L(S("a"), S("b")), L(S("b"), S("a"))) {
		t.Error("list equality is ordered")
	}
	if !Equal(M(map[string]Value{"a": L(Num(1))}), M(map[string]Value{"a": L(mustN(t, "1.00"))})) {
		t.Error("deep map equality")
	}
	tests := []struct {
		a, b Value
		cmp  int
		ok   bool
	}{
		{Num(2), mustN(t, "10"), -1, true},
		{mustN(t, "-10"), mustN(t, "-2"), -1, true},
		{mustN(t, "0.5"), mustN(t, "0.50"), 0, true},
		{mustN(t, "1e10"), mustN(t, "99999"), 1, true},
		{mustN(t, "-1"), Num(0), -1, true},
		{mustN(t, "0.001"), Num(0), 1, true},
		{mustN(t, "1.25"), mustN(t, "1.3"), -1, true},
		{S("B"), S("a"), -1, true},
		{S("é"), S("z"), 1, true},
		{B([]byte{0xff}), B([]byte{0x01}), 1, true},
		{S("1"), Num(1), 0, false},
		{Bool(true), Bool(true), 0, false},
		{Value{}, Value{}, 0, false},
	}
	for _, tt := range tests {
		cmp, ok := Compare(tt.a, tt.b)
		if cmp != tt.cmp || ok != tt.ok {
			t.Errorf("Compare(%v, %v) = %d,%v want %d,%v", tt.a, tt.b, cmp, ok, tt.cmp, tt.ok)
		}
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		v    Value
		size int
		ok   bool
	}{
		{S("héllo"), 6, true}, {B([]byte{1, 2}), 2, true}, {SS("a", "b"), 2, true},
		{mustNS(t, "1"), 1, true}, {BS([]byte{1}), 1, true}, {L(Num(1), Num(2), Num(3)), 3, true},
		{M(map[string]Value{"a": Null()}), 1, true}, {Num(1), 0, false}, {Bool(true), 0, false},
		{Null(), 0, false}, {Value{}, 0, false},
	}
	for _, tt := range tests {
		if n, ok := tt.v.Size(); n != tt.size || ok != tt.ok {
			t.Errorf("%v.Size() = %d,%v", tt.v, n, ok)
		}
	}
	item := Item{
		"pk":  S("abc"),                         // 2+3
		"n":   mustN(t, "12345"),                // 1+ (3+1)
		"ok":  Bool(true),                       // 2+1
		"m":   M(map[string]Value{"k": S("v")}), // 1+ 3+1+1+1
		"l":   L(Null(), S("xy")),               // 1+ 3+ (1+1)+(1+2)
		"set": SS("a", "bc"),                    // 3+3
	}
	if got, want := ItemSize(item), 5+5+3+7+9+6; got != want {
		t.Errorf("ItemSize = %d, want %d", got, want)
	}
}

func TestAccessors(t *testing.T) {
	if S("x").Str() != "x" || Num(1).Str() != "" || Num(-5).Number() != "-5" || !Bool(true).BoolValue() ||
		!Null().IsNull() || !(Value{}).IsZero() || string(B([]byte("a")).Bytes()) != "a" {
		t.Error("scalar accessors")
	}
	if len(M(map[string]Value{"a": S("b")}).Map()) != 1 || len(L(S("a")).List()) != 1 ||
		len(SS("a", "a").StringSet()) != 1 || len(mustNS(t, "1", "1.0").NumberSet()) != 1 ||
		len(BS([]byte("a")).BinarySet()) != 1 {
		t.Error("collection accessors")
	}
	for _, tt := range []struct {
		v   Value
		typ string
	}{{S(""), "S"}, {Num(0), "N"}, {B(nil), "B"}, {Bool(false), "BOOL"}, {Null(), "NULL"},
		{M(nil), "M"}, {L(), "L"}, {SS("a"), "SS"}, {mustNS(t, "1"), "NS"}, {BS([]byte{}), "BS"}} {
		if tt.v.Type() != tt.typ {
			t.Errorf("Type = %q, want %q", tt.v.Type(), tt.typ)
		}
	}
}
