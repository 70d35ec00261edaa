package expr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Attribute type descriptors as they appear on the wire and in attribute_type.
const (
	TypeS    = "S"
	TypeN    = "N"
	TypeB    = "B"
	TypeBOOL = "BOOL"
	TypeNULL = "NULL"
	TypeM    = "M"
	TypeL    = "L"
	TypeSS   = "SS"
	TypeNS   = "NS"
	TypeBS   = "BS"
)

// maxNestingDepth is DynamoDB's limit on nested M/L levels; it also keeps
// recursive decoding bounded.
const maxNestingDepth = 32

// Value is a DynamoDB attribute value: a tagged union over the ten DynamoDB
// data types. The zero Value has no type (Type() == "") and is what lookups of
// missing attributes return. Values are treated as immutable: accessors return
// the underlying maps and slices, which callers must not modify.
type Value struct {
	typ     string
	str     string // S, or the canonical text of N
	num     decimal
	bin     []byte
	boolean bool
	m       map[string]Value
	l       []Value
	strs    []string // SS, or canonical NS members
	nums    []decimal
	bins    [][]byte
}

// Item is a DynamoDB item: attribute name to value.
type Item map[string]Value

// S returns a string value.
func S(s string) Value { return Value{typ: TypeS, str: s} }

// N returns a number value parsed from its decimal text. Invalid or
// out-of-range text yields a *ValidationError; use Num for integer literals.
func N(s string) (Value, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return Value{}, err
	}
	return numberValue(d), nil
}

// Num returns a number value for an integer.
func Num(i int64) Value {
	v, _ := N(fmt.Sprint(i)) // an int64 always fits in 38 digits
	return v
}

func numberValue(d decimal) Value { return Value{typ: TypeN, str: d.String(), num: d} }

// B returns a binary value holding raw bytes (base64 is only the wire form).
func B(b []byte) Value { return Value{typ: TypeB, bin: b} }

// Bool returns a BOOL value.
func Bool(b bool) Value { return Value{typ: TypeBOOL, boolean: b} }

// Null returns the NULL value.
func Null() Value { return Value{typ: TypeNULL, boolean: true} }

// M returns a map value.
func M(m map[string]Value) Value {
	if m == nil {
		m = map[string]Value{}
	}
	return Value{typ: TypeM, m: m}
}

// L returns a list value.
func L(items ...Value) Value {
	if items == nil {
		items = []Value{}
	}
	return Value{typ: TypeL, l: items}
}

// SS returns a string set. Duplicates are dropped; sets are unordered in
// DynamoDB and the members are kept sorted for deterministic output. DynamoDB
// cannot store empty sets: callers must not build one with no members.
func SS(members ...string) Value {
	out := slices.Clone(members)
	slices.Sort(out)
	return Value{typ: TypeSS, strs: slices.Compact(out)}
}

// NS returns a number set from decimal texts; invalid members yield a
// *ValidationError. Numerically equal members are merged.
func NS(members ...string) (Value, error) {
	nums := make([]decimal, 0, len(members))
	for _, s := range members {
		d, err := parseDecimal(s)
		if err != nil {
			return Value{}, err
		}
		nums = append(nums, d)
	}
	return numberSet(nums), nil
}

func numberSet(nums []decimal) Value {
	nums = slices.Clone(nums)
	slices.SortFunc(nums, compareDecimal)
	nums = slices.CompactFunc(nums, func(a, b decimal) bool { return compareDecimal(a, b) == 0 })
	strs := make([]string, len(nums))
	for i, d := range nums {
		strs[i] = d.String()
	}
	return Value{typ: TypeNS, nums: nums, strs: strs}
}

// BS returns a binary set; duplicate members are dropped.
func BS(members ...[]byte) Value {
	out := slices.Clone(members)
	slices.SortFunc(out, bytes.Compare)
	return Value{typ: TypeBS, bins: slices.CompactFunc(out, bytes.Equal)}
}

// Type returns the DynamoDB type descriptor ("S", "N", ..., "BS"), or "" for
// the zero Value.
func (v Value) Type() string { return v.typ }

