package use1

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// The downstream services' real times (incident-facts.md, the AWS summary's
// table; issue 14 for ECS), PDT.
var (
	// DownstreamErrorsBegin: "11:47-11:51 PM: Redshift, Lambda, STS, IAM
	// sign-in errors begin" (the end of that range).
	DownstreamErrorsBegin = at(19, 23, 51)
	// STSFirstRecovered: "1:19 AM: STS recovers (first impact period)",
	// after "temporary mitigations" at 1:15.
	STSFirstRecovered = at(20, 1, 19)
	// LambdaPollersFixed: "4:40 AM: Lambda's SQS polling subsystem, which
	// did not recover by itself, fixed by hand".
	LambdaPollersFixed = at(20, 4, 40)
	// STSSecondBegins and STSSecondEnds: "8:31-9:59 AM: STS second impact
	// period, from NLB health-check failures".
	STSSecondBegins = at(20, 8, 31)
	STSSecondEnds   = at(20, 9, 59)
	// ECSLaunchesFailBegin: ECS/Fargate task launches fail from 23:45 to the
	// end of the event (issue 14, from AWS's summary).
	ECSLaunchesFailBegin = at(19, 23, 45)
)

// The downstream components and the probes that show them.
const (
	CompLambda       = "lambda"        // lambda-getfunction: metadata in DynamoDB
	CompLambdaPoller = "lambda-poller" // lambda-sqs-poller: the event-source mapping drains its queue
	CompSTS          = "sts"           // sts-assumerole
	CompECS          = "ecs"           // ecs-service
	// ProbeLambdaPoller sends one message to the replay's queue per sample
	// and fails while messages wait and the mapping processed none for
	// longer than PollerGrace.
	ProbeLambdaPoller = "lambda-sqs-poller"
	// ProbeECSScale scales the replay's ECS service between one and two
	// tasks, a step every ECSScaleEvery (sampled every SlowProbePeriod): it
	// fails while the service runs fewer tasks than the last step asked for.
	ProbeECSScale = "ecs-scale"
)

// Phase names of the downstream rows.
const (
	PhaseLambdaErrors  = "lambda-create-update-errors"
	PhaseLambdaPoller  = "lambda-sqs-poller-wedged"
	PhaseSTSDynamoDB   = "sts-dynamodb"
	PhaseSTSNLB        = "sts-nlb"
	PhaseECSLaunchFail = "ecs-launch-failures"
)

// DownstreamComponents are the downstream part of Components().
func DownstreamComponents() []timeline.Component {
	return []timeline.Component{
		{Name: CompLambda, Probes: []string{probes.ProbeLambdaGet}},
		{Name: CompLambdaPoller, Probes: []string{ProbeLambdaPoller}},
		{Name: CompSTS, Probes: []string{probes.ProbeSTS}},
		{Name: CompECS, Probes: []string{ProbeECSScale}},
		{Name: CompSTSCapacity, Probes: []string{ProbeSTSLoad}},
		{Name: CompLambdaCapacity, Probes: []string{ProbeLambdaLoad}},
	}
}

// DownstreamPhases are the downstream services' rows of the fidelity table,
// in the references' order of onset.
var DownstreamPhases = []RealPhase{
	{Name: PhaseECSLaunchFail, Start: ECSLaunchesFailBegin, End: EventOver, Component: CompECS, Source: "issue 14 (AWS)", Scored: true,
		StartB: emergent(ECSLaunchesFailBegin, EventOver, "a task's instance launch fails (EC2) or it lacks connectivity (Network Manager)"),
		EndB:   emergent(ECSLaunchesFailBegin, EventOver, "EC2 launches with connectivity again")},
	{Name: PhaseLambdaErrors, Start: DownstreamErrorsBegin, End: DynamoDBRecovered, Component: CompLambda, Source: "AWS (the end: DynamoDB's recovery; Lambda's own end is not published)", Scored: true,
		StartB: emergent(DownstreamErrorsBegin, DynamoDBRecovered, "GetFunction fails once Lambda's pooled DynamoDB connection ages out"),
		EndB:   Boundary{SetBy: SetByOperator, Note: "restore-dns, then Lambda reconnects"}},
	{Name: PhaseSTSDynamoDB, Start: DownstreamErrorsBegin, End: STSFirstRecovered, Component: CompSTS, Source: "AWS", Scored: true,
		StartB: emergent(DownstreamErrorsBegin, STSFirstRecovered, "a principal read past FreshTTL fails once STS's connection ages out"),
		EndB:   Boundary{SetBy: SetByOperator, Note: "the model's STS recovers with restore-dns; the real 01:19 followed temporary mitigations at 01:15, not modelled"}},
	{Name: PhaseLambdaPoller, Start: DownstreamErrorsBegin, End: LambdaPollersFixed, Component: CompLambdaPoller, Source: "AWS", Scored: true,
		StartB: emergent(DownstreamErrorsBegin, LambdaPollersFixed, "the leader's lease renewal fails: as-was it dies holding the lease"),
		EndB:   Boundary{SetBy: SetByOperator, Note: "restart-lambda-pollers (its reaction delay FITTED to 04:40)"}},
	{Name: PhaseSTSNLB, Start: STSSecondBegins, End: STSSecondEnds, Component: CompSTSCapacity, Source: "AWS", Scored: true,
		StartB: emergent(STSSecondBegins, STSSecondEnds, "the NLB's healthy share leaves STS's fleet short of the customer's steady load"),
		EndB:   emergent(STSSecondBegins, STSSecondEnds, "enough of the NLB's targets healthy again")},
}

