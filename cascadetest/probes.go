package cascadetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// Probe measures one of the user's signals once per sample; Replay samples
// it on the incident clock and the report shows it in its component beside
// cascade's own. Build one with HTTPProbe, CommandProbe or MetricProbe.
type Probe struct {
	name      string
	component string
	timeout   time.Duration
	sample    func(ctx context.Context) timeline.Sample
}

// Name is the probe's name (its samples' Probe).
func (p Probe) Name() string { return p.name }

// Component is the timeline component the probe belongs to (InComponent;
// default the probe's name).
func (p Probe) Component() string { return p.component }

// Sample measures once, within the probe's timeout (wall time).
func (p Probe) Sample(ctx context.Context) timeline.Sample {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return p.sample(ctx)
}

var _ probes.Probe = Probe{}

// ProbeOption configures a probe.
type ProbeOption func(*probeOptions)

type probeOptions struct {
	component  string
	timeout    time.Duration
	status     []int
	maxLatency time.Duration
	client     *http.Client
	labels     map[string]string
	delta      bool
}

// InComponent puts the probe in the named timeline component (several
// probes may share one); the default is the probe's own name. Cascade's
// component names (dynamodb, dwfm, ec2, netmgr, connectivity, nlb) are
// refused by Replay.
func InComponent(name string) ProbeOption { return func(o *probeOptions) { o.component = name } }

// ProbeTimeout bounds one sample (wall time, default 2 s): a sample that
// takes longer fails with code "timeout".
func ProbeTimeout(d time.Duration) ProbeOption { return func(o *probeOptions) { o.timeout = d } }

// ExpectStatus lists the HTTP statuses an HTTPProbe counts as healthy
// (default any 2xx).
func ExpectStatus(codes ...int) ProbeOption { return func(o *probeOptions) { o.status = codes } }

// MaxLatency fails an HTTPProbe sample slower than d (wall time: at speed
// 20 a wall second is 20 incident minutes, so d bounds the service's own
// latency, not the incident's).
func MaxLatency(d time.Duration) ProbeOption { return func(o *probeOptions) { o.maxLatency = d } }

// WithProbeHTTPClient replaces an HTTP or metric probe's client (default
// one without proxies and without keep-alive, so each sample measures a
// fresh request).
func WithProbeHTTPClient(c *http.Client) ProbeOption { return func(o *probeOptions) { o.client = c } }

// MetricLabels keeps only the series of a MetricProbe whose labels have
// these values (pairs: name, value).
func MetricLabels(pairs ...string) ProbeOption {
	return func(o *probeOptions) {
		if o.labels == nil {
			o.labels = map[string]string{}
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			o.labels[pairs[i]] = pairs[i+1]
		}
	}
}

// Delta makes a MetricProbe's value the increase since its previous
// sample (a counter's increase per probe period; the first sample's is 0).
func Delta() ProbeOption { return func(o *probeOptions) { o.delta = true } }

func newProbe(name string, opts []ProbeOption) (probeOptions, Probe) {
	o := probeOptions{timeout: probes.DefaultTimeout}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.component == "" {
		o.component = name
	}
	if o.timeout <= 0 {
		o.timeout = probes.DefaultTimeout
	}
	if o.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.DisableKeepAlives = true
		o.client = &http.Client{Transport: tr}
	}
	return o, Probe{name: name, component: o.component, timeout: o.timeout}
}

// HTTPProbe GETs url once per sample: healthy when the status is expected
// (ExpectStatus, default 2xx) and, with MaxLatency, fast enough. Value is
// the latency in milliseconds; a failed sample's Code is "http-<status>",
// "slow", or the network error's ("connection-refused", "timeout").
func HTTPProbe(name, url string, opts ...ProbeOption) Probe {
	o, p := newProbe(name, opts)
	p.sample = func(ctx context.Context) timeline.Sample {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return timeline.Sample{Code: probes.CodeError, Detail: err.Error()}
		}
		start := time.Now()
		resp, err := o.client.Do(req)
		lat := time.Since(start)
		if err != nil {
			return timeline.Sample{Code: probes.Classify(err), Latency: lat, Detail: err.Error()}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		s := timeline.Sample{Latency: lat, Value: float64(lat.Microseconds()) / 1000,
			Detail: fmt.Sprintf("GET %s: %d in %s", url, resp.StatusCode, lat.Round(time.Microsecond))}
		switch {
		case !statusOK(resp.StatusCode, o.status):
			s.Code = fmt.Sprintf("http-%d", resp.StatusCode)
		case o.maxLatency > 0 && lat > o.maxLatency:
			s.Code = "slow"
		default:
			s.OK = true
		}
		return s
	}
	return p
}