// IsZero reports whether v is the zero Value (no type: a missing attribute).
func (v Value) IsZero() bool { return v.typ == "" }

// Str returns the string of an S value, or "".
func (v Value) Str() string {
	if v.typ == TypeS {
		return v.str
	}
	return ""
}

// Number returns the canonical decimal text of an N value, or "".
func (v Value) Number() string {
	if v.typ == TypeN {
		return v.str
	}
	return ""
}

// Bytes returns the bytes of a B value, or nil.
func (v Value) Bytes() []byte { return v.bin }

// BoolValue returns the boolean of a BOOL value (false for other types).
func (v Value) BoolValue() bool { return v.typ == TypeBOOL && v.boolean }

// IsNull reports whether v is the NULL value.
func (v Value) IsNull() bool { return v.typ == TypeNULL }

// Map returns the members of an M value, or nil. Do not modify it.
func (v Value) Map() map[string]Value { return v.m }

// List returns the elements of an L value, or nil. Do not modify it.
func (v Value) List() []Value { return v.l }

// StringSet returns the sorted members of an SS value, or nil.
func (v Value) StringSet() []string {
	if v.typ == TypeSS {
		return v.strs
	}
	return nil
}

// NumberSet returns the canonical texts of an NS value, numerically sorted.
func (v Value) NumberSet() []string {
	if v.typ == TypeNS {
		return v.strs
	}
	return nil
}

// BinarySet returns the sorted members of a BS value, or nil.
func (v Value) BinarySet() [][]byte { return v.bins }

// String renders v as its wire JSON, for logs and test failures.
func (v Value) String() string {
	b, err := v.MarshalJSON()
	if err != nil {
		return "<invalid>"
	}
	return string(b)
}

