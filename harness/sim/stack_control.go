package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cascade-lab/cascade/harness/catalogue"
)

// Service actions Control takes: harness.Action's names.
const (
	ActionStop    = "stop"
	ActionStart   = "start"
	ActionPause   = "pause"
	ActionResume  = "resume"
	ActionRestart = "restart"
)

// Control is the sim's counterpart of harness.Stack.Control (the
// stop-service, pause-service and restart-service faults) on a catalogue
// instance:
//
//	pause, resume           every instance: its node is frozen (Network.Pause): its
//	                        processes do not run, requests to it and replies to it
//	                        wait until resume, its callers time out meanwhile
//	stop, start, restart    the DWFM hosts: stop ends the process (Network.Stop: calls
//	                        to it are refused, what it had in flight is dropped);
//	                        start is a new process, dwfm.Core.Restart with new
//	                        connections; restart is both at once (RestartDWFM)
//
// The other cores have no model of a process that starts again (what a new
// process would remember): stop, start and restart of them is an error
// wrapping ErrNotOnSim. Route53 is its API and DNS nodes; DynamoDB is its
// three load balancers' nodes (the fleet behind them).
func (s *Stack) Control(instance, action string) error {
	nodes, err := s.instanceNodes(instance)
	if err != nil {
		return err
	}
	switch action {
	case ActionPause:
		for _, n := range nodes {
			s.net.Pause(n)
		}
	case ActionResume:
		for _, n := range nodes {
			s.net.Resume(n)
		}
		if h, ok := s.dwfm[instance]; ok {
			h.kick()
		}
	case ActionStop, ActionStart, ActionRestart:
		h, ok := s.dwfm[instance]
		if !ok {
			return fmt.Errorf("sim stack: %s %s: %w (the DWFM hosts %v can; every instance can pause and resume)", action, instance, ErrNotOnSim, s.hosts)
		}
		if action != ActionStart {
			s.net.Stop(h.name)
		}
		if action != ActionStop {
			s.net.Start(h.name)
			return s.RestartDWFM(instance)
		}
	default:
		return fmt.Errorf("sim stack: unknown action %q: valid are %s, %s, %s, %s, %s", action,
			ActionStop, ActionStart, ActionPause, ActionResume, ActionRestart)
	}
	s.ev(instance).Emit("service-"+action, "instance", instance)
	return nil
}

// instanceNodes are the sim nodes of a catalogue instance.
func (s *Stack) instanceNodes(instance string) ([]string, error) {
	switch instance {
	case catalogue.Route53:
		return []string{Route53Node, DNSNode}, nil
	case catalogue.DynamoDB:
		var out []string
		for _, lb := range LBs {
			out = append(out, lb.Name)
		}
		return out, nil
	}
	var valid []string
	for _, in := range s.plan.Instances {
		valid = append(valid, in.Name)
	}
	if !slices.Contains(valid, instance) {
		return nil, fmt.Errorf("sim stack: unknown instance %q: valid are %s", instance, strings.Join(valid, ", "))
	}
	return []string{instance}, nil
}