// downstreamPhase is the window of component's phase the row measures: its
// first impact window (for sts-nlb, STS's fleet refusing the customer's
// load: only the NLB's share makes it, capacity-throttling-in-nlb-impact
// checks that it falls inside the NLB impact).
func downstreamPhase(snap *timeline.Snapshot, rp RealPhase) timeline.Phase {
	return firstWindow(snap.Phase(rp.Component))
}

// firstWindow is p cut to its first impact window.
func firstWindow(p timeline.Phase) timeline.Phase {
	if len(p.Windows) == 0 {
		return p
	}
	return windowPhase(p, p.Windows[0])
}

func windowPhase(p timeline.Phase, w timeline.Window) timeline.Phase {
	out := timeline.Phase{Component: p.Component, Samples: p.Samples, ImpactStart: w.Start, FirstSymptom: w.Start,
		Windows: []timeline.Window{w}}
	if !w.Open() {
		out.ImpactEnd, out.Recovered = w.End, true
	}
	return out
}

// pollerProbe is the lambda-sqs-poller probe over w: the first samples set
// up the replay's function, queue and event-source mapping (they need
// DynamoDB: the steady state has it); then each sample sends one message
// and fails while messages wait and the mapping has processed none for
// longer than PollerGrace. Value is the messages waiting.
func pollerProbe(w world) probes.Probe {
	clock := w.Clock()
	ready := false
	last := int64(-1)
	var moved time.Time
	return probes.Func{ProbeName: ProbeLambdaPoller, Fn: func(ctx context.Context) timeline.Sample {
		if !ready {
			if err := w.pollerSetup(ctx); err != nil {
				return timeline.Sample{Code: "not-set-up", Detail: err.Error()}
			}
			ready = true
		}
		if err := w.pollerSend(ctx); err != nil {
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		processed, queued, err := w.pollerState(ctx)
		if err != nil {
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		now := clock.Now()
		if processed > last || moved.IsZero() {
			last, moved = processed, now
		}
		s := timeline.Sample{OK: queued == 0 || now.Sub(moved) <= PollerGrace, Value: float64(queued),
			Detail: fmt.Sprintf("processed %d (last moved %s ago), %d waiting", processed, now.Sub(moved).Round(time.Minute), queued)}
		if !s.OK {
			s.Code = "poller-stuck"
		}
		return s
	}}
}

// PollerGrace is how long the replay's mapping may process nothing with
// messages waiting before the lambda-sqs-poller probe fails: a measurement
// threshold (the poller steps every 10 s; 10 min keeps a loaded machine's
// slow polls on the real backends from reading as a wedged poller).
const PollerGrace = 10 * time.Minute

// pollerResource is the replay's function, queue and mapping.
const pollerResource = "cascade-replay"

// realPoller is the Lambda poller workload on a real backend: the SDK for
// set-up and sends, Lambda's admin API for the mapping's processed count.
type realPoller struct {
	stack      harness.Stack
	url        string
	ecsCreated bool
}

func (p *realPoller) setup(ctx context.Context) error {
	ep := p.stack.Endpoints()
	if ep.LambdaAPI == "" || ep.SQSAPI == "" {
		return errors.New("the stack runs no lambda or sqs")
	}
	lc, err := awsclient.Lambda(ep.LambdaAPI, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
	if err != nil {
		return err
	}
	qc, err := awsclient.SQS(ep.SQSAPI, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
	if err != nil {
		return err
	}
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(pollerResource), Role: aws.String(probes.ProbeRoleARN),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("echo"),
		Code: &lambdatypes.FunctionCode{ZipFile: []byte{0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}}); err != nil {
		var conflict *lambdatypes.ResourceConflictException
		if !errors.As(err, &conflict) {
			return err
		}
	}
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(pollerResource)})
	if err != nil {
		return err
	}
	attrs, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		return err
	}
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String(pollerResource),
		EventSourceArn: aws.String(attrs.Attributes["QueueArn"])}); err != nil {
		return err
	}
	p.url = aws.ToString(q.QueueUrl)
	return nil
}

