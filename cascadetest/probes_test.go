package cascadetest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPProbe(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	var delay atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(delay.Load()))
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	ctx := context.Background()

	p := HTTPProbe("svc-get", srv.URL, InComponent("svc"), MaxLatency(time.Second))
	if p.Name() != "svc-get" || p.Component() != "svc" {
		t.Fatalf("name %q component %q", p.Name(), p.Component())
	}
	if s := p.Sample(ctx); !s.OK || s.Value <= 0 {
		t.Fatalf("a 200 failed: %+v", s)
	}
	status.Store(503)
	if s := p.Sample(ctx); s.OK || s.Code != "http-503" {
		t.Fatalf("a 503 passed or its code is wrong: %+v", s)
	}
	if s := HTTPProbe("x", srv.URL, ExpectStatus(503)).Sample(ctx); !s.OK {
		t.Fatalf("an expected 503 failed: %+v", s)
	}
	status.Store(200)
	delay.Store(int64(50 * time.Millisecond))
	if s := HTTPProbe("x", srv.URL, MaxLatency(time.Millisecond)).Sample(ctx); s.OK || s.Code != "slow" {
		t.Fatalf("a 50 ms answer passed a 1 ms bound: %+v", s)
	}
	if s := HTTPProbe("x", srv.URL, ProbeTimeout(5*time.Millisecond)).Sample(ctx); s.OK || s.Code != "timeout" {
		t.Fatalf("a 50 ms answer passed a 5 ms timeout: %+v", s)
	}
	srv.Close()
	if s := p.Sample(ctx); s.OK || s.Code != "connection-refused" {
		t.Fatalf("a closed server passed or its code is wrong: %+v", s)
	}
}

func TestCommandProbe(t *testing.T) {
	ctx := context.Background()
	if s := CommandProbe("true", []string{"sh", "-c", "echo fine"}).Sample(ctx); !s.OK || s.Detail != "fine" {
		t.Fatalf("exit 0 failed: %+v", s)
	}
	if s := CommandProbe("false", []string{"sh", "-c", "echo one; echo broken >&2; exit 3"}).Sample(ctx); s.OK || s.Code != "exit-3" || s.Detail != "broken" {
		t.Fatalf("exit 3: %+v", s)
	}
	if s := CommandProbe("slow", []string{"sleep", "5"}, ProbeTimeout(50*time.Millisecond)).Sample(ctx); s.OK || s.Code != "timeout" {
		t.Fatalf("a command past its timeout: %+v", s)
	}
	if s := CommandProbe("missing", []string{"/nonexistent/cmd"}).Sample(ctx); s.OK || s.Code != "error" {
		t.Fatalf("a missing command: %+v", s)
	}
	if s := CommandProbe("empty", nil).Sample(ctx); s.OK {
		t.Fatalf("an empty command passed: %+v", s)
	}
}

const exposition = `# HELP orders_requests_total Requests.
# TYPE orders_requests_total counter
orders_requests_total{route="get",outcome="ok"} 10
orders_requests_total{route="get",outcome="stale"} 4
orders_requests_total{route="post",outcome="ok"} 1
# TYPE queue_depth gauge
queue_depth 7
# TYPE latency histogram
latency_bucket{le="1"} 1
latency_bucket{le="+Inf"} 1
latency_sum 0.5
latency_count 1
`

func TestParseMetric(t *testing.T) {
	cases := []struct {
		metric string
		labels map[string]string
		want   float64
		code   string
	}{
		{"orders_requests_total", nil, 15, ""},
		{"orders_requests_total", map[string]string{"outcome": "stale"}, 4, ""},
		{"orders_requests_total", map[string]string{"route": "get", "outcome": "ok"}, 10, ""},
		{"queue_depth", nil, 7, ""},
		{"orders_requests_total", map[string]string{"outcome": "nope"}, 0, "metric-missing"},
		{"absent", nil, 0, "metric-missing"},
		{"latency", nil, 0, "bad-exposition"},
	}
	for _, c := range cases {
		v, err := parseMetric(strings.NewReader(exposition), c.metric, c.labels)
		var me metricError
		switch {
		case c.code == "" && (err != nil || v != c.want):
			t.Errorf("%s %v: %v, %v; want %v", c.metric, c.labels, v, err, c.want)
		case c.code != "" && (!errors.As(err, &me) || me.code != c.code):
			t.Errorf("%s %v: error %v, want code %s", c.metric, c.labels, err, c.code)
		}
	}
	if _, err := parseMetric(strings.NewReader("not { a metric"), "x", nil); !errors.As(err, new(metricError)) {
		t.Errorf("garbage parsed: %v", err)
	}
}

func TestMetricProbeDelta(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("# TYPE errors_total counter\nerrors_total " + itoa(n.Load()) + "\n"))
	}))
	defer srv.Close()
	ctx := context.Background()
	p := MetricProbe("errors", srv.URL, "errors_total", func(v float64) bool { return v < 3 }, Delta())
	want := []struct {
		add  int64
		v    float64
		ok   bool
		code string
	}{{5, 0, true, ""}, {2, 2, true, ""}, {4, 4, false, "out-of-range"}, {0, 0, true, ""}}
	for i, w := range want {
		n.Add(w.add)
		s := p.Sample(ctx)
		if s.Value != w.v || s.OK != w.ok || s.Code != w.code {
			t.Errorf("sample %d: %+v, want value %v ok %v code %q", i, s, w.v, w.ok, w.code)
		}
	}
	if s := MetricProbe("x", srv.URL+"/missing", "nope", nil).Sample(ctx); s.OK || s.Code != "metric-missing" {
		t.Errorf("a missing metric: %+v", s)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// FuzzParseMetric: any body is parsed or refused with a metricError, never a
// panic.
func FuzzParseMetric(f *testing.F) {
	f.Add(exposition, "orders_requests_total")
	f.Add("x 1\n", "x")
	f.Add("# TYPE x summary\nx{quantile=\"0.5\"} 1\n", "x")
	f.Fuzz(func(t *testing.T, body, metric string) {
		_, err := parseMetric(strings.NewReader(body), metric, map[string]string{"a": "b"})
		if err != nil && !errors.As(err, new(metricError)) {
			t.Fatalf("error of another type: %T %v", err, err)
		}
	})
}
