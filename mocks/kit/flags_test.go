package kit

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type InnerCfg struct {
	Mode  Mode          `flag:"mode"`
	Every time.Duration `flag:"every"`
}

type pair struct{ K, V string }

func (p pair) MarshalText() ([]byte, error) { return []byte(p.K + "=" + p.V), nil }
func (p *pair) UnmarshalText(b []byte) error {
	p.K, p.V, _ = strings.Cut(string(b), "=")
	return nil
}

type testCfg struct {
	InnerCfg
	Addr   string            `flag:"addr"`
	N      int               `flag:"n"`
	U      uint64            `flag:"u"`
	Rate   float64           `flag:"rate"`
	On     bool              `flag:"on"`
	Names  []string          `flag:"names"`
	Map    map[string]string `flag:"map"`
	Pairs  []pair            `flag:"pair"`
	Hidden func()            `flag:"-"`
	Plain  int
}

// TestFlagArgsRoundTrip: what FlagArgs writes, BindFlags reads back into the
// same Config, starting from the same base.
func TestFlagArgsRoundTrip(t *testing.T) {
	base := testCfg{Addr: ":8080", Names: []string{"x"}}
	want := base
	want.Mode, want.Every, want.N, want.U, want.Rate, want.On = Fixed, 90*time.Second, -3, 7, 0.25, true
	want.Names = []string{"a", "b"}
	want.Map = map[string]string{"k1": "v1", "k2": "v2"}
	want.Pairs = []pair{{"a", "1,2"}, {"b", "3"}}
	args, err := FlagArgs(&want, &base)
	if err != nil {
		t.Fatal(err)
	}
	got := base
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	if err := BindFlags(fs, &got); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("args %q read back as %+v, want %+v", args, got, want)
	}
	if same, _ := FlagArgs(&base, &base); len(same) != 0 {
		t.Errorf("an unchanged config encodes as %q", same)
	}
}

// TestFlagArgsRefusesFieldsWithoutFlags: a changed field that no flag
// carries would be dropped by every backend but the embedded one.
func TestFlagArgsRefusesFieldsWithoutFlags(t *testing.T) {
	base := testCfg{}
	for name, edit := range map[string]func(*testCfg){
		"Plain":  func(c *testCfg) { c.Plain = 1 },
		"Hidden": func(c *testCfg) { c.Hidden = func() {} },
	} {
		c := base
		edit(&c)
		if _, err := FlagArgs(&c, &base); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s changed: err %v, want one naming it", name, err)
		}
	}
}

// TestBindFlagsReadsTheEnvironment: CASCADE_<FLAG> is a flag's default,
// and the command line replaces a list given there.
func TestBindFlagsReadsTheEnvironment(t *testing.T) {
	t.Setenv("CASCADE_EVERY", "2m")
	t.Setenv("CASCADE_NAMES", "p,q")
	var c testCfg
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	if err := BindFlags(fs, &c); err != nil {
		t.Fatal(err)
	}
	if c.Every != 2*time.Minute || !reflect.DeepEqual(c.Names, []string{"p", "q"}) {
		t.Fatalf("from the environment: %+v", c)
	}
	if err := fs.Parse([]string{"--names=r"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Names, []string{"r"}) {
		t.Errorf("--names=r after CASCADE_NAMES=p,q: %v", c.Names)
	}
}