func (p *realPoller) send(ctx context.Context) error {
	qc, err := awsclient.SQS(p.stack.Endpoints().SQSAPI, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
	if err != nil {
		return err
	}
	_, err = qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.url), MessageBody: aws.String("work")})
	return err
}

func (p *realPoller) state(ctx context.Context) (int64, int, error) {
	var ps []struct {
		Processed int64 `json:"processed"`
	}
	if err := getJSON(ctx, p.stack.Endpoints().Admin[harness.LambdaSvc]+"/admin/pollers", &ps); err != nil {
		return 0, 0, err
	}
	qc, err := awsclient.SQS(p.stack.Endpoints().SQSAPI, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
	if err != nil {
		return 0, 0, err
	}
	out, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.url),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		return 0, 0, err
	}
	var n, v int
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &n)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &v)
	var processed int64
	for _, m := range ps {
		processed += m.Processed
	}
	return processed, n + v, nil
}

func (w *realWorld) downstreamProbes() []probes.Probe {
	return append(probes.Downstream(w.stack), pollerProbe(w))
}

func (w *realWorld) pollerSetup(ctx context.Context) error { return w.poller.setup(ctx) }
func (w *realWorld) pollerSend(ctx context.Context) error  { return w.poller.send(ctx) }
func (w *realWorld) pollerState(ctx context.Context) (int64, int, error) {
	return w.poller.state(ctx)
}

func (w *realWorld) restartLambdaPollers(ctx context.Context) error {
	_, err := w.ledger.Apply(ctx, faults.RestartLambdaPollers{})
	return err
}

// simDownstream are the downstream probes on the sim: its clients answer
// the codes the SDK probes classify.
func (w *simWorld) downstreamProbes() []probes.Probe {
	created := false
	ecs := probes.Func{ProbeName: probes.ProbeECS, Fn: func(context.Context) timeline.Sample {
		n, code := w.st.ECSService(probes.ProbeName)
		if code != "" {
			return timeline.Sample{Code: code, Detail: code}
		}
		return timeline.Sample{OK: true, Value: float64(n)}
	}}
	return []probes.Probe{
		codeProbe(probes.ProbeLambdaGet, func() string {
			if !created {
				if c := w.st.LambdaCreateFunction(probes.ProbeName, "echo"); c != "" && c != "ResourceConflictException" {
					return c
				}
				created = true
			}
			return w.st.LambdaGetFunction(probes.ProbeName)
		}),
		codeProbe(probes.ProbeLambdaInvoke, func() string { return w.st.LambdaInvoke(probes.ProbeName) }),
		codeProbe(probes.ProbeSTS, w.st.STSAssumeRole),
		ecs,
		pollerProbe(w),
	}
}

func (w *simWorld) pollerSetup(context.Context) error {
	for _, c := range []string{w.st.LambdaCreateFunction(pollerResource, "echo"), w.st.SQSCreateQueue(pollerResource)} {
		if c != "" && c != "ResourceConflictException" {
			return errors.New(c)
		}
	}
	if _, c := w.st.LambdaCreateMapping(pollerResource, pollerResource); c != "" {
		return errors.New(c)
	}
	return nil
}

func (w *simWorld) pollerSend(context.Context) error {
	if c := w.st.SQSSend(pollerResource, "work"); c != "" {
		return errors.New(c)
	}
	return nil
}

