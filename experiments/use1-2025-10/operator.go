package use1

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"time"
)

// Observation is what an operator on call can see at one moment: the
// probes' latest samples and the services' dashboards (each DWFM host's
// lease count, its goodput and queue). The runner builds it from the stack;
// a simulation builds it from its own cores. Nothing in it is a clock time
// of the real night.
type Observation struct {
	// DNSEmpty: the regional endpoint resolves to nothing.
	DNSEmpty bool
	// DynamoDBOK: DynamoDB answers (the GetItem probe passes).
	DynamoDBOK bool
	// DWFMLow are the DWFM hosts holding fewer than half their leases.
	DWFMLow []string
	// DWFMStuck are the hosts below LeaseFloor that re-leased next to
	// nothing over their goodput window while work waits in their queue.
	DWFMStuck []string
	// LeasesOK: every DWFM host holds at least LeaseFloor of its leases.
	LeasesOK bool
	// NetMgrDrained: Network Manager's queue is drained: its oldest item
	// waits no longer than BacklogWait and at most NetMgrDrainedDepth items
	// wait.
	NetMgrDrained bool
	// NLBFailing: an alarm on the NLB's health and capacity probes: at least
	// NLBAlarmPoints failing samples within NLBAlarmWindow (flapping
	// alternates, so the latest sample alone comes and goes).
	NLBFailing bool
	// LambdaStuck: the replay's event-source mapping processed nothing
	// since the previous sample while messages wait in its queue.
	LambdaStuck bool
}

// DWFMDashboard is what the operators read off the DWFM hosts' states: the
// hosts holding fewer than half their leases, the hosts stuck (below
// LeaseFloor, re-leasing next to nothing over their goodput window (a host
// re-leasing under the throttle does 0.5-0.8 a minute) while work waits in
// their queue), and whether all hosts (want of them) hold LeaseFloor.
func DWFMDashboard(states map[string]dwfmState, want int) (low, stuck []string, leasesOK bool) {
	leasesOK = len(states) == want
	for _, in := range slices.Sorted(maps.Keys(states)) {
		st := states[in]
		if 2*st.LeasesHeld < st.Droplets {
			low = append(low, in)
		}
		below := float64(st.LeasesHeld) < LeaseFloor*float64(st.Droplets)
		if below && st.Goodput < 0.2 && st.QueueDepth > 0 {
			stuck = append(stuck, in)
		}
		leasesOK = leasesOK && !below
	}
	return low, stuck, leasesOK
}

// OperatorState is what the operators have done so far (their own
// knowledge, not the stack's).
type OperatorState struct {
	Restored, Throttled, FailoverDisabled, PollersRestarted bool
}

// Rule is one runbook action: the signal that provokes it (a condition on
// what operators observe, held for Sustain), and the reaction delay
// (detection, diagnosis, approval) before it is carried out, drawn from the
// run's seed uniformly in [Delay*(1-DelaySpread), Delay*(1+DelaySpread)].
type Rule struct {
	Action string
	// Signal says what the operators see, for the record.
	Signal string
	When   func(Observation, OperatorState) bool
	// Sustain is how long the signal must hold before anyone acts on it.
	Sustain time.Duration
	// Delay is the mean reaction delay; Fitted says what it was fitted to
	// (every Delay is FITTED: the real times are what it is calibrated
	// against).
	Delay  time.Duration
	Fitted string
	// Repeat lets the rule fire again once its signal has cleared and come
	// back; otherwise it fires at most once.
	Repeat bool
	// Effect records the action in the operators' state.
	Effect func(*OperatorState)
}

// NetMgrDrainedDepth is the queue depth at or below which Network Manager
// counts as drained: about a minute of its work at the default rate of 80
// items a minute.
const NetMgrDrainedDepth = 100

// The NLB alarm: NLBAlarmPoints failing samples within NLBAlarmWindow.
const (
	NLBAlarmPoints = 2
	NLBAlarmWindow = 30 * time.Minute
)

// DelaySpread is the relative spread of the reaction delays.
const DelaySpread = 0.2

