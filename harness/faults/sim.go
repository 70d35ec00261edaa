package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
)

// SimFault is a fault with a counterpart on the deterministic sim backend
// (harness/sim's Stack): a ledger made with NewSimLedger applies and
// reverts it there, so the same faults (the same experiment) run unchanged
// on the sim and on harness.Start's backends. Every fault of this package
// has one. The sim's
// counterparts of each kind are in docs/sim.md ("Fault kinds"); a toxic's
// durations, wall time on the real backends, are incident time on the sim.
type SimFault interface {
	ApplySim(ctx context.Context, st *sim.Stack) error
	RevertSim(ctx context.Context, st *sim.Stack) error
}

// NewSimLedger returns an empty ledger for a sim stack: Apply dispatches
// to the faults' SimFault side, and a fault without one is an error
// wrapping sim.ErrNotOnSim. Entries are stamped with the virtual clock.
func NewSimLedger(st *sim.Stack, opts ...LedgerOption) *Ledger {
	l := &Ledger{sim: st}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *Ledger) now() time.Time {
	if l.sim != nil {
		return l.sim.Now()
	}
	return l.stack.Clock().Now()
}

func (l *Ledger) name() string {
	if l.sim != nil {
		return "sim"
	}
	return l.stack.Name()
}

func (l *Ledger) applyFault(ctx context.Context, f Fault) error {
	if l.sim == nil {
		return f.Apply(ctx, l.stack)
	}
	sf, ok := f.(SimFault)
	if !ok {
		return fmt.Errorf("%s: %w", Describe(f).Name, sim.ErrNotOnSim)
	}
	return sf.ApplySim(ctx, l.sim)
}

func (l *Ledger) revertFault(ctx context.Context, f Fault) error {
	if l.sim == nil {
		return f.Revert(ctx, l.stack)
	}
	sf, ok := f.(SimFault)
	if !ok {
		return nil // never applied
	}
	return sf.RevertSim(ctx, l.sim)
}

// The toxics: the sim's Link fields (sim.Stack.Toxic, LinkDown).

// ApplySim applies the sim counterpart of Toxic; a toxicity below 1 acts on
// that share of the connections, drawn from the run's source
// (sim.Stack.PartialToxic).
func (t *Toxic) ApplySim(_ context.Context, st *sim.Stack) error {
	undo, err := st.PartialToxic(t.Link, t.Type, t.stream(), float64(t.Toxicity), t.Attributes)
	if err != nil {
		return err
	}
	t.simUndo = undo
	return nil
}

// RevertSim undoes ApplySim.
func (t *Toxic) RevertSim(context.Context, *sim.Stack) error { return runUndo(&t.simUndo) }

// ApplySim applies the sim counterpart of LinkDown.
func (l *LinkDown) ApplySim(_ context.Context, st *sim.Stack) error {
	undo, err := st.LinkDown(l.Link)
	l.simUndo = undo
	return err
}

// RevertSim undoes ApplySim.
func (l *LinkDown) RevertSim(context.Context, *sim.Stack) error { return runUndo(&l.simUndo) }

func runUndo(undo *func()) error {
	if *undo != nil {
		(*undo)()
		*undo = nil
	}
	return nil
}

// The services: sim.Stack.Control.

// ApplySim applies the sim counterpart of ServiceFault.
func (f *ServiceFault) ApplySim(_ context.Context, st *sim.Stack) error {
	return st.Control(f.Instance, string(f.Action))
}

// RevertSim undoes ApplySim.
func (f *ServiceFault) RevertSim(_ context.Context, st *sim.Stack) error {
	switch f.Action {
	case harness.ActionStop:
		return st.Control(f.Instance, string(harness.ActionStart))
	case harness.ActionPause:
		return st.Control(f.Instance, string(harness.ActionResume))
	}
	return nil
}

// Failpoints: the services' own registry and terms (sim.Failpoints).

// ApplySim applies the sim counterpart of Failpoint.
func (f *Failpoint) ApplySim(_ context.Context, st *sim.Stack) error {
	return st.EnableFailpoint(f.Name, f.Terms)
}

// RevertSim undoes ApplySim.
func (f *Failpoint) RevertSim(_ context.Context, st *sim.Stack) error {
	return st.DisableFailpoint(f.Name)
}

// DNS edits: the same dnsplan functions over Route53's own store.

// ApplySim applies the sim counterpart of EmptyEndpoint.
func (e *EmptyEndpoint) ApplySim(ctx context.Context, st *sim.Stack) error {
	store, zones := st.DNSStore()
	return dnsplan.Empty(ctx, store, zones, e.Endpoint)
}

// RevertSim undoes ApplySim.
func (e *EmptyEndpoint) RevertSim(ctx context.Context, st *sim.Stack) error {
	return restoreSim(ctx, st, e.Endpoint)
}

