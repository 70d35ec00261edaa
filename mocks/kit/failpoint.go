package kit

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Failpoints is one service instance's set of named failpoints. Names carry
// the instance ("dnsenactor/a/before-apply-endpoint"), so two enactors in one
// process never share a failpoint. The terms follow gofail's syntax:
//
//	term     := [count "*"] [percent "%"] action
//	terms    := term ("->" term)*
//	action   := off | return(value) | error(message) | sleep(duration) | pause
//
// sleep takes a Go duration in incident time ("90s", "5m") or milliseconds; pause blocks the
// caller until the failpoint is disabled or released. We use our own runtime
// rather than gofail's because gofail's sleeps use the wall clock, its
// probability uses the global rand, it has no pause, and its registry is
// process-global.
type Failpoints struct {
	clock Clock

	mu     sync.Mutex
	rng    *rand.Rand
	points map[string]*Failpoint
}

// NewFailpoints returns an empty set. rng may be nil (seeded with 1).
func NewFailpoints(clock Clock, rng *rand.Rand) *Failpoints {
	if rng == nil {
		rng = rand.New(rand.NewSource(1))
	}
	return &Failpoints{clock: clock, rng: rng, points: map[string]*Failpoint{}}
}

// ErrUnknownFailpoint is returned for a name that was never registered.
var ErrUnknownFailpoint = errors.New("unknown failpoint")

// Failpoint is one named point in the code where a fault can be injected.
type Failpoint struct {
	set     *Failpoints
	name    string
	terms   atomic.Pointer[failTerms]
	hits    atomic.Int64
	waiting atomic.Int64
}

// Register returns the failpoint called name, creating it (disabled) on first use.
func (f *Failpoints) Register(name string) *Failpoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fp, ok := f.points[name]; ok {
		return fp
	}
	fp := &Failpoint{set: f, name: name}
	f.points[name] = fp
	return fp
}

// Names lists the registered failpoints, sorted.
func (f *Failpoints) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.points))
	for n := range f.points {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (f *Failpoints) lookup(name string) (*Failpoint, error) {
	f.mu.Lock()
	fp, ok := f.points[name]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: valid failpoints are %s", ErrUnknownFailpoint, name, strings.Join(f.Names(), ", "))
	}
	return fp, nil
}

// Enable sets the terms of a registered failpoint.
func (f *Failpoints) Enable(name, terms string) error {
	fp, err := f.lookup(name)
	if err != nil {
		return err
	}
	t, err := parseFailTerms(terms)
	if err != nil {
		return fmt.Errorf("failpoint %s: %w", name, err)
	}
	if old := fp.terms.Swap(t); old != nil {
		old.release()
	}
	return nil
}

// Disable turns a failpoint off and releases whoever it paused.
func (f *Failpoints) Disable(name string) error {
	fp, err := f.lookup(name)
	if err != nil {
		return err
	}
	if old := fp.terms.Swap(nil); old != nil {
		old.release()
	}
	return nil
}

// DisableAll turns every failpoint off; it returns the names that were on.
func (f *Failpoints) DisableAll() []string {
	var was []string
	for _, n := range f.Names() {
		fp, _ := f.lookup(n)
		if old := fp.terms.Swap(nil); old != nil {
			old.release()
			was = append(was, n)
		}
	}
	return was
}

// FailpointStatus describes one failpoint for the admin API.
type FailpointStatus struct {
	Name    string `json:"name"`
	Terms   string `json:"terms,omitempty"`
	Hits    int64  `json:"hits"`
	Waiting int64  `json:"waiting"`
}

// Status describes every failpoint, sorted by name.
func (f *Failpoints) Status() []FailpointStatus {
	var out []FailpointStatus
	for _, n := range f.Names() {
		fp, _ := f.lookup(n)
		out = append(out, fp.Status())
	}
	return out
}

// Name is the failpoint's full name.
func (fp *Failpoint) Name() string { return fp.name }

// Status describes the failpoint.
func (fp *Failpoint) Status() FailpointStatus {
	s := FailpointStatus{Name: fp.name, Hits: fp.hits.Load(), Waiting: fp.waiting.Load()}
	if t := fp.terms.Load(); t != nil {
		s.Terms = t.desc
	}
	return s
}

// FailAction is what one evaluation of a failpoint decided, before anyone
// waits: Kind is "" (pass), "return" (fail with Value), "sleep" (wait
// Sleep of incident time) or "pause" (wait until Released is closed: the
// failpoint was disabled or its terms replaced). Released also ends a sleep.
type FailAction struct {
	Kind     string
	Value    string
	Sleep    time.Duration
	Released <-chan struct{}
}

// Decide evaluates the failpoint's terms without waiting: the transports
// wait with Eval; the sim, whose waits are scheduled events, acts on the
// decision itself. A disabled failpoint costs one atomic load.
func (fp *Failpoint) Decide() FailAction {
	t := fp.terms.Load()
	if t == nil {
		return FailAction{}
	}
	term := t.pick(fp.set)
	if term == nil {
		return FailAction{}
	}
	fp.hits.Add(1)
	switch term.action {
	case "return", "error":
		return FailAction{Kind: "return", Value: term.value}
	case "sleep":
		return FailAction{Kind: "sleep", Sleep: term.sleep, Released: t.released}
	case "pause":
		return FailAction{Kind: "pause", Released: t.released}
	}
	return FailAction{}
}