// Equal reports whether a and b hold the same DynamoDB value: numbers compare
// numerically, sets ignore order, maps and lists compare deeply.
func Equal(a, b Value) bool {
	if a.typ != b.typ {
		return false
	}
	switch a.typ {
	case "":
		return true
	case TypeS:
		return a.str == b.str
	case TypeN:
		return compareDecimal(a.num, b.num) == 0
	case TypeB:
		return bytes.Equal(a.bin, b.bin)
	case TypeBOOL:
		return a.boolean == b.boolean
	case TypeNULL:
		return true
	case TypeM:
		if len(a.m) != len(b.m) {
			return false
		}
		for k, av := range a.m {
			bv, ok := b.m[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	case TypeL:
		return slices.EqualFunc(a.l, b.l, Equal)
	case TypeSS:
		return slices.Equal(a.strs, b.strs)
	case TypeNS:
		return slices.EqualFunc(a.nums, b.nums, func(x, y decimal) bool { return compareDecimal(x, y) == 0 })
	case TypeBS:
		return slices.EqualFunc(a.bins, b.bins, bytes.Equal)
	}
	return false
}

// Compare orders two scalar values of the same type the way DynamoDB sorts
// keys and evaluates <, <=, >, >=: N numerically, S by UTF-8 bytes, B by
// unsigned bytes. ok is false when the values are not comparable (different
// types, or a type without an ordering).
func Compare(a, b Value) (cmp int, ok bool) {
	if a.typ != b.typ {
		return 0, false
	}
	switch a.typ {
	case TypeN:
		return compareDecimal(a.num, b.num), true
	case TypeS:
		return strings.Compare(a.str, b.str), true
	case TypeB:
		return bytes.Compare(a.bin, b.bin), true
	}
	return 0, false
}

// Size implements DynamoDB's size() function: the length of S (in bytes of
// UTF-8) and B, the number of members of sets and L, the number of entries of
// M. ok is false for N, BOOL, NULL and missing values, for which size() is
// undefined.
func (v Value) Size() (size int, ok bool) {
	switch v.typ {
	case TypeS:
		return len(v.str), true
	case TypeB:
		return len(v.bin), true
	case TypeSS, TypeNS:
		return len(v.strs), true
	case TypeBS:
		return len(v.bins), true
	case TypeL:
		return len(v.l), true
	case TypeM:
		return len(v.m), true
	}
	return 0, false
}

// ByteSize estimates the storage size of v with DynamoDB's published rules
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// strings by UTF-8 length, numbers by one byte per two significant digits
// plus one, BOOL/NULL one byte, M/L three bytes plus one per element.
func (v Value) ByteSize() int {
	switch v.typ {
	case TypeS:
		return len(v.str)
	case TypeN:
		return numberSize(v.num)
	case TypeB:
		return len(v.bin)
	case TypeBOOL, TypeNULL:
		return 1
	case TypeSS:
		n := 0
		for _, s := range v.strs {
			n += len(s)
		}
		return n
	case TypeNS:
		n := 0
		for _, d := range v.nums {
			n += numberSize(d)
		}
		return n
	case TypeBS:
		n := 0
		for _, b := range v.bins {
			n += len(b)
		}
		return n
	case TypeL:
		n := 3
		for _, e := range v.l {
			n += 1 + e.ByteSize()
		}
		return n
	case TypeM:
		n := 3
		for k, e := range v.m {
			n += 1 + len(k) + e.ByteSize()
		}
		return n
	}
	return 0
}

func numberSize(d decimal) int { return (len(d.coef)+1)/2 + 1 }

// ItemSize estimates the stored size of an item: for every attribute, the
// UTF-8 length of its name plus the ByteSize of its value. Enforcing the
// 400 KB item limit is the caller's job.
func ItemSize(item Item) int {
	n := 0
	for k, v := range item {
		n += len(k) + v.ByteSize()
	}
	return n
}

// MarshalJSON encodes v in DynamoDB's JSON 1.0 wire form, e.g. {"N":"12.5"}.
// The zero Value cannot be encoded and yields an error.
func (v Value) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := v.encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	buf.Write(b)
}

func (v Value) encode(buf *bytes.Buffer) error {
	buf.WriteString(`{"`)
	buf.WriteString(v.typ)
	buf.WriteString(`":`)
	switch v.typ {
	case TypeS, TypeN:
		writeJSONString(buf, v.str)
	case TypeB:
		writeJSONString(buf, base64.StdEncoding.EncodeToString(v.bin))
	case TypeBOOL:
		fmt.Fprint(buf, v.boolean)
	case TypeNULL:
		buf.WriteString("true")
	case TypeM:
		if err := encodeMap(buf, v.m); err != nil {
			return err
		}
	case TypeL:
		buf.WriteByte('[')
		for i, e := range v.l {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := e.encode(buf); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case TypeSS, TypeNS, TypeBS:
		buf.WriteByte('[')
		if v.typ == TypeBS {
			for i, b := range v.bins {
				if i > 0 {
					buf.WriteByte(',')
				}
				writeJSONString(buf, base64.StdEncoding.EncodeToString(b))
			}
		} else {
			for i, s := range v.strs {
				if i > 0 {
					buf.WriteByte(',')
				}
				writeJSONString(buf, s)
			}
		}
		buf.WriteByte(']')
	default:
		return fmt.Errorf("expr: cannot marshal a Value without a type")
	}
	buf.WriteByte('}')
	return nil
}

func encodeMap(buf *bytes.Buffer, m map[string]Value) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic output makes responses diffable
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(buf, k)
		buf.WriteByte(':')
		if err := m[k].encode(buf); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// MarshalJSON encodes the item as a JSON object of attribute values.
func (it Item) MarshalJSON() ([]byte, error) {
	if it == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	if err := encodeMap(&buf, it); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes the wire form of an attribute value. Problems in the
// content (empty value, several types, bad numbers, empty or duplicated sets)
// are reported as *ValidationError with DynamoDB's messages.
func (v *Value) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil // encoding/json convention: null leaves the value alone
	}
	decoded, err := decodeValue(data, 1)
	if err != nil {
		return err
	}
	*v = decoded
	return nil
}

// UnmarshalJSON decodes an item; attribute value errors are *ValidationError.
func (it *Item) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		*it = nil
		return nil
	}
	m, err := decodeMap(data, 0)
	if err != nil {
		return err
	}
	*it = m
	return nil
}

