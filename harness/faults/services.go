package faults

import (
	"context"
	"fmt"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// ServiceFault stops or pauses a service instance until reverted, or
// restarts it (instantaneous).
type ServiceFault struct {
	Instance string
	Action   harness.Action // stop, pause or restart
}

// StopService stops instance until reverted.
func StopService(instance string) *ServiceFault {
	return &ServiceFault{Instance: instance, Action: harness.ActionStop}
}

// PauseService freezes instance until reverted.
func PauseService(instance string) *ServiceFault {
	return &ServiceFault{Instance: instance, Action: harness.ActionPause}
}

// RestartService restarts instance.
func RestartService(instance string) *ServiceFault {
	return &ServiceFault{Instance: instance, Action: harness.ActionRestart}
}

// Apply performs the action.
func (f *ServiceFault) Apply(ctx context.Context, s harness.Stack) error {
	return s.Control(ctx, f.Instance, f.Action)
}

// Revert starts a stopped service and resumes a paused one.
func (f *ServiceFault) Revert(ctx context.Context, s harness.Stack) error {
	switch f.Action {
	case harness.ActionStop:
		return s.Control(ctx, f.Instance, harness.ActionStart)
	case harness.ActionPause:
		return s.Control(ctx, f.Instance, harness.ActionResume)
	}
	return nil
}

// Instant reports whether there is nothing to revert (a restart).
func (f *ServiceFault) Instant() bool { return f.Action == harness.ActionRestart }

// Describe is the ledger entry.
func (f *ServiceFault) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindService, Name: string(f.Action), Target: f.Instance}
}

func init() {
	for _, a := range []harness.Action{harness.ActionStop, harness.ActionPause, harness.ActionRestart} {
		Register(Spec{Name: string(a) + "-service", Kind: KindService, Help: fmt.Sprintf("%s a service instance", a),
			Params: []Param{{Name: "service", Required: true, Help: "instance name, e.g. dwfm-a, route53"}},
			New: func(args Args) (Fault, error) {
				return &ServiceFault{Instance: args["service"], Action: a}, nil
			}})
	}
}