// Eval evaluates the failpoint at the caller's position. It sleeps or pauses
// (returning early with ctx's error if ctx ends) as the terms say; it returns
// (value, true) when a return or error action fired, so the caller can fail
// with it. A disabled failpoint costs one atomic load.
func (fp *Failpoint) Eval(ctx context.Context) (string, bool) {
	a := fp.Decide()
	switch a.Kind {
	case "return":
		return a.Value, true
	case "sleep":
		timer := fp.set.clock.NewTimer(a.Sleep)
		defer timer.Stop()
		select {
		case <-timer.Chan():
		case <-ctx.Done():
		case <-a.Released:
		}
	case "pause":
		fp.waiting.Add(1)
		defer fp.waiting.Add(-1)
		select {
		case <-ctx.Done():
		case <-a.Released:
		}
	}
	return "", false
}

// Waiting adds n to the number of callers the failpoint holds (the sim's
// parked processes count as Eval's blocked goroutines do).
func (fp *Failpoint) Waiting(n int64) { fp.waiting.Add(n) }

// Err is Eval for callers that fail with an error: it returns a
// *FailpointError when a return or error action fired.
func (fp *Failpoint) Err(ctx context.Context) error {
	if v, ok := fp.Eval(ctx); ok {
		return &FailpointError{Name: fp.name, Value: v}
	}
	return nil
}

// FailpointError is the error an enabled failpoint injected.
type FailpointError struct {
	Name  string
	Value string
}

func (e *FailpointError) Error() string {
	if e.Value == "" {
		return "failpoint " + e.Name
	}
	return "failpoint " + e.Name + ": " + e.Value
}

type failTerms struct {
	desc     string
	chain    []*failTerm
	released chan struct{}
	once     sync.Once
	mu       sync.Mutex
}

func (t *failTerms) release() { t.once.Do(func() { close(t.released) }) }

// pick returns the first term of the chain that allows this evaluation.
func (t *failTerms) pick(set *Failpoints) *failTerm {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, term := range t.chain {
		if term.count == 0 {
			continue
		}
		if term.percent < 100 {
			set.mu.Lock()
			roll := set.rng.Float64() * 100
			set.mu.Unlock()
			if roll >= term.percent {
				continue
			}
		}
		if term.count > 0 {
			term.count--
		}
		if term.action == "off" {
			return nil
		}
		return term
	}
	return nil
}

type failTerm struct {
	count   int // -1: unlimited
	percent float64
	action  string
	value   string
	sleep   time.Duration
}

// ErrBadTerms is wrapped by every terms parse error.
var ErrBadTerms = errors.New("bad failpoint terms")

func parseFailTerms(desc string) (*failTerms, error) {
	desc = strings.TrimSpace(desc)
	if desc == "" {
		return nil, fmt.Errorf("%w: empty (valid actions: off, return(v), error(msg), sleep(d), pause)", ErrBadTerms)
	}
	t := &failTerms{desc: desc, released: make(chan struct{})}
	for _, part := range strings.Split(desc, "->") {
		term, err := parseFailTerm(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		t.chain = append(t.chain, term)
	}
	return t, nil
}

func parseFailTerm(s string) (*failTerm, error) {
	term := &failTerm{count: -1, percent: 100}
	if i := strings.Index(s, "*"); i > 0 && !strings.Contains(s[:i], "(") {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: bad count %q in %q", ErrBadTerms, s[:i], s)
		}
		term.count, s = n, s[i+1:]
	}
	if i := strings.Index(s, "%"); i > 0 && !strings.Contains(s[:i], "(") {
		p, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || p < 0 || p > 100 {
			return nil, fmt.Errorf("%w: bad percent %q in %q", ErrBadTerms, s[:i], s)
		}
		term.percent, s = p, s[i+1:]
	}
	name, arg, hasArg := s, "", false
	if i := strings.Index(s, "("); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return nil, fmt.Errorf("%w: missing ')' in %q", ErrBadTerms, s)
		}
		name, arg, hasArg = s[:i], s[i+1:len(s)-1], true
	}
	term.action = name
	switch name {
	case "off", "pause":
		if hasArg {
			return nil, fmt.Errorf("%w: %s takes no argument", ErrBadTerms, name)
		}
	case "return", "error":
		term.value = strings.Trim(arg, `"`)
	case "sleep":
		d, err := parseFailDuration(arg)
		if err != nil {
			return nil, fmt.Errorf("%w: sleep(%s): %v", ErrBadTerms, arg, err)
		}
		term.sleep = d
	default:
		return nil, fmt.Errorf("%w: unknown action %q: valid actions are off, return(v), error(msg), sleep(d), pause", ErrBadTerms, name)
	}
	return term, nil
}

func parseFailDuration(s string) (time.Duration, error) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if ms, err := strconv.Atoi(s); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want milliseconds or a Go duration such as 90s")
	}
	return d, nil
}
