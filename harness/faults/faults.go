package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Fault is something done to a stack that can be undone. Apply and Revert
// must work from another process (through the toxiproxy and admin APIs), and
// Revert must be safe to call after a failed or partial Apply.
type Fault interface {
	Apply(ctx context.Context, s harness.Stack) error
	Revert(ctx context.Context, s harness.Stack) error
}

// Describer is an optional capability: the ledger entry of a fault.
type Describer interface {
	Describe() timeline.Fault
}

// Instant is an optional capability of faults that have nothing to revert
// (a restart, a restore by hand): the ledger records them with End = Start.
type Instant interface {
	Instant() bool
}

// Kinds of ledger entries.
const (
	KindToxic     = "toxic"
	KindFailpoint = "failpoint"
	KindDNSEdit   = "dns-edit"
	KindService   = "service"
	KindOperator  = "operator"
)

// Describe returns f's ledger entry (a generic one when f is not a Describer).
func Describe(f Fault) timeline.Fault {
	if d, ok := f.(Describer); ok {
		return d.Describe()
	}
	return timeline.Fault{Kind: "fault", Name: fmt.Sprintf("%T", f)}
}

// Args are a fault's key=value arguments, as the CLI and experiments give them.
type Args map[string]string

// ParseArgs parses "key=value" words; the error names the bad word.
func ParseArgs(words []string) (Args, error) {
	a := Args{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %q: want key=value", w)
		}
		a[k] = v
	}
	return a, nil
}

// String returns the argument, or def when absent.
func (a Args) String(key, def string) string {
	if v, ok := a[key]; ok {
		return v
	}
	return def
}

// Duration parses a Go duration argument ("300ms").
func (a Args) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w %s=%q: want a non-negative Go duration such as 300ms or 2s", ErrBadArgument, key, v)
	}
	return d, nil
}

// Float parses a number argument.
func (a Args) Float(key string, def float64) (float64, error) {
	v, ok := a[key]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %s=%q: want a number", ErrBadArgument, key, v)
	}
	return f, nil
}

// Errors of building faults, for errors.Is.
var (
	ErrUnknownFault = errors.New("unknown fault")
	ErrBadArgument  = errors.New("bad argument")
)

// Spec describes a registered fault: its name, what it does, its
// arguments, and how to build it from them.
type Spec struct {
	Name   string
	Kind   string
	Help   string
	Params []Param
	New    func(a Args) (Fault, error)
}

// Param is one argument of a fault.
type Param struct {
	Name     string
	Help     string
	Required bool
	Default  string
}

var (
	regMu    sync.Mutex
	registry = map[string]Spec{}
)

// Register makes a fault available by name; registering a name twice panics.
func Register(s Spec) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[s.Name]; dup {
		panic("faults: " + s.Name + " registered twice")
	}
	registry[s.Name] = s
}

// Specs lists the registered faults, sorted by name.
func Specs() []Spec {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered fault names, sorted.
func Names() []string {
	var out []string
	for _, s := range Specs() {
		out = append(out, s.Name)
	}
	return out
}

// Build builds the fault called name from its arguments; an unknown name or
// argument is an error naming the valid ones.
func Build(name string, a Args) (Fault, error) {
	regMu.Lock()
	s, ok := registry[name]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: valid faults are %s", ErrUnknownFault, name, strings.Join(Names(), ", "))
	}
	valid := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		valid = append(valid, p.Name)
	}
	for k := range a {
		found := false
		for _, p := range s.Params {
			found = found || p.Name == k
		}
		if !found {
			return nil, fmt.Errorf("%w %q for fault %s: valid arguments are %s", ErrBadArgument, k, name, orNone(valid))
		}
	}
	for _, p := range s.Params {
		if _, ok := a[p.Name]; p.Required && !ok {
			return nil, fmt.Errorf("%w: fault %s needs %s=... (%s)", ErrBadArgument, name, p.Name, p.Help)
		}
	}
	return s.New(a)
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, ", ")
}

// Maybe applies f with probability p (drawn from rng at Apply); when it did
// not apply, Revert does nothing.
func Maybe(p float64, rng *rand.Rand, f Fault) Fault { return &maybe{p: p, rng: rng, f: f} }

type maybe struct {
	p       float64
	rng     *rand.Rand
	f       Fault
	mu      sync.Mutex
	applied bool
}

func (m *maybe) Apply(ctx context.Context, s harness.Stack) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rng.Float64() >= m.p {
		return nil
	}
	m.applied = true
	return m.f.Apply(ctx, s)
}

func (m *maybe) Revert(ctx context.Context, s harness.Stack) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.applied {
		return nil
	}
	m.applied = false
	return m.f.Revert(ctx, s)
}

func (m *maybe) Describe() timeline.Fault {
	d := Describe(m.f)
	d.Detail = strings.TrimSpace(fmt.Sprintf("%s p=%g", d.Detail, m.p))
	return d
}
