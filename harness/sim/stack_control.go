package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dwfm"
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
// instance, with the containers backend's semantics (a container's
// process; its restart is a new process of cmd/mockaws):
//
//	pause, resume   its node(s) frozen (Network.Pause): its processes do not
//	                run, requests to it and replies to it wait until resume,
//	                its callers time out meanwhile
//	stop            its process ended (Network.Stop): calls to it are
//	                refused, what it had in flight is dropped, its
//	                processes are parked
//	start           a new process (Network.Start: a new incarnation, whose
//	                connections are new): the old processes are ended and
//	                the instance boots as at the stack's start (boot), with
//	                its catalogue Config; its failpoints are off (a new
//	                process's registry). Start of an instance that is not
//	                stopped changes nothing, as docker start.
//	restart         stop, then start
//
// What a new process remembers is what the mock's process loads at start
// (boot, docs/sim.md's fault table): everything else it held in memory is
// gone. The DWFM hosts keep their own restart (dwfm.Core.Restart, as
// RestartDWFM: the host finds its leases in its table and re-leases every
// droplet). Route53 is its API and DNS nodes; DynamoDB is its three load
// balancers' nodes (the fleet behind them).
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
	case ActionStop:
		for _, n := range nodes {
			s.net.Stop(n)
		}
	case ActionStart, ActionRestart:
		if action == ActionRestart {
			for _, n := range nodes {
				s.net.Stop(n)
			}
		}
		if err := s.start(instance, nodes); err != nil {
			return fmt.Errorf("sim stack: %s %s: %w", action, instance, err)
		}
	default:
		return fmt.Errorf("sim stack: unknown action %q: valid are %s, %s, %s, %s, %s", action,
			ActionStop, ActionStart, ActionPause, ActionResume, ActionRestart)
	}
	s.ev(instance).Emit("service-"+action, "instance", instance)
	return nil
}

// start starts a stopped instance as a new process.
func (s *Stack) start(instance string, nodes []string) error {
	if h, ok := s.dwfm[instance]; ok {
		// the DWFM host's own restart, as before other instances had one;
		// a new process has its performers free and nothing queued for them
		stopped := s.stopped(nodes[0])
		s.net.Start(h.name)
		if stopped {
			h.inflight, h.waiting = 0, nil
			s.failpointsOff(instance)
			if err := s.ddbTable(h.table, dwfm.LeaseKey); err != nil { // the server's ensureTable
				return err
			}
		}
		return s.RestartDWFM(instance)
	}
	if !s.stopped(nodes[0]) {
		return nil
	}
	s.s.Kill(instance) // the old process's loops
	s.failpointsOff(instance)
	for _, n := range nodes {
		s.net.Start(n)
	}
	if err := s.boot(instance); err != nil {
		return err
	}
	for _, n := range nodes {
		if !s.net.Running(n) { // started while paused: its new loops wait too
			s.net.Pause(n)
		}
	}
	return nil
}

func (s *Stack) stopped(node string) bool {
	st := s.net.nodes[node]
	return st != nil && st.stopped
}

// failpointsOff turns instance's failpoints off, releasing what they hold:
// a new process of the mock starts with every failpoint off.
func (s *Stack) failpointsOff(instance string) {
	for _, name := range s.race.fps.Names() {
		if strings.HasPrefix(name, instance+"/") {
			_ = s.race.fps.Disable(name)
		}
	}
}

// boot is what a new process of instance does at start: the part of build
// that the mock's own constructor and Start do, from the instance's
// catalogue Config (what the stack's build gave it, Tune included).
func (s *Stack) boot(instance string) error {
	switch s.kindOf(instance) {
	case catalogue.Route53:
		return s.race.r53.Restart()
	case catalogue.DNSPlanner:
		return s.race.startPlanner(true)
	case catalogue.DNSEnactor:
		delete(s.race.running, instance)
		delete(s.race.disabled, instance) // the admin API's disable was in the old process's memory
		return s.race.startEnactor(slices.Index(Enactors, instance), 0)
	case catalogue.EC2:
		s.ec2Wake, s.ec2Woken = nil, false
	}
	return s.buildInstance(instance)
}

// kindOf is instance's catalogue kind.
func (s *Stack) kindOf(instance string) string {
	for _, in := range s.plan.Instances {
		if in.Name == instance {
			return in.Kind
		}
	}
	return ""
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
