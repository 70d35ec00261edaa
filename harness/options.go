package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// DefaultSpeed is a stack's default incident speed (kit.DefaultSpeed, where
// every default speed is stated).
const DefaultSpeed = kit.DefaultSpeed

// Mitigations (fixes) a stack can turn on, one per mechanism that failed in
// the incident: each is what AWS announced (or, for the Enactor, the
// compare-and-swap the public models of the race propose), and touches only
// its own service.
const (
	FixEnactorCAS     = catalogue.FixEnactorCAS
	FixDWFMAdmission  = catalogue.FixDWFMAdmission
	FixNetMgrThrottle = catalogue.FixNetMgrThrottle
	FixNLBVelocity    = catalogue.FixNLBVelocity
)

// AllFixes lists every mitigation name (see harness/catalogue).
var AllFixes = catalogue.AllFixes

// Guards are protections outside the announced fixes (see
// harness/catalogue): useful to compare, never part of the "fixed" variant.
// WithFixes and ParseFixes accept them beside the fixes.
const (
	GuardRoute53CNAME   = catalogue.GuardRoute53CNAME
	GuardNLBPropagation = catalogue.GuardNLBPropagation
	// GuardLambdaLeaseExpiry, GuardSTSStaleCache, GuardECSKeepCapacity:
	// the downstream services' protections (AWS announced none for them).
	GuardLambdaLeaseExpiry = catalogue.GuardLambdaLeaseExpiry
	GuardSTSStaleCache     = catalogue.GuardSTSStaleCache
	GuardECSKeepCapacity   = catalogue.GuardECSKeepCapacity
)

// AllGuards lists every guard.
var AllGuards = catalogue.AllGuards

// validOption reports whether n is a fix or a guard.
func validOption(n string) bool { return slices.Contains(AllFixes, n) || slices.Contains(AllGuards, n) }

func optionChoices() string {
	return strings.Join(AllFixes, ", ") + " (announced); " + strings.Join(AllGuards, ", ") + " (not announced)"
}

// Options is how a stack is started; backends read it. Build it with
// Option functions; NewOptions applies them over the defaults.
type Options struct {
	// Backend is the backend's name: WithBackend, else CASCADE_BACKEND,
	// else "embedded".
	Backend string
	// Name is the stack's unique name (default "cascade-<random>").
	Name string
	// Speed is incident minutes per wall second.
	Speed kit.Speed
	// Seed seeds every service's randomness (each instance derives its own).
	Seed int64
	// IncidentStart is the incident time at which the clock starts.
	IncidentStart time.Time
	// Fixes are the mitigations and guards turned on (see AllFixes,
	// AllGuards).
	Fixes map[string]bool
	// Services are the service kinds to start; empty means every service
	// the backend has.
	Services []string
	// EventOutput receives every service event as a JSON line (nil discards).
	EventOutput io.Writer
	// Tunes are called, in order, with each service instance's name and a
	// pointer to its Config before the embedded backend constructs it.
	Tunes []func(instance string, cfg any)
	// Attach are users' containers to attach (WithAttach).
	Attach []Attachment
}

// Option configures a stack.
type Option func(*Options) error

func defaultOptions() Options {
	return Options{
		Speed:         DefaultSpeed,
		Seed:          1,
		IncidentStart: kit.IncidentStart,
		Fixes:         map[string]bool{},
	}
}

// NewOptions applies opts over the defaults and fills the name.
func NewOptions(opts ...Option) (Options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.Name == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Name = "cascade-" + hex.EncodeToString(b[:])
	}
	return o, nil
}

// WithBackend chooses the backend by name ("embedded", "containers").
func WithBackend(name string) Option {
	return func(o *Options) error { o.Backend = name; return nil }
}

// WithName names the stack; names must be unique among running stacks.
func WithName(name string) Option {
	return func(o *Options) error {
		if name == "" || strings.ContainsAny(name, " /\\:") {
			return fmt.Errorf("stack name %q: must be non-empty without spaces, slashes or colons", name)
		}
		o.Name = name
		return nil
	}
}

// WithSpeed sets incident minutes per wall second.
func WithSpeed(s kit.Speed) Option {
	return func(o *Options) error {
		if err := s.Validate(); err != nil {
			return err
		}
		o.Speed = s
		return nil
	}
}

