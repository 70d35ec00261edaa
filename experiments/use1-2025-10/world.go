package use1

import (
	"context"
	"net/http"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// world is what the replay reads from a stack and does to it, whatever the
// backend: the subjects of its probes, the dashboards its operators read,
// the customer's launches and the runbook's actions. The replay's method
// (probes.go, operator.go, workload.go and the actions below) is written
// over it once; realWorld drives a harness.Stack over the services' HTTP
// admin APIs and SDK clients, the sim backend a harness/sim stack on its
// virtual clock.
type world interface {
	Clock() kit.Clock
	// coreProbes are the dns-resolve, ddb-getitem and ddb-putitem probes.
	coreProbes() []probes.Probe
	dwfmState(ctx context.Context, instance string) (dwfmState, error)
	netmgrQueue(ctx context.Context) (netmgrQueue, error)
	propagated(ctx context.Context, id string) (bool, error)
	nlbState(ctx context.Context) (nlbState, error)
	// launch places one instance (code "" on success, else the probe code).
	launch(ctx context.Context, tag string) (launched, string, error)
	register(ctx context.Context, ins ...launched) error

	// The runbook's actions, each recorded on the timeline as the operator
	// fault the other backends' ledger records (same kind, name, target).
	restoreDNS(ctx context.Context) error
	throttleEC2(ctx context.Context, perMinute float64) (undo func(context.Context) error, err error)
	throttleDWFM(ctx context.Context, perMinute float64) (undo func(context.Context) error, err error)
	restartDWFM(ctx context.Context, instance string) error
	disableNLBFailover(ctx context.Context) (undo func(context.Context) error, err error)
	// operatorAction records an instant operator action that runs apply.
	operatorAction(ctx context.Context, name, target string, apply func(context.Context) error) error
	// faults are the faults and actions recorded so far.
	faults() []timeline.Fault

	// The downstream services (downstream.go): their probes, the Lambda
	// poller workload (set-up, one message, the mapping's processed count and
	// the messages waiting) and the runbook's restart-lambda-pollers.
	downstreamProbes() []probes.Probe
	pollerSetup(ctx context.Context) error
	pollerSend(ctx context.Context) error
	pollerState(ctx context.Context) (processed int64, queued int, err error)
	restartLambdaPollers(ctx context.Context) error
	// ecsRunning is the running count of the replay's ECS service (created
	// with desired count 1 on the first call); ecsScale sets its desired count.
	ecsRunning(ctx context.Context) (int, error)
	ecsScale(ctx context.Context, desired int) error
	// stsLoadCall and lambdaLoadCall are one call of the customer's steady
	// load (load.go): AssumeRole, and Invoke of the replay's function; each
	// returns its probe code ("" when it succeeded).
	stsLoadCall(ctx context.Context) string
	lambdaLoadCall(ctx context.Context) string
}

// dwfmHosts are the DWFM hosts, in AZ order.
func dwfmHosts() []string {
	out := make([]string, 0, len(harness.AZs))
	for _, az := range harness.AZs {
		out = append(out, harness.DWFMSvc+"-"+az)
	}
	return out
}

// dwfmStatesOf reads every DWFM host's dashboard; a host whose state cannot
// be read is left out.
func dwfmStatesOf(ctx context.Context, w world) map[string]dwfmState {
	out := map[string]dwfmState{}
	for _, in := range dwfmHosts() {
		if st, err := w.dwfmState(ctx, in); err == nil {
			out[in] = st
		}
	}
	return out
}

// realWorld is a harness.Stack (embedded, containers, compose): reads over
// the admin APIs, launches with the SDK, actions through a faults.Ledger.
type realWorld struct {
	stack  harness.Stack
	ledger *faults.Ledger
	l      *launcher
	core   []probes.Probe
	poller *realPoller
	load   *realLoad
}

func newRealWorld(stack harness.Stack, tl *timeline.Timeline) (*realWorld, error) {
	w := &realWorld{stack: stack, ledger: faults.NewLedger(stack, faults.WithTimeline(tl)), poller: &realPoller{stack: stack}, load: &realLoad{}}
	l, err := newLauncher(stack)
	if err != nil {
		return nil, err
	}
	w.l = l
	ep := stack.Endpoints()
	ddb := probes.NewDynamoDB(ep)
	w.core = []probes.Probe{probes.Resolve(ep), ddb.GetItem(), ddb.PutItem()}
	return w, nil
}

func (w *realWorld) Clock() kit.Clock           { return w.stack.Clock() }
func (w *realWorld) coreProbes() []probes.Probe { return w.core }

func (w *realWorld) dwfmState(ctx context.Context, in string) (dwfmState, error) {
	var st dwfmState
	err := getJSON(ctx, w.stack.Endpoints().Admin[in]+"/admin/state", &st)
	return st, err
}

func (w *realWorld) netmgrQueue(ctx context.Context) (netmgrQueue, error) {
	var q netmgrQueue
	err := getJSON(ctx, w.stack.Endpoints().NetMgrAPI+"/v1/queue", &q)
	return q, err
}

func (w *realWorld) propagated(ctx context.Context, id string) (bool, error) {
	var st struct {
		Propagated bool `json:"propagated"`
	}
	err := getJSON(ctx, w.stack.Endpoints().NetMgrAPI+"/v1/instances/"+id, &st)
	return err == nil && st.Propagated, err
}

func (w *realWorld) nlbState(ctx context.Context) (nlbState, error) {
	var st nlbState
	err := getJSON(ctx, w.stack.Endpoints().Admin[harness.NLBSvc]+"/admin/state", &st)
	return st, err
}

func (w *realWorld) launch(ctx context.Context, tag string) (launched, string, error) {
	return w.l.launch(ctx, tag)
}

// register adds instances as NLB targets.
func (w *realWorld) register(ctx context.Context, ins ...launched) error {
	type target struct {
		ID string `json:"id"`
		AZ string `json:"az"`
	}
	var ts []target
	for _, in := range ins {
		ts = append(ts, target{ID: in.ID, AZ: in.ZoneID})
	}
	return sendJSON(ctx, http.MethodPost, w.stack.Endpoints().Admin[harness.NLBSvc]+"/admin/targets", map[string]any{"targets": ts})
}

func (w *realWorld) restoreDNS(ctx context.Context) error {
	for _, ep := range []dnsplan.Endpoint{dnsplan.Regional, dnsplan.DualStack} {
		if _, err := w.ledger.Apply(ctx, &faults.RestoreDNS{Endpoint: ep}); err != nil {
			return err
		}
	}
	return nil
}

func (w *realWorld) throttleEC2(ctx context.Context, perMinute float64) (func(context.Context) error, error) {
	return w.ledger.Apply(ctx, &faults.ThrottleEC2{PerMinute: perMinute})
}

func (w *realWorld) throttleDWFM(ctx context.Context, perMinute float64) (func(context.Context) error, error) {
	return w.ledger.Apply(ctx, &faults.ThrottleDWFM{PerMinute: perMinute})
}

func (w *realWorld) restartDWFM(ctx context.Context, in string) error {
	_, err := w.ledger.Apply(ctx, &faults.RestartDWFM{Instance: in})
	return err
}

func (w *realWorld) disableNLBFailover(ctx context.Context) (func(context.Context) error, error) {
	return w.ledger.Apply(ctx, faults.DisableNLBFailover{})
}

func (w *realWorld) operatorAction(ctx context.Context, name, target string, apply func(context.Context) error) error {
	_, err := w.ledger.Apply(ctx, &action{name: name, target: target,
		apply: func(ctx context.Context, _ harness.Stack) error { return apply(ctx) }})
	return err
}

func (w *realWorld) faults() []timeline.Fault { return w.ledger.Faults() }

// sampleSource is where the operators and the live display read the
// probes' latest samples: a probes.Runner on the real backends, the sim's
// sequential sampler on the sim.
type sampleSource interface {
	Last(probe string) (timeline.Sample, bool)
	Recent(probe string) []timeline.Sample
}

// recentLimit is how many samples per probe a sampler keeps (as
// probes.Runner: at 512 it drops to the newest 256).
const recentLimit = 512

// seqSampler samples its probes one after the other in the caller's
// goroutine (the sim's single thread of control), stamping each with the
// time the round started, and keeps the recent ones as probes.Runner does.
type seqSampler struct {
	clock  kit.Clock
	probes []probes.Probe
	sink   func(...timeline.Sample)
	recent map[string][]timeline.Sample
}

func newSeqSampler(clock kit.Clock, sink func(...timeline.Sample), ps ...probes.Probe) *seqSampler {
	return &seqSampler{clock: clock, probes: ps, sink: sink, recent: map[string][]timeline.Sample{}}
}

func (s *seqSampler) sampleOnce(ctx context.Context) {
	now := s.clock.Now()
	out := make([]timeline.Sample, len(s.probes))
	for i, p := range s.probes {
		smp := p.Sample(ctx)
		smp.Time, smp.Probe = now, p.Name()
		out[i] = smp
	}
	for _, smp := range out {
		h := append(s.recent[smp.Probe], smp)
		if len(h) > recentLimit {
			h = h[len(h)-recentLimit/2:]
		}
		s.recent[smp.Probe] = h
	}
	if s.sink != nil {
		s.sink(out...)
	}
}

func (s *seqSampler) Last(probe string) (timeline.Sample, bool) {
	h := s.recent[probe]
	if len(h) == 0 {
		return timeline.Sample{}, false
	}
	return h[len(h)-1], true
}

func (s *seqSampler) Recent(probe string) []timeline.Sample {
	return append([]timeline.Sample(nil), s.recent[probe]...)
}
