package netmgr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
)

func startServer(t *testing.T, cfg Config) (*Server, *Client, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	env := kit.NewEnv("netmgr", clock, nil, 1)
	s, err := New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// the worker loop has created its ticker once the clock has a waiter
	bctx, bcancel := context.WithTimeout(ctx, 5*time.Second)
	defer bcancel()
	if err := clock.BlockUntilContext(bctx, 1); err != nil {
		t.Fatal(err)
	}
	return s, NewClient(s.URL(), clock, nil), clock
}

func TestServerDataPlaneAnswersOncePropagated(t *testing.T) {
	_, c, clock := startServer(t, Config{CoreConfig: CoreConfig{RatePerMinute: 60}})
	ctx := context.Background()
	if _, err := c.PostWork(ctx, "droplet-relet", 30); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterInstance(ctx, "i-1", "use1-az1"); err != nil {
		t.Fatal(err)
	}
	ok, err := c.Reachable(ctx, "i-1", "use1-az2")
	if err != nil || ok {
		t.Fatalf("reachable before propagation: %v %v", ok, err)
	}
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		clock.Advance(15 * time.Second)
		st, err := c.Instance(ctx, "i-1")
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(st).To(gomega.HaveField("Propagated", true))
	}).WithTimeout(5*time.Second).WithPolling(2*time.Millisecond).Should(gomega.Succeed(), "timed out waiting for propagation")
	for _, n := range []string{"use1-az1", "use1-az2", "use1-az3"} {
		if ok, err := c.Reachable(ctx, "i-1", n); !ok || err != nil {
			t.Errorf("node %s: %v %v", n, ok, err)
		}
	}
}

func TestServerFixedThrottlesBulkWork(t *testing.T) {
	_, c, _ := startServer(t, Config{CoreConfig: CoreConfig{Mode: kit.Fixed, QueueLimit: 100}})
	n, err := c.PostWork(context.Background(), "droplet-relet", 150)
	if n != 100 || !errors.Is(err, netmgrclient.ErrThrottled) {
		t.Fatalf("admitted %d err %v, want 100 and ThrottlingException", n, err)
	}
}

func TestServerPostWorkRetryDrainsThroughAdmission(t *testing.T) {
	_, c, clock := startServer(t, Config{CoreConfig: CoreConfig{Mode: kit.Fixed, QueueLimit: 50, RatePerMinute: 600}})
	done := make(chan error, 1)
	go func() { done <- c.PostWorkRetry(context.Background(), "droplet-relet", 200, time.Minute) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := c.Queue(context.Background()); st.Admitted < 200 || st.Rejected == 0 {
				t.Fatalf("stats %+v: want 200 admitted after refusals", st)
			}
			return
		case <-time.After(time.Millisecond):
			clock.Advance(15 * time.Second)
		}
	}
}

func TestServerBadInputGetsErrorShape(t *testing.T) {
	s, _, _ := startServer(t, Config{})
	h := s.Handler()
	cases := []struct {
		method, path, body string
		status             int
		typ                string
	}{
		{"POST", "/v1/instances", "{not json", 400, "ValidationException"},
		{"POST", "/v1/instances", `{"instanceId":""}`, 400, "ValidationException"},
		{"POST", "/v1/instances", `{"instanceId":"i-1","bogus":1}`, 400, "ValidationException"},
		{"POST", "/v1/work", `{"kind":"x","count":-3}`, 400, "ValidationException"},
		{"GET", "/v1/instances/i-none", "", 404, "ResourceNotFoundException"},
		{"DELETE", "/v1/instances/i-none", "", 404, "ResourceNotFoundException"},
		{"GET", "/dataplane/i-none/health?node=use1-az1", "", 404, "ResourceNotFoundException"},
		{"GET", "/dataplane/i-none/health?node=mars", "", 400, "ValidationException"},
		{"GET", "/v2/nothing", "", 404, "UnknownOperationException"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != tc.status || e.Type != tc.typ || e.Message == "" {
			t.Errorf("%s %s %q: %d %s, want %d %s", tc.method, tc.path, tc.body, rec.Code, rec.Body.String(), tc.status, tc.typ)
		}
	}
	// the unknown-node message names the valid nodes
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/dataplane/x/health?node=mars", nil))
	if !strings.Contains(rec.Body.String(), "use1-az1") {
		t.Errorf("unknown node error does not name the valid nodes: %s", rec.Body.String())
	}
}

func TestServerCloseIsIdempotent(t *testing.T) {
	s, _, _ := startServer(t, Config{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{`{"instanceId":"i-1","az":"use1-az1"}`, `{"kind":"x","count":3}`, `{`, `null`, `[]`, `{"count":1e999}`, "{}{}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if r, err := DecodeRegister(strings.NewReader(body)); err == nil && r.InstanceID == "" {
			t.Fatalf("accepted a registration without id: %q", body)
		}
		if w, err := DecodeWork(strings.NewReader(body)); err == nil && (w.Count <= 0 || w.Kind == "") {
			t.Fatalf("accepted bad work: %q", body)
		}
		if _, err := DecodeWork(strings.NewReader(body)); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("decode error not ErrInvalid: %v", err)
		}
	})
}

func FuzzHandler(f *testing.F) {
	f.Add("POST", "/v1/instances", `{"instanceId":"i-1"}`)
	f.Add("GET", "/dataplane/i-1/health?node=use1-az1", "")
	f.Add("POST", "/v1/work", `{"kind":"k","count":5}`)
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	s, err := New(Config{CoreConfig: CoreConfig{Mode: kit.Fixed, QueueLimit: 100}}, kit.NewEnv("netmgr", clock, nil, 1))
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, method, path, body string) {
		req, err := http.NewRequest(method, "http://x"+path, bytes.NewReader([]byte(body)))
		if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 400 && rec.Code != 405 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: %d with a non-JSON body %q", method, path, rec.Code, rec.Body.String())
		}
	})
}

// The client's wire types carry every field the server writes: the core's
// InstanceState and Stats survive a trip through their netmgrclient twins.
func TestWireTypesMatchTheCore(t *testing.T) {
	at := kit.IncidentStart
	cases := []struct {
		core, wire any
	}{
		{InstanceState{ID: "i-1", AZ: "use1-az1", Registered: at, Propagated: true, PropagatedAt: &at, Reached: map[string]time.Time{"n": at}}, &netmgrclient.InstanceState{}},
		{Stats{Mode: kit.Fixed, Depth: 1, HeadWait: 2, Instances: 3, Pending: 4, Admitted: 5, Rejected: 6, Processed: 7}, &netmgrclient.Stats{}},
	}
	for _, c := range cases {
		want, _ := json.Marshal(c.core)
		if err := json.Unmarshal(want, c.wire); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(c.wire)
		if !bytes.Equal(got, want) {
			t.Errorf("%T -> %T: %s; want %s", c.core, c.wire, got, want)
		}
	}
}
