package sim

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
)

// StackConfig is one run of the whole stack on the sim.
type StackConfig struct {
	Seed int64
	// Start is the incident clock at the start (kit.IncidentStart if zero).
	Start time.Time
	// Fixes are announced fixes and guards by the names the other backends
	// use (catalogue.AllFixes, catalogue.AllGuards); unknown names are an
	// error naming the valid ones.
	Fixes []string
	// Tune is the other backends' WithTune hook: called with each instance's
	// name and its Config (a pointer to the service's Config type) before
	// the sim reads it. Nil: the catalogue's wiring and the defaults.
	Tune func(instance string, cfg any)
	// Trace receives every core's events as JSON lines stamped with
	// incident time (nil: none).
	Trace io.Writer
}

// Stack is the whole stack of one run on the sim. Not safe for concurrent
// use: one goroutine drives it (RunUntil), and everything the experiment
// does inside the run is scheduled with Every or At.
type Stack struct {
	cfg   StackConfig
	s     *Sim
	fixes map[string]bool
}

// Launched is one instance RunInstances started.
type Launched struct{ ID, ZoneID string }

// ErrNotOnSim is returned by what the sim does not model yet.
var ErrNotOnSim = errors.New("sim: not yet on sim")

// ValidFixes lists the names StackConfig.Fixes accepts.
func ValidFixes() []string { return append(slices.Clone(catalogue.AllFixes), catalogue.AllGuards...) }

// NewStack builds the stack from the catalogue, seeded with cfg.Seed.
func NewStack(cfg StackConfig) (*Stack, error) {
	if cfg.Start.IsZero() {
		cfg.Start = kit.IncidentStart
	}
	fixes := map[string]bool{}
	for _, f := range cfg.Fixes {
		if !slices.Contains(ValidFixes(), f) {
			return nil, fmt.Errorf("sim stack: unknown fix %q: valid fixes are %s", f, strings.Join(ValidFixes(), ", "))
		}
		fixes[f] = true
	}
	st := &Stack{cfg: cfg, s: New(cfg.Seed, cfg.Start), fixes: fixes}
	return st, nil
}

// Now is the incident time.
func (s *Stack) Now() time.Time { return s.s.Now() }

// Clock is the virtual incident clock.
func (s *Stack) Clock() kit.Clock { return s.s.Clock() }

// Sim is the run's kernel.
func (s *Stack) Sim() *Sim { return s.s }

// RunUntil advances the run to t.
func (s *Stack) RunUntil(t time.Time) { s.s.Run(t) }

// Every runs fn every d of incident time from now (first at now+d), as a
// process of the run: fn may call the clients, which take incident time.
func (s *Stack) Every(d time.Duration, fn func()) {
	s.s.Go("every", func(p *Proc) {
		for last := s.s.Now(); ; {
			last = nextTick(last, d, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
			fn()
		}
	})
}

// At runs fn at t, as a process of the run.
func (s *Stack) At(t time.Time, fn func()) {
	s.s.At(t, func() { s.s.Go("at", func(*Proc) { fn() }) })
}

// Close ends the run's processes.
func (s *Stack) Close() { s.s.Close() }

// Resolve is the A records a client resolving name gets now.
func (s *Stack) Resolve(name string) []string { return nil }

// DynamoDBGetItem is one GetItem through the regional name; its probe code.
func (s *Stack) DynamoDBGetItem() string { return "error" }

// DynamoDBPutItem is one PutItem through the regional name; its probe code.
func (s *Stack) DynamoDBPutItem() string { return "error" }

// RunInstances launches n instances (MinCount 1); the probe code.
func (s *Stack) RunInstances(n int) ([]Launched, string) { return nil, "error" }

// Connected reports whether instance id's network state reached every
// location (Network Manager's view); false for an unknown id.
func (s *Stack) Connected(id string) bool { return false }

// DWFMState is a DWFM host's GET /admin/state.
func (s *Stack) DWFMState(instance string) (dwfm.State, error) { return dwfm.State{}, ErrNotOnSim }

// NetMgrState is Network Manager's queue (GET /admin/state's stats).
func (s *Stack) NetMgrState() netmgr.Stats { return netmgr.Stats{} }

// NLBState is the NLB's GET /admin/state.
func (s *Stack) NLBState() nlb.State { return nlb.State{} }

// RegionalEmpty reports whether DynamoDB's regional name resolves to no address.
func (s *Stack) RegionalEmpty() bool { return false }

// EnableFailpoint sets a failpoint's terms (gofail syntax).
func (s *Stack) EnableFailpoint(name, terms string) error { return ErrNotOnSim }

// DisableFailpoint turns a failpoint off, releasing what it holds.
func (s *Stack) DisableFailpoint(name string) error { return ErrNotOnSim }

// FailpointWaiting is how many processes failpoint name holds now.
func (s *Stack) FailpointWaiting(name string) int { return 0 }

// RestoreDNS is the operators' repair of DynamoDB's regional record.
func (s *Stack) RestoreDNS() error { return ErrNotOnSim }

// ThrottleEC2 throttles RunInstances (0: off).
func (s *Stack) ThrottleEC2(perMinute float64) {}

// ThrottleDWFM throttles every DWFM host's intake (0: off).
func (s *Stack) ThrottleDWFM(perMinute float64) {}

// RestartDWFM restarts one DWFM host's process.
func (s *Stack) RestartDWFM(instance string) error { return ErrNotOnSim }

// DisableNLBFailover turns the NLB's AZ failover off.
func (s *Stack) DisableNLBFailover() {}

// EnableNLBFailover turns it on again.
func (s *Stack) EnableNLBFailover() {}

// Latency sets the latency and jitter of the link from -> to (catalogue
// instance names, e.g. dwfm-a -> netmgr).
func (s *Stack) Latency(from, to string, d, jitter time.Duration) error { return ErrNotOnSim }

// Partition cuts (down) or restores the link from -> to, both ways.
func (s *Stack) Partition(from, to string, down bool) error { return ErrNotOnSim }