// Decision is one action the operator model took: the signal that provoked
// it, when it was first seen and when it had held for the rule's Sustain,
// the delay drawn, and when the action fired.
type Decision struct {
	Action    string        `json:"action"`
	Signal    string        `json:"signal"`
	SeenAt    time.Time     `json:"seen_at"`
	Confirmed time.Time     `json:"confirmed_at"`
	Delay     time.Duration `json:"delay"`
	FiredAt   time.Time     `json:"fired_at"`
	// Taken is false when the signal had cleared by the time the delay was
	// over (the symptom went away before anyone acted).
	Taken  bool   `json:"taken"`
	Error  string `json:"error,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type ruleState struct {
	since, confirmed, due time.Time
	delay                 time.Duration
	fired                 bool
}

// Operator is the operator model: a pure function of the observations it
// is given, its seeded rand and the times it is stepped at. It opens no
// socket and reads no clock, so a simulated backend can run it unchanged.
// It is not safe for concurrent use.
type Operator struct {
	rules []Rule
	rs    []ruleState
	rng   *rand.Rand
	State OperatorState
}

// NewOperator returns an operator following rules, its delays drawn from rng.
func NewOperator(rules []Rule, rng *rand.Rand) *Operator {
	return &Operator{rules: rules, rs: make([]ruleState, len(rules)), rng: rng}
}

// Step shows the operators obs at now and returns the actions they carry
// out now, in the rules' order (each also updates State).
func (o *Operator) Step(now time.Time, obs Observation) []Decision {
	var out []Decision
	for i := range o.rules {
		r, s := &o.rules[i], &o.rs[i]
		if s.fired && !r.Repeat {
			continue
		}
		on := r.When(obs, o.State)
		if !s.due.IsZero() {
			if now.Before(s.due) {
				continue // decided: carried out when the delay is over
			}
			d := Decision{Action: r.Action, Signal: r.Signal, SeenAt: s.since, Confirmed: s.confirmed, Delay: s.delay, FiredAt: now, Taken: on}
			if on {
				s.fired = true
				if r.Effect != nil {
					r.Effect(&o.State)
				}
			}
			out = append(out, d)
			*s = ruleState{fired: s.fired}
			continue
		}
		if !on {
			s.since = time.Time{} // the signal cleared before it was confirmed
			continue
		}
		if s.since.IsZero() {
			s.since = now
		}
		if now.Sub(s.since) >= r.Sustain {
			f := 1 + DelaySpread*(2*o.rng.Float64()-1)
			s.confirmed, s.delay = now, time.Duration(f*float64(r.Delay)).Round(time.Second)
			s.due = now.Add(s.delay)
		}
	}
	return out
}

// Runbook is the operators' runbook for the night: every action provoked by
// a signal, none by a clock time. The delays are FITTED to the real night's
// times (incident-facts.md), each as the time from when the signal could
// first be seen there to the action.
func Runbook() []Rule { return RunbookFor(DefaultCalibration()) }

// RunbookFor is the runbook with the reaction delays cal sets
// (lambda-restart-delay).
func RunbookFor(cal Calibration) []Rule {
	return []Rule{
		{Action: "restore-dns", Signal: "the regional endpoint resolves to nothing", Sustain: 10 * time.Minute,
			When:  func(o Observation, s OperatorState) bool { return o.DNSEmpty && !s.Restored },
			Delay: 2*time.Hour + 27*time.Minute - 10*time.Minute, Fitted: "record empty 23:48, cause identified 00:38, DNS restored by hand 02:25",
			Effect: func(s *OperatorState) { s.Restored = true }},
		{Action: "throttle-and-restart-dwfm", Signal: "DWFM hosts below half their leases while DynamoDB answers", Sustain: 30 * time.Minute,
			When:  func(o Observation, s OperatorState) bool { return len(o.DWFMLow) > 0 && o.DynamoDBOK && !s.Throttled },
			Delay: time.Hour + 34*time.Minute - 30*time.Minute, Fitted: "DynamoDB recovered 02:40, throttle and restarts 04:14",
			Effect: func(s *OperatorState) { s.Throttled = true }},
		{Action: "restart-stuck-dwfm", Signal: "a throttled DWFM host below the floor re-leases nothing with work queued", Sustain: 30 * time.Minute,
			When:  func(o Observation, s OperatorState) bool { return s.Throttled && len(o.DWFMStuck) > 0 && !o.LeasesOK },
			Delay: 10 * time.Minute, Fitted: "not in the references (\"selectively restart DWFM hosts\"): a host that collapses again under the throttle is restarted once more", Repeat: true},
		{Action: "disable-nlb-failover", Signal: "NLB health checks or capacity failing", Sustain: 20 * time.Minute,
			When:  func(o Observation, s OperatorState) bool { return o.NLBFailing && !s.FailoverDisabled },
			Delay: 2*time.Hour + 44*time.Minute - 20*time.Minute, Fitted: "monitoring detected NLB health-check failures 06:52, failover disabled 09:36",
			Effect: func(s *OperatorState) { s.FailoverDisabled = true }},
		{Action: "relax-throttles", Signal: "every DWFM host holds its leases and Network Manager's queue is drained, under the throttles", Sustain: 10 * time.Minute,
			When:  func(o Observation, s OperatorState) bool { return s.Throttled && o.LeasesOK && o.NetMgrDrained },
			Delay: 47*time.Minute - 10*time.Minute, Fitted: "Network Manager back to normal 10:36, throttles relaxed 11:23",
			Effect: func(s *OperatorState) { s.Throttled = false }},
		{Action: "enable-nlb-failover", Signal: "NLB health checks stable with failover disabled", Sustain: 30 * time.Minute,
			When:  func(o Observation, s OperatorState) bool { return s.FailoverDisabled && !o.NLBFailing },
			Delay: 19*time.Minute - 0, Fitted: "EC2 fully normal 13:50, failover re-enabled 14:09 (the real NLB's own recovery is not published)",
			Effect: func(s *OperatorState) { s.FailoverDisabled = false }},
		{Action: "restart-lambda-pollers", Signal: "Lambda's event-source mapping processes nothing with messages waiting while DynamoDB answers", Sustain: lambdaStuckSustain,
			When:  func(o Observation, s OperatorState) bool { return o.LambdaStuck && o.DynamoDBOK && !s.PollersRestarted },
			Delay: cal.LambdaRestartDelay, Fitted: "DynamoDB recovered 02:40, Lambda's SQS pollers fixed by hand 04:40 (lambda-restart-delay)",
			Effect: func(s *OperatorState) { s.PollersRestarted = true }},
	}
}

func (d Decision) String() string {
	return fmt.Sprintf("%s: %q seen %s, confirmed %s, delay %s, fired %s (taken %v)", d.Action, d.Signal, clockPDT(d.SeenAt), clockPDT(d.Confirmed), d.Delay, clockPDT(d.FiredAt), d.Taken)
}