// ApplySim applies the sim counterpart of DeletePlan.
func (d *DeletePlan) ApplySim(ctx context.Context, st *sim.Stack) error {
	store, zones := st.DNSStore()
	return d.apply(ctx, store, zones)
}

// RevertSim undoes ApplySim.
func (d *DeletePlan) RevertSim(ctx context.Context, st *sim.Stack) error {
	return restoreSim(ctx, st, d.Endpoint)
}

// ApplySim applies the sim counterpart of RestoreDNS.
func (r *RestoreDNS) ApplySim(ctx context.Context, st *sim.Stack) error {
	return restoreSim(ctx, st, r.Endpoint)
}

// RevertSim undoes ApplySim.
func (r *RestoreDNS) RevertSim(context.Context, *sim.Stack) error { return nil }

func restoreSim(ctx context.Context, st *sim.Stack, ep dnsplan.Endpoint) error {
	store, zones := st.DNSStore()
	_, err := dnsplan.Restore(ctx, store, zones, ep, dnsplan.RestoreOptions{})
	return err
}

// The operators' actions: the Stack's.

// dnsAutomationIdleLimit bounds the wait for the Enactors' runs in flight
// when the DNS automation is disabled on the sim (incident time): a run
// takes seconds to minutes.
const dnsAutomationIdleLimit = time.Hour

// ApplySim applies the sim counterpart of DisableDNSAutomation.
func (DisableDNSAutomation) ApplySim(_ context.Context, st *sim.Stack) error {
	return st.DisableDNSAutomationWait(dnsAutomationIdleLimit)
}

// RevertSim undoes ApplySim.
func (DisableDNSAutomation) RevertSim(_ context.Context, st *sim.Stack) error {
	st.EnableDNSAutomation()
	return nil
}

// throttle sets a sim throttle (0: off).
func throttle(set func(perMinute float64), perMinute float64) error { set(perMinute); return nil }

// ApplySim applies the sim counterpart of ThrottleDWFM.
func (t *ThrottleDWFM) ApplySim(_ context.Context, st *sim.Stack) error {
	return throttle(st.ThrottleDWFM, t.PerMinute)
}

// RevertSim undoes ApplySim.
func (t *ThrottleDWFM) RevertSim(_ context.Context, st *sim.Stack) error {
	return throttle(st.ThrottleDWFM, 0)
}

// ApplySim applies the sim counterpart of ThrottleEC2.
func (t *ThrottleEC2) ApplySim(_ context.Context, st *sim.Stack) error {
	return throttle(st.ThrottleEC2, t.PerMinute)
}

// RevertSim undoes ApplySim.
func (t *ThrottleEC2) RevertSim(_ context.Context, st *sim.Stack) error {
	return throttle(st.ThrottleEC2, 0)
}

// ApplySim applies the sim counterpart of RestartDWFM.
func (r *RestartDWFM) ApplySim(_ context.Context, st *sim.Stack) error {
	return st.RestartDWFM(r.Instance)
}

// RevertSim undoes ApplySim.
func (r *RestartDWFM) RevertSim(context.Context, *sim.Stack) error { return nil }

// ApplySim applies the sim counterpart of RestartLambdaPollers: the same
// core call (lambda.Core.RestartPollers) the admin endpoint makes.
func (RestartLambdaPollers) ApplySim(_ context.Context, st *sim.Stack) error {
	st.RestartLambdaPollers()
	return nil
}

// RevertSim undoes ApplySim: a restart is instant, nothing to undo.
func (RestartLambdaPollers) RevertSim(context.Context, *sim.Stack) error { return nil }

// ApplySim applies the sim counterpart of DisableNLBFailover.
func (DisableNLBFailover) ApplySim(_ context.Context, st *sim.Stack) error {
	st.DisableNLBFailover()
	return nil
}

// RevertSim undoes ApplySim.
func (DisableNLBFailover) RevertSim(_ context.Context, st *sim.Stack) error {
	st.EnableNLBFailover()
	return nil
}

// ApplySim applies the sim counterpart of maybe.
func (m *maybe) ApplySim(ctx context.Context, st *sim.Stack) error {
	sf, ok := m.f.(SimFault)
	if !ok {
		return fmt.Errorf("%s: %w", Describe(m.f).Name, sim.ErrNotOnSim)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rng.Float64() >= m.p {
		return nil
	}
	m.applied = true
	return sf.ApplySim(ctx, st)
}

// RevertSim undoes ApplySim.
func (m *maybe) RevertSim(ctx context.Context, st *sim.Stack) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.applied {
		return nil
	}
	m.applied = false
	return m.f.(SimFault).RevertSim(ctx, st)
}