// WithSeed seeds the services' randomness.
func WithSeed(seed int64) Option {
	return func(o *Options) error { o.Seed = seed; return nil }
}

// WithIncidentStart sets the incident time at which the clock starts.
func WithIncidentStart(t time.Time) Option {
	return func(o *Options) error {
		if t.IsZero() {
			return fmt.Errorf("incident start: must not be zero")
		}
		o.IncidentStart = t
		return nil
	}
}

// WithFixes turns mitigations and guards on by name; an unknown name is an
// error naming the valid ones.
func WithFixes(names ...string) Option {
	return func(o *Options) error {
		for _, n := range names {
			if !validOption(n) {
				return fmt.Errorf("unknown fix %q: valid fixes are %s", n, optionChoices())
			}
			o.Fixes[n] = true
		}
		return nil
	}
}

// ParseFixes parses a comma-separated list of fixes and guards ("" is none,
// "all" is every announced fix).
func ParseFixes(s string) ([]string, error) {
	if s = strings.TrimSpace(s); s == "" {
		return nil, nil
	}
	if s == "all" {
		return slices.Clone(AllFixes), nil
	}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if !validOption(n) {
			return nil, fmt.Errorf("unknown fix %q: valid fixes are %s (or all)", n, optionChoices())
		}
		out = append(out, n)
	}
	return out, nil
}

// Variant selects every mechanism's behaviour at once: "aswas" (no fix, the
// default) or "fixed" (every fix).
func Variant(name string) Option {
	return func(o *Options) error {
		switch name {
		case "aswas", "":
			o.Fixes = map[string]bool{}
		case "fixed":
			for _, f := range AllFixes {
				o.Fixes[f] = true
			}
		default:
			return fmt.Errorf("unknown variant %q: valid variants are aswas, fixed", name)
		}
		return nil
	}
}

// WithServices starts only the given service kinds (for fast suites, e.g.
// "route53", "dynamodb", "dnsplanner", "dnsenactor"); unknown kinds are an
// error naming the valid ones.
func WithServices(kinds ...string) Option {
	return func(o *Options) error {
		for _, k := range kinds {
			if !slices.Contains(ServiceKinds, k) {
				return fmt.Errorf("%w %q: valid services are %s", ErrUnknownService, k, strings.Join(ServiceKinds, ", "))
			}
			if !slices.Contains(o.Services, k) {
				o.Services = append(o.Services, k)
			}
		}
		return nil
	}
}

// WithEventOutput writes every service event to w as JSON lines.
func WithEventOutput(w io.Writer) Option {
	return func(o *Options) error { o.EventOutput = w; return nil }
}

// WithTune adds a hook called with each service instance's name and a
// pointer to its Config (e.g. *dwfm.Config) before the embedded backend
// constructs it; switch on the pointer's type.
func WithTune(f func(instance string, cfg any)) Option {
	return func(o *Options) error {
		if f != nil {
			o.Tunes = append(o.Tunes, f)
		}
		return nil
	}
}

// Tune is WithTune for one service's Config type, checked by the compiler:
// f is called with each instance whose Config is a *C, e.g.
//
//	harness.Tune(func(instance string, c *dwfm.Config) { c.LeaseTTL = 7 * time.Minute })
//
// Every backend applies it the same way: the embedded one hands the Config
// to the constructor, the others pass it as the binary's flags
// (kit.FlagArgs), which refuse a field without a flag.
func Tune[C any](f func(instance string, cfg *C)) Option {
	return WithTune(func(instance string, cfg any) {
		if c, ok := cfg.(*C); ok {
			f(instance, c)
		}
	})
}

// Wants reports whether the service kind is to be started.
func (o Options) Wants(kind string) bool {
	return len(o.Services) == 0 || slices.Contains(o.Services, kind)
}

// On reports whether the fix or guard name is on.
func (o Options) On(name string) bool { return o.Fixes[name] }

// Mode is the mode of a mechanism whose mitigation is fix.
func (o Options) Mode(fix string) kit.Mode {
	if o.Fixes[fix] {
		return kit.Fixed
	}
	return kit.AsWas
}

// FixList is the sorted list of fixes turned on.
func (o Options) FixList() []string {
	var out []string
	for f, on := range o.Fixes {
		if on {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// Tune calls every tuning hook with instance and cfg.
func (o Options) Tune(instance string, cfg any) {
	for _, f := range o.Tunes {
		f(instance, cfg)
	}
}