func (w *simWorld) pollerState(context.Context) (int64, int, error) {
	var processed int64
	for _, ps := range w.st.LambdaPollers() {
		processed += ps.Processed
	}
	return processed, w.st.SQSDepth(pollerResource), nil
}

func (w *simWorld) restartLambdaPollers(context.Context) error {
	w.st.RestartLambdaPollers()
	w.record(operatorFault("restart-lambda-pollers", harness.LambdaSvc, ""), true, nil)
	return nil
}

// DefaultLambdaRestartDelay is restart-lambda-pollers' mean reaction delay:
// FITTED to the real night, DynamoDB recovered 02:40 (when a wedged poller
// can first be told from DynamoDB's outage) and the pollers fixed by hand
// 04:40, less the rule's 30-min sustain.
const DefaultLambdaRestartDelay = 2*time.Hour - lambdaStuckSustain

// lambdaStuckSustain is how long the wedged-poller signal must hold.
const lambdaStuckSustain = 30 * time.Minute

// Hypotheses of the downstream services.
const (
	// HDownstreamOrder: as-was, every downstream phase is present, in the
	// references' order.
	HDownstreamOrder = "downstream-order"
	// HLambdaWedged: as-was, the poller stays wedged after DynamoDB is back
	// until restart-lambda-pollers (it fails if the poller recovered by
	// itself).
	HLambdaWedged = "lambda-poller-wedged-until-restart"
	// HLambdaSelfRecovers: with lambda-lease-expiry the poller recovers
	// with no operator action.
	HLambdaSelfRecovers = "lambda-poller-self-recovers"
	// HNoDownstream: with every announced fix, no downstream service is
	// impacted.
	HNoDownstream = "no-downstream-impact"
	// HCapacityInNLB: STS's and Lambda's fleets refuse the customer's load
	// only inside the NLB impact; as-was both do.
	HCapacityInNLB = "capacity-throttling-in-nlb-impact"
)

// downstreamOrder are the downstream phases grouped by the references'
// onset: the first four begin within the outage's first minutes (ECS
// 23:45, Lambda and STS "11:47-11:51 PM"; the references do not order them
// within those minutes), then STS's second period at 08:31 and Lambda's
// under-scaling (no time published: "later", from the NLB's failures).
var downstreamOrder = [][]string{{PhaseECSLaunchFail, PhaseLambdaErrors, PhaseSTSDynamoDB, PhaseLambdaPoller}, {PhaseSTSNLB, PhaseLambdaThrottled}}

// DownstreamOrder reports whether every downstream phase of rows started
// (but those whose start is a known miss), each group after every phase
// of the group before it. lambda-throttled has no fidelity row: its start
// is read from snap (lambda-capacity's first window).
func DownstreamOrder(rows []FidelityRow, snap *timeline.Snapshot) (bool, string) {
	start := map[string]FidelityRow{}
	for _, r := range rows {
		start[r.Phase] = r
	}
	var lt FidelityRow
	lt.Phase = PhaseLambdaThrottled
	if p := snap.Phase(CompLambdaCapacity); p.Impacted() {
		lt.Started, lt.ReplayStart = true, p.ImpactStart.Sub(FidelityOrigin)
	}
	start[PhaseLambdaThrottled] = lt
	var missing, wrong, known []string
	var prevMax time.Duration
	prev := ""
	for i, g := range downstreamOrder {
		var gmin, gmax time.Duration
		first := true
		for _, n := range g {
			r, ok := start[n]
			if !ok || !r.Started {
				if !KnownMisses[FidelityID(n, "start")].Never {
					missing = append(missing, n)
				} else {
					known = append(known, n)
				}
				continue
			}
			if first || r.ReplayStart < gmin {
				gmin = r.ReplayStart
			}
			gmax = max(gmax, r.ReplayStart)
			first = false
		}
		if first {
			continue
		}
		if i > 0 && prev != "" && gmin < prevMax {
			wrong = append(wrong, fmt.Sprintf("%v (%s) before %s (%s)", g, clockPDT(FidelityOrigin.Add(gmin)), prev, clockPDT(FidelityOrigin.Add(prevMax))))
		}
		prevMax, prev = gmax, fmt.Sprint(g)
	}
	why := ""
	if len(known) > 0 {
		why = fmt.Sprintf("; absent as known misses: %v", known)
	}
	switch {
	case len(missing)+len(wrong) == 0:
		return true, "held" + why
	case len(wrong) == 0:
		return false, "missing: " + fmt.Sprint(missing) + why
	}
	return false, fmt.Sprintf("missing: %v; out of order: %v%s", missing, wrong, why)
}