func serializationError(what string) *ValidationError {
	return validation("Unexpected JSON for " + what)
}

func decodeMap(data []byte, depth int) (map[string]Value, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, serializationError("a map of attribute values")
	}
	out := make(map[string]Value, len(raw))
	for k, r := range raw {
		v, err := decodeValue(r, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

const (
	msgEmptyValue     = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
	msgMultipleTypes  = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
	msgNestingTooDeep = "Nesting Levels have exceeded supported limits"
)

func decodeValue(data []byte, depth int) (Value, error) {
	if depth > maxNestingDepth {
		return Value{}, validation(msgNestingTooDeep)
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return Value{}, validation(msgEmptyValue)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return Value{}, serializationError("an AttributeValue")
	}
	typ := ""
	var body json.RawMessage
	for k, raw := range fields {
		if string(raw) == "null" {
			continue // the AWS SDKs treat explicit nulls as unset members
		}
		switch k {
		case TypeS, TypeN, TypeB, TypeBOOL, TypeNULL, TypeM, TypeL, TypeSS, TypeNS, TypeBS:
		default:
			continue
		}
		if typ != "" {
			return Value{}, validation(msgMultipleTypes)
		}
		typ, body = k, raw
	}
	switch typ {
	case "":
		return Value{}, validation(msgEmptyValue)
	case TypeS:
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return Value{}, serializationError("S")
		}
		return S(s), nil
	case TypeN:
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return Value{}, serializationError("N")
		}
		return N(s)
	case TypeB:
		b, err := decodeBase64(body)
		if err != nil {
			return Value{}, err
		}
		return B(b), nil
	case TypeBOOL:
		var b bool
		if err := json.Unmarshal(body, &b); err != nil {
			return Value{}, serializationError("BOOL")
		}
		return Bool(b), nil
	case TypeNULL:
		var b bool
		if err := json.Unmarshal(body, &b); err != nil {
			return Value{}, serializationError("NULL")
		}
		if !b {
			return Value{}, validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
		}
		return Null(), nil
	case TypeM:
		m, err := decodeMap(body, depth)
		if err != nil {
			return Value{}, err
		}
		return M(m), nil
	case TypeL:
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return Value{}, serializationError("L")
		}
		list := make([]Value, 0, len(raws))
		for _, r := range raws {
			e, err := decodeValue(r, depth+1)
			if err != nil {
				return Value{}, err
			}
			list = append(list, e)
		}
		return L(list...), nil
	}
	return decodeSet(typ, body)
}

func decodeBase64(body json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, serializationError("B")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, validation("Invalid Base64 encoded binary value: " + s)
	}
	return b, nil
}

func decodeSet(typ string, body json.RawMessage) (Value, error) {
	var members []string
	if err := json.Unmarshal(body, &members); err != nil {
		return Value{}, serializationError(typ)
	}
	if len(members) == 0 {
		kind := map[string]string{TypeSS: "string", TypeNS: "number", TypeBS: "binary"}[typ]
		// The double space is DynamoDB's own text.
		return Value{}, validation("One or more parameter values were invalid: An " + kind + " set  may not be empty")
	}
	duplicates := func() error {
		return validation("Input collection [" + strings.Join(members, ", ") + "] contains duplicates.")
	}
	switch typ {
	case TypeSS:
		v := SS(members...)
		if len(v.strs) != len(members) {
			return Value{}, duplicates()
		}
		return v, nil
	case TypeNS:
		v, err := NS(members...)
		if err != nil {
			return Value{}, err
		}
		if len(v.nums) != len(members) {
			return Value{}, duplicates()
		}
		return v, nil
	default:
		bins := make([][]byte, len(members))
		for i, s := range members {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return Value{}, validation("Invalid Base64 encoded binary value: " + s)
			}
			bins[i] = b
		}
		v := BS(bins...)
		if len(v.bins) != len(members) {
			return Value{}, duplicates()
		}
		return v, nil
	}
}
