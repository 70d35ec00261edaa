package kit

import (
	"encoding"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// A service's Config is its command line: each field that a process can be
// given carries a `flag:"name"` tag (and a `usage:"..."` one), and
// BindFlags and FlagArgs are the two directions of that one codec. The
// binary parses its flags into a Config with BindFlags; a backend that runs
// the binary turns the Config it built into arguments with FlagArgs; the
// embedded backend hands the same Config to the constructor. So a
// calibration value means the same thing on every backend, and a field
// without a flag cannot be set on one backend and silently dropped on
// another: FlagArgs refuses it.
//
// Field types: string (and string kinds such as Mode), bool, int, int64,
// uint64, float64, time.Duration, []string (comma-separated, repeatable),
// map[string]string (k=v,k=v, repeatable) and slices of a type that
// implements encoding.TextMarshaler and TextUnmarshaler (repeatable, one
// element per flag). Anonymous struct fields (an embedded CoreConfig) are
// walked as if their fields were the outer struct's. `flag:"-"` or no tag:
// not a flag (a test hook, a client injected by a caller).
//
// Every flag defaults from the environment variable EnvName(flag) when set
// (CASCADE_CHECK_INTERVAL for --check-interval), so compose files may give
// either.

// EnvName is the environment variable that gives flag's default:
// CASCADE_ and the flag's name in upper snake case.
func EnvName(flag string) string {
	return "CASCADE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// configField is one flag of a Config.
type configField struct {
	flag, usage string
	v           reflect.Value
}

// configFields walks cfg (a pointer to a struct) and returns its flags in
// field order, and the fields without a flag by Go name.
func configFields(cfg any) (flags []configField, other map[string]reflect.Value, err error) {
	rv := reflect.ValueOf(cfg)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("config codec: want a pointer to a struct, got %T", cfg)
	}
	other = map[string]reflect.Value{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(v.Field(i))
				continue
			}
			name := f.Tag.Get("flag")
			if name == "" || name == "-" {
				other[f.Name] = v.Field(i)
				continue
			}
			flags = append(flags, configField{flag: name, usage: f.Tag.Get("usage"), v: v.Field(i)})
		}
	}
	walk(rv.Elem())
	return flags, other, nil
}

// BindFlags defines one flag per tagged field of cfg (a pointer to a Config)
// on fs, each defaulting to the field's current value, then to its
// environment variable. Parsing fs then writes the fields.
func BindFlags(fs *pflag.FlagSet, cfg any) error {
	flags, _, err := configFields(cfg)
	if err != nil {
		return err
	}
	for _, f := range flags {
		val, err := newFieldValue(f.v)
		if err != nil {
			return fmt.Errorf("flag --%s: %w", f.flag, err)
		}
		env := EnvName(f.flag)
		if s, ok := os.LookupEnv(env); ok {
			if val.slice() {
				// A list from the environment: whitespace or commas
				// separate its elements (text elements may hold commas).
				for _, e := range strings.Fields(s) {
					if err := val.Set(e); err != nil {
						return fmt.Errorf("%s: %w", env, err)
					}
				}
			} else if err := val.Set(s); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
			val.changed = false // the command line still replaces a list
		}
		fs.Var(val, f.flag, f.usage+" ("+env+")")
		if fl := fs.Lookup(f.flag); fl != nil && val.typ == "bool" {
			fl.NoOptDefVal = "true"
		}
	}
	return nil
}

// FlagArgs encodes as --flag=value arguments the fields of cfg that differ
// from base (both pointers to the same Config type; base is what the
// process starts from, e.g. the binary's defaults). A differing field
// without a flag is an error naming the flags there are.
func FlagArgs(cfg, base any) ([]string, error) {
	if reflect.TypeOf(cfg) != reflect.TypeOf(base) {
		return nil, fmt.Errorf("config codec: %T and %T differ", cfg, base)
	}
	flags, other, err := configFields(cfg)
	if err != nil {
		return nil, err
	}
	bflags, bother, _ := configFields(base)
	var unsupported []string
	for name, v := range other {
		if !sameValue(v, bother[name]) {
			unsupported = append(unsupported, name)
		}
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		var valid []string
		for _, f := range flags {
			valid = append(valid, f.flag)
		}
		return nil, fmt.Errorf("%T: field(s) %s have no flag, so no backend but the embedded one could apply them; the flags are %s",
			cfg, strings.Join(unsupported, ", "), strings.Join(valid, ", "))
	}
	var args []string
	for i, f := range flags {
		if sameValue(f.v, bflags[i].v) {
			continue
		}
		val, err := newFieldValue(f.v)
		if err != nil {
			return nil, fmt.Errorf("flag --%s: %w", f.flag, err)
		}
		for _, s := range val.encode() {
			args = append(args, "--"+f.flag+"="+s)
		}
	}
	return args, nil
}