func downstreamHypotheses(snap *timeline.Snapshot, fixes []string, cascade bool, res *Result) []Hypothesis {
	var out []Hypothesis
	add := func(id, name, phase string, ok bool, reason string) {
		out = append(out, Hypothesis{ID: id, Name: name, Phase: phase, Passed: ok, Reason: reason})
	}
	restart, restarted := snap.Action("restart-lambda-pollers")
	poller := firstWindow(snap.Phase(CompLambdaPoller))
	back, _ := dynamoDBBack(snap)
	switch {
	case cascade && !slices.Contains(fixes, harness.GuardLambdaLeaseExpiry):
		// wedged: impacted, still impacted 30 min after DynamoDB is back,
		// and recovered only at or after the operators' restart
		ok := poller.Impacted() && restarted && !back.IsZero() &&
			(!poller.Recovered || (!poller.ImpactEnd.Before(restart.Start) && poller.ImpactEnd.After(back.Add(lambdaStuckSustain))))
		add(HLambdaWedged, "as-was, Lambda's SQS poller stays wedged after DynamoDB recovers, until restart-lambda-pollers", PhaseLambdaPoller, ok,
			fmt.Sprintf("%s; DynamoDB back %s; restart-lambda-pollers %s", poller.String(), at0(back), at0(restart.Start)))
	case cascade:
		ok := !restarted && poller.Recovered
		add(HLambdaSelfRecovers, "with lambda-lease-expiry, Lambda's SQS poller recovers by itself: no restart-lambda-pollers", PhaseLambdaPoller, ok,
			fmt.Sprintf("%s; restart-lambda-pollers taken %v", poller.String(), restarted))
	}
	if cascade && len(fixes) == 0 {
		ok, why := DownstreamOrder(res.Fidelity, snap)
		add(HDownstreamOrder, "every downstream phase is present, in the references' order", "order", ok, why)
	}
	ok, why := CapacityInNLB(snap, cascade && len(fixes) == 0)
	name := "STS's and Lambda's fleets refuse the customer's steady load only inside the NLB impact"
	if cascade && len(fixes) == 0 {
		name = "as-was, STS's and Lambda's fleets refuse the customer's steady load (sts-nlb, lambda-throttled), only inside the NLB impact"
	}
	add(HCapacityInNLB, name, PhaseNLBImpact, ok, why)
	if allAnnounced(fixes) {
		var hit []string
		for _, c := range DownstreamComponents() {
			if snap.Phase(c.Name).Impacted() {
				hit = append(hit, c.Name)
			}
		}
		add(HNoDownstream, "no downstream service (Lambda, its SQS poller, STS, ECS) is impacted", PhaseFullRecovery, len(hit) == 0, fmt.Sprintf("impacted: %v", hit))
	}
	return out
}