func statusOK(code int, want []int) bool {
	if len(want) == 0 {
		return code >= 200 && code < 300
	}
	for _, w := range want {
		if code == w {
			return true
		}
	}
	return false
}

// CommandProbe runs argv once per sample: healthy when it exits 0. A failed
// sample's Code is "exit-<status>" (or "timeout", or "error" when it could
// not start) and its Detail the output's last line.
func CommandProbe(name string, argv []string, opts ...ProbeOption) Probe {
	_, p := newProbe(name, opts)
	p.sample = func(ctx context.Context) timeline.Sample {
		if len(argv) == 0 {
			return timeline.Sample{Code: probes.CodeError, Detail: "command probe " + name + ": no command"}
		}
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = time.Second
		start := time.Now()
		err := cmd.Run()
		lat := time.Since(start)
		s := timeline.Sample{Latency: lat, Value: float64(lat.Microseconds()) / 1000, Detail: lastLine(out.String())}
		var exit *exec.ExitError
		switch {
		case err == nil:
			s.OK = true
		case ctx.Err() != nil:
			s.Code = probes.CodeTimeout
		case errors.As(err, &exit):
			s.Code = fmt.Sprintf("exit-%d", exit.ExitCode())
		default:
			s.Code, s.Detail = probes.CodeError, err.Error()
		}
		return s
	}
	return p
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}

// MetricProbe scrapes url (Prometheus text format, as a client_golang
// /metrics handler serves it) once per sample and sums the metric's series
// (MetricLabels narrows them; Delta takes the increase since the previous
// sample): healthy when ok(value). A failed scrape's Code is the network
// error's, a body that does not parse "bad-exposition", a metric that is
// not there "metric-missing", a value ok refuses "out-of-range".
func MetricProbe(name, url, metric string, ok func(v float64) bool, opts ...ProbeOption) Probe {
	o, p := newProbe(name, opts)
	var mu sync.Mutex
	prev, havePrev := 0.0, false
	p.sample = func(ctx context.Context) timeline.Sample {
		v, err := scrape(ctx, o.client, url, metric, o.labels)
		if err != nil {
			var me metricError
			if errors.As(err, &me) {
				return timeline.Sample{Code: string(me.code), Detail: err.Error()}
			}
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		raw := v
		if o.delta {
			mu.Lock()
			if havePrev {
				v = raw - prev
			} else {
				v = 0
			}
			prev, havePrev = raw, true
			mu.Unlock()
		}
		s := timeline.Sample{Value: v, Detail: fmt.Sprintf("%s = %g", metric, v)}
		if ok == nil || ok(v) {
			s.OK = true
		} else {
			s.Code = "out-of-range"
		}
		return s
	}
	return p
}

type metricError struct {
	code string
	msg  string
}

func (e metricError) Error() string { return e.msg }

// scrape reads one metric's summed value from a Prometheus text endpoint.
func scrape(ctx context.Context, c *http.Client, url, metric string, labels map[string]string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, metricError{fmt.Sprintf("http-%d", resp.StatusCode), fmt.Sprintf("GET %s: status %d", url, resp.StatusCode)}
	}
	return parseMetric(io.LimitReader(resp.Body, 16<<20), metric, labels)
}

// parseMetric sums the series of metric (counter, gauge or untyped) in a
// Prometheus text exposition whose labels match.
func parseMetric(r io.Reader, metric string, labels map[string]string) (float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return 0, metricError{"bad-exposition", "parse metrics: " + err.Error()}
	}
	fam, ok := fams[metric]
	if !ok {
		return 0, metricError{"metric-missing", fmt.Sprintf("metric %s not exposed (%d families)", metric, len(fams))}
	}
	sum, n := 0.0, 0
	for _, m := range fam.GetMetric() {
		if !labelsMatch(m.GetLabel(), labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			sum += m.GetUntyped().GetValue()
		default:
			return 0, metricError{"bad-exposition", fmt.Sprintf("metric %s is a %s: only counters, gauges and untyped are summed", metric, fam.GetType())}
		}
		n++
	}
	if n == 0 {
		return 0, metricError{"metric-missing", fmt.Sprintf("metric %s has no series with labels %v", metric, labels)}
	}
	return sum, nil
}

func labelsMatch[L interface {
	GetName() string
	GetValue() string
}](have []L, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range have {
			if l.GetName() == k && l.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
