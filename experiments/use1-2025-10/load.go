package use1

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	lambdamock "github.com/cascade-lab/cascade/mocks/lambda"
	stsmock "github.com/cascade-lab/cascade/mocks/sts"
)

// The customer's steady load on STS and Lambda (issue 14). STS and Lambda
// read the NLB's healthy share and scale their fleets by it; a call once a
// minute sees that only when the share reaches zero. A steady load at a
// stated share of each fleet's capacity (Calibration.STSLoadPerMinute,
// LambdaLoadPerMinute: inputs) meets the reduced capacity as soon as the
// fleet has lost more than the rest:
//
//	load ticker (every 1/rate) --> AssumeRole / Invoke --> fleet admission <-- NLB healthy share
//	                                      |
//	                          counts: calls, refused for capacity
//	                                      |
//	               sts-load / lambda-load probe (every ProbePeriod): refused share
//
// Nothing in it knows about the incident: the phases sts-nlb and
// lambda-throttled are the windows where the refused share is high.
const (
	// CompSTSCapacity is STS's fleet as the customer's load meets it.
	CompSTSCapacity = "sts-capacity"
	// CompLambdaCapacity is Lambda's invocation fleet as the load meets it.
	CompLambdaCapacity = "lambda-capacity"
	// ProbeSTSLoad fails when at least LoadFailShare of the load's
	// AssumeRole calls since the last sample were refused for capacity
	// (Throttling, ServiceUnavailable); Value is that share.
	ProbeSTSLoad = "sts-load"
	// ProbeLambdaLoad is the same for the load's Invoke calls
	// (TooManyRequestsException).
	ProbeLambdaLoad = "lambda-load"
	// PhaseLambdaThrottled is Lambda's under-scaling: the references give
	// it no times ("later, internal systems under-scaled because of NLB
	// failures"), so it has no fidelity row; the ordering hypothesis places
	// it inside the NLB impact.
	PhaseLambdaThrottled = "lambda-throttled"
)

// LoadFailShare is the refused share at which a load probe's sample fails:
// a measurement threshold. A quarter is the smallest real overload the
// STS fleet's granularity produces at the default load (4 calls a minute
// against whole hosts of one call a minute: one host short refuses one call
// in four); fewer refusals are a call pushed into the next minute's window
// by a loaded machine's delay.
const LoadFailShare = 0.25

// capacityCodes are the codes with which a fleet refuses a call for want
// of healthy capacity, as the SDK reports them.
var capacityCodes = map[string]bool{
	stsmock.Code(stsmock.ErrThrottled):            true, // Throttling
	stsmock.Code(stsmock.ErrNoCapacity):           true, // ServiceUnavailable
	lambdamock.ErrorType(lambdamock.ErrThrottled): true, // TooManyRequestsException
}

// loadStream is one steady stream of calls: call makes one (its probe
// code, "" when it succeeded) every `every`; the counts since the probe's
// last sample. The real backends call fire from a goroutine, the sim from
// its one thread.
type loadStream struct {
	probe string
	every time.Duration
	call  func(ctx context.Context) string

	mu      sync.Mutex
	calls   int
	refused map[string]int // capacity code -> calls
	other   int            // calls that failed otherwise (DynamoDB's outage, timeouts)
	total   int
}

func newLoadStream(probe string, perMinute float64, call func(context.Context) string) *loadStream {
	l := &loadStream{probe: probe, call: call, refused: map[string]int{}}
	if perMinute > 0 {
		l.every = time.Duration(float64(time.Minute) / perMinute)
	}
	return l
}

// on reports whether the stream has a rate.
func (l *loadStream) on() bool { return l != nil && l.every > 0 }

// fire makes one call and counts its outcome.
func (l *loadStream) fire(ctx context.Context) {
	code := l.call(ctx)
	l.count(code)
}

func (l *loadStream) count(code string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.total++
	switch {
	case capacityCodes[code]:
		l.refused[code]++
	case code != "":
		l.other++
	}
}

// run fires every l.every of incident time until ctx ends (real backends).
func (l *loadStream) run(ctx context.Context, w world) {
	if !l.on() {
		return
	}
	everyTick(ctx, w.Clock(), l.every, func() { l.fire(ctx) })
}