// ecsScaleProbe is the ecs-scale probe over w: the replay's service scales
// out to two tasks and back to one, a step every ECSScaleEvery once the
// previous step was reached (each scale-out is a Fargate task launch: an EC2
// instance, its connectivity, and the setup work it owes Network Manager).
// Every sample checks the running count against the last step. Until the
// service first ran its task the samples pass as "starting" (the set-up in
// the steady state). Value is the running count.
func ecsScaleProbe(w world) probes.Probe {
	clock := w.Clock()
	want, ran := 1, false
	var stepped time.Time
	return probes.Func{ProbeName: ProbeECSScale, Fn: func(ctx context.Context) timeline.Sample {
		n, err := w.ecsRunning(ctx)
		if err != nil {
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		if n < want {
			if !ran {
				return timeline.Sample{OK: true, Value: float64(n), Detail: "starting: the service has not run its first task yet"}
			}
			return timeline.Sample{Code: "ecs-below-desired", Value: float64(n), Detail: fmt.Sprintf("running %d of %d", n, want)}
		}
		ran = true
		if now := clock.Now(); stepped.IsZero() || now.Sub(stepped) >= ECSScaleEvery {
			stepped, want = now, 3-want
			if err := w.ecsScale(ctx, want); err != nil {
				return timeline.Sample{OK: true, Value: float64(n), Detail: "scale: " + err.Error()}
			}
		}
		return timeline.Sample{OK: true, Value: float64(n), Detail: fmt.Sprintf("running %d, desired %d", n, want)}
	}}
}

// ECSScaleEvery is how often the ecs-scale probe steps its service: a task
// launch every 30 min. Each launch owes Network Manager its setup work like
// the customer's; a launch every 10 min (a step per 5-min sample) delayed
// the customer's instances' propagation enough to move the NLB impact to
// 00:02 in one seed (2, with lambda-lease-expiry).
const ECSScaleEvery = 15 * time.Minute

func (w *simWorld) ecsRunning(context.Context) (int, error) {
	n, code := w.st.ECSService(pollerResource)
	if code != "" && code != "ecs-below-desired" {
		return 0, errors.New(code)
	}
	return n, nil
}

func (w *simWorld) ecsScale(_ context.Context, desired int) error {
	if c := w.st.ECSScale(pollerResource, desired); c != "" {
		return errors.New(c)
	}
	return nil
}

func (w *realWorld) ecsRunning(ctx context.Context) (int, error) {
	c, err := awsclient.ECS(w.stack.Endpoints().ECSAPI, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
	if err != nil {
		return 0, err
	}
	if !w.poller.ecsCreated {
		if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(pollerResource)}); err != nil {
			return 0, err
		}
		if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(pollerResource), ServiceName: aws.String(pollerResource),
			TaskDefinition: aws.String(pollerResource + ":1"), DesiredCount: aws.Int32(1)}); err != nil {
			return 0, err
		}
		w.poller.ecsCreated = true
	}
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(pollerResource), Services: []string{pollerResource}})
	if err != nil {
		return 0, err
	}
	if len(out.Services) != 1 {
		return 0, fmt.Errorf("ecs: service %s missing", pollerResource)
	}
	return int(out.Services[0].RunningCount), nil
}

func (w *realWorld) ecsScale(ctx context.Context, desired int) error {
	c, err := awsclient.ECS(w.stack.Endpoints().ECSAPI, awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout))
	if err != nil {
		return err
	}
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(pollerResource), Service: aws.String(pollerResource),
		DesiredCount: aws.Int32(int32(desired))})
	return err
}

// CapacityInNLB reports whether every window in which STS's or Lambda's
// fleet refused the customer's load lies inside the NLB impact, from its
// first window's start to its last window's end (the fleets follow the
// NLB's healthy share, nothing else; the NLB's own probe fails below half
// healthy, the fleets below 0.58 and 2/3, so a fleet may stay short across
// a gap between two NLB windows: seed 1 with nlb-velocity, 06:13-06:35);
// with required, both fleets must have refused it at least once.
func CapacityInNLB(snap *timeline.Snapshot, required bool) (bool, string) {
	nlb := snap.Phase(CompNLB)
	var span []timeline.Window
	if n := len(nlb.Windows); n > 0 {
		span = []timeline.Window{{Start: nlb.Windows[0].Start, End: nlb.Windows[n-1].End}}
	}
	ok := true
	var lines []string
	for _, c := range []string{CompSTSCapacity, CompLambdaCapacity} {
		p := snap.Phase(c)
		if !p.Impacted() {
			if required {
				ok = false
				lines = append(lines, "-> "+c+" never refused the load")
			} else {
				lines = append(lines, c+" not impacted")
			}
			continue
		}
		for _, w := range p.Windows {
			if !windowInside(w, span) {
				ok = false
				lines = append(lines, fmt.Sprintf("-> %s %s outside the NLB impact", c, windowString(w)))
			} else {
				lines = append(lines, fmt.Sprintf("%s %s", c, windowString(w)))
			}
		}
	}
	var nw []string
	for _, w := range nlb.Windows {
		nw = append(nw, windowString(w))
	}
	lines = append(lines, fmt.Sprintf("nlb impact windows %v", nw))
	return ok, strings.Join(lines, "; ")
}

// windowInside reports whether w lies inside one of outer.
func windowInside(w timeline.Window, outer []timeline.Window) bool {
	for _, o := range outer {
		if w.Start.Before(o.Start) {
			continue
		}
		if o.Open() || (!w.Open() && !w.End.After(o.End)) {
			return true
		}
	}
	return false
}

func windowString(w timeline.Window) string {
	if w.Open() {
		return clockPDT(w.Start) + "-open"
	}
	return clockPDT(w.Start) + "-" + clockPDT(w.End)
}