func sameValue(a, b reflect.Value) bool {
	if a.Kind() == reflect.Func {
		return a.IsNil() == b.IsNil()
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// fieldValue is a pflag.Value over one Config field.
type fieldValue struct {
	v       reflect.Value
	typ     string
	changed bool // a list's first Set replaces its default, later ones add
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshal   = reflect.TypeFor[encoding.TextMarshaler]()
)

func newFieldValue(v reflect.Value) (*fieldValue, error) {
	fv := &fieldValue{v: v}
	t := v.Type()
	switch {
	case t == durationType:
		fv.typ = "duration"
	case t.Kind() == reflect.String:
		fv.typ = "string"
	case t.Kind() == reflect.Bool:
		fv.typ = "bool"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		fv.typ = "int"
	case t.Kind() == reflect.Uint64:
		fv.typ = "uint"
	case t.Kind() == reflect.Float64:
		fv.typ = "float"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		fv.typ = "strings"
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		fv.typ = "key=value,..."
	case t.Kind() == reflect.Slice && reflect.PointerTo(t.Elem()).Implements(textUnmarshal) && t.Elem().Implements(textMarshal):
		fv.typ = "text"
	default:
		return nil, fmt.Errorf("field type %s has no flag encoding", t)
	}
	return fv, nil
}

func (f *fieldValue) slice() bool {
	return f.typ == "strings" || f.typ == "text" || f.typ == "key=value,..."
}

// Type names the value's type in usage text.
func (f *fieldValue) Type() string { return f.typ }

// String is the value as usage text shows it.
func (f *fieldValue) String() string {
	if !f.v.IsValid() || f.v.IsZero() {
		return "" // usage text shows no default for a zero value (the service's own default applies)
	}
	return strings.Join(f.encode(), " ")
}

// encode is the value as flag values: one, or one per element of a list of
// text elements.
func (f *fieldValue) encode() []string {
	v := f.v
	switch f.typ {
	case "duration":
		return []string{time.Duration(v.Int()).String()}
	case "string":
		return []string{v.String()}
	case "bool":
		return []string{strconv.FormatBool(v.Bool())}
	case "int":
		return []string{strconv.FormatInt(v.Int(), 10)}
	case "uint":
		return []string{strconv.FormatUint(v.Uint(), 10)}
	case "float":
		return []string{strconv.FormatFloat(v.Float(), 'g', -1, 64)}
	case "strings":
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = v.Index(i).String()
		}
		return []string{strings.Join(parts, ",")}
	case "key=value,...":
		var parts []string
		for _, k := range v.MapKeys() {
			parts = append(parts, k.String()+"="+v.MapIndex(k).String())
		}
		slices.Sort(parts)
		return []string{strings.Join(parts, ",")}
	default: // text
		out := make([]string, 0, v.Len())
		for i := range v.Len() {
			b, _ := v.Index(i).Interface().(encoding.TextMarshaler).MarshalText()
			out = append(out, string(b))
		}
		return out
	}
}

// Set parses s into the field.
func (f *fieldValue) Set(s string) error {
	v := f.v
	switch f.typ {
	case "duration":
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case "string":
		v.SetString(s)
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case "int":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case "uint":
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case "float":
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(x)
	case "strings":
		out := reflect.MakeSlice(v.Type(), 0, 0)
		if f.changed {
			out = v
		}
		for _, p := range strings.Split(s, ",") {
			if p != "" {
				out = reflect.Append(out, reflect.ValueOf(p).Convert(v.Type().Elem()))
			}
		}
		v.Set(out)
	case "key=value,...":
		out := reflect.MakeMap(v.Type())
		if f.changed && !v.IsNil() {
			out = v
		}
		for _, p := range strings.Split(s, ",") {
			if p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return fmt.Errorf("%q: want key=value", p)
			}
			out.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(val))
		}
		v.Set(out)
	default: // text
		out := reflect.MakeSlice(v.Type(), 0, 0)
		if f.changed {
			out = v
		}
		e := reflect.New(v.Type().Elem())
		if err := e.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return err
		}
		v.Set(reflect.Append(out, e.Elem()))
	}
	f.changed = true
	return nil
}

var _ pflag.Value = (*fieldValue)(nil)