// sample takes the counts since the last sample: OK unless at least
// LoadFailShare of the calls were refused for capacity.
func (l *loadStream) sample(context.Context) timeline.Sample {
	l.mu.Lock()
	calls, refused, other := l.calls, l.refused, l.other
	l.calls, l.refused, l.other = 0, map[string]int{}, 0
	l.mu.Unlock()
	if calls == 0 {
		return timeline.Sample{OK: true, Detail: "no calls since the last sample"}
	}
	n := 0
	var codes []string
	for c, k := range refused {
		n += k
		codes = append(codes, fmt.Sprintf("%s %d", c, k))
	}
	sort.Strings(codes)
	share := float64(n) / float64(calls)
	s := timeline.Sample{OK: share < LoadFailShare, Value: share,
		Detail: fmt.Sprintf("%d of %d calls refused for capacity [%s], %d failed otherwise", n, calls, strings.Join(codes, ", "), other)}
	if !s.OK {
		s.Code = "capacity-refused"
	}
	return s
}

// loadProbe is the stream's probe.
func (l *loadStream) loadProbe() probes.Probe { return probes.Func{ProbeName: l.probe, Fn: l.sample} }

// customerLoad is the customer's steady STS and Lambda load over w.
type customerLoad struct {
	sts, lambda *loadStream
}

func newCustomerLoad(w world, cal Calibration) *customerLoad {
	return &customerLoad{
		sts:    newLoadStream(ProbeSTSLoad, cal.STSLoadPerMinute, w.stsLoadCall),
		lambda: newLoadStream(ProbeLambdaLoad, cal.LambdaLoadPerMinute, w.lambdaLoadCall),
	}
}

// probes are the load's probes (none for a stream without a rate).
func (c *customerLoad) probes() []probes.Probe {
	var out []probes.Probe
	for _, l := range []*loadStream{c.sts, c.lambda} {
		if l.on() {
			out = append(out, l.loadProbe())
		}
	}
	return out
}

// LoadStats are the load's calls over the whole replay.
type LoadStats struct {
	STSCalls    int `json:"sts_calls"`
	LambdaCalls int `json:"lambda_calls"`
}

func (c *customerLoad) stats() LoadStats {
	if c == nil {
		return LoadStats{}
	}
	get := func(l *loadStream) int { l.mu.Lock(); defer l.mu.Unlock(); return l.total }
	return LoadStats{STSCalls: get(c.sts), LambdaCalls: get(c.lambda)}
}

// realLoad holds the load's SDK clients on a real backend: one each, kept
// (its connections are kept alive, as a customer's are).
type realLoad struct {
	once   sync.Once
	sts    *sts.Client
	lambda *lambda.Client
	err    error
}

func (w *realWorld) loadClients() (*realLoad, error) {
	l := w.load
	l.once.Do(func() {
		ep := w.stack.Endpoints()
		o := []awsclient.Option{awsclient.WithMaxAttempts(1), awsclient.WithTimeout(probes.DefaultTimeout)}
		if l.sts, l.err = awsclient.STS(ep.STSAPI, o...); l.err == nil {
			l.lambda, l.err = awsclient.Lambda(ep.LambdaAPI, o...)
		}
	})
	return l, l.err
}

// loadCall makes one call of the load with the kept clients, within the
// probes' timeout; its probe code.
func (w *realWorld) loadCall(ctx context.Context, call func(ctx context.Context, l *realLoad) error) string {
	l, err := w.loadClients()
	if err != nil {
		return probes.CodeError
	}
	ctx, cancel := context.WithTimeout(ctx, probes.DefaultTimeout)
	defer cancel()
	return probes.Classify(call(ctx, l))
}

func (w *realWorld) stsLoadCall(ctx context.Context) string {
	return w.loadCall(ctx, func(ctx context.Context, l *realLoad) error {
		_, err := l.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(probes.ProbeRoleARN), RoleSessionName: aws.String(loadSession)})
		return err
	})
}

func (w *realWorld) lambdaLoadCall(ctx context.Context) string {
	return w.loadCall(ctx, func(ctx context.Context, l *realLoad) error {
		_, err := l.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(pollerResource), Payload: []byte(`{"load":true}`)})
		return err
	})
}

// loadSession is the load's RoleSessionName.
const loadSession = "cascade-load"

// The sim: the same calls on the sim stack's clients.
func (w *simWorld) stsLoadCall(context.Context) string    { return w.st.STSAssumeRole() }
func (w *simWorld) lambdaLoadCall(context.Context) string { return w.st.LambdaInvoke(pollerResource) }
