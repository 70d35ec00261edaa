package sim

import (
	"context"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Failpoints are the sim's counterpart of the services' failpoints: the
// same registry and terms as on the real backends (kit.Failpoints, gofail's
// syntax), evaluated with Decide. A return fails the step; a sleep parks the
// process for that much incident time; a pause parks it until the failpoint
// is disabled or re-enabled through this type (at an instant of the run).
type Failpoints struct {
	*kit.Failpoints
	parked map[string][]*Signal
	held   map[string][]func() // Gate's callers held by a pause
	s      *Sim
}

// NewFailpoints returns an empty set whose probabilistic terms draw from the
// run's random source.
func NewFailpoints(s *Sim) *Failpoints {
	return &Failpoints{Failpoints: kit.NewFailpoints(s.Clock(), s.Rand()), parked: map[string][]*Signal{}, held: map[string][]func(){}, s: s}
}

// Hook is failpoint name at one position of p's code, as the Enactor's
// Pauses take it.
func (f *Failpoints) Hook(p *Proc, name string) func(context.Context) error {
	fp := f.Register(name)
	return func(context.Context) error {
		a := fp.Decide()
		switch a.Kind {
		case "return":
			return &kit.FailpointError{Name: name, Value: a.Value}
		case "sleep", "pause":
			sig := p.NewSignal()
			f.parked[name] = append(f.parked[name], sig)
			if a.Kind == "sleep" {
				p.s.After(a.Sleep, sig.Fire)
			}
			fp.Waiting(1)
			sig.Await()
			fp.Waiting(-1)
		}
		return nil
	}
}

// Enable sets name's terms; processes it held are released (as on the real
// backends, replacing the terms releases a pause).
func (f *Failpoints) Enable(name, terms string) error {
	if err := f.Failpoints.Enable(name, terms); err != nil {
		return err
	}
	f.release(name)
	return nil
}

// Disable turns name off and releases the processes it held.
func (f *Failpoints) Disable(name string) error {
	if err := f.Failpoints.Disable(name); err != nil {
		return err
	}
	f.release(name)
	return nil
}

func (f *Failpoints) release(name string) {
	for _, sig := range f.parked[name] {
		sig.Fire()
	}
	delete(f.parked, name)
	held := f.held[name]
	delete(f.held, name)
	for _, fn := range held {
		f.s.After(0, fn)
	}
}

// Gate is failpoint name on a path that has no process (a transport's
// in-flight call): next runs with the failpoint's error at once (return),
// after its sleep, when a pause is released, or at once with nil (off).
func (f *Failpoints) Gate(name string, next func(error)) {
	fp := f.Register(name)
	a := fp.Decide()
	switch a.Kind {
	case "return":
		next(&kit.FailpointError{Name: name, Value: a.Value})
	case "sleep":
		f.s.After(a.Sleep, func() { next(nil) })
	case "pause":
		fp.Waiting(1)
		f.held[name] = append(f.held[name], func() { fp.Waiting(-1); next(nil) })
	default:
		next(nil)
	}
}
