package nlb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
)

type fixture struct {
	clock  *clockwork.FakeClock
	nm     *netmgr.Server
	nmc    *netmgr.Client
	lb     *Server
	probe  *Probe
	r53    *fakeRoute53
	cancel context.CancelFunc
}

// fakeRoute53 answers ChangeResourceRecordSets the way Route53 does and
// keeps every batch's values.
type fakeRoute53 struct {
	mu      sync.Mutex
	batches [][]string
}

func (f *fakeRoute53) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var vals []string
	for _, part := range strings.Split(string(body), "<Value>")[1:] {
		vals = append(vals, strings.SplitN(part, "<", 2)[0])
	}
	f.mu.Lock()
	f.batches = append(f.batches, vals)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C1</Id><Status>INSYNC</Status><SubmittedAt>2025-10-20T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`)
}

func (f *fakeRoute53) last() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.batches) == 0 {
		return nil
	}
	return f.batches[len(f.batches)-1]
}

func newFixture(t *testing.T, mode kit.Mode) *fixture {
	t.Helper()
	f := &fixture{clock: clockwork.NewFakeClockAt(kit.IncidentStart), r53: &fakeRoute53{}}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	t.Cleanup(cancel)
	r53 := httptest.NewServer(f.r53)
	t.Cleanup(r53.Close)
	var err error
	if f.nm, err = netmgr.New(netmgr.Config{CoreConfig: netmgr.CoreConfig{Mode: mode, RatePerMinute: 60}}, kit.NewEnv("netmgr", f.clock, nil, 1)); err != nil {
		t.Fatal(err)
	}
	if err := f.nm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.nm.Close() })
	f.nmc = netmgr.NewClient(f.nm.URL(), f.clock, nil)
	env := kit.NewEnv("nlb", f.clock, nil, 2)
	// a fixed fixture also gates entry on propagation (a separate option)
	if f.lb, err = New(Config{CoreConfig: CoreConfig{Mode: mode, PropagationGate: mode.IsFixed(), CheckTimeout: 10 * time.Minute},
		NetMgrURL: f.nm.URL(), Route53API: r53.URL, HostedZoneID: "Z1"}, env); err != nil {
		t.Fatal(err)
	}
	if err := f.lb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.lb.Close() })
	admin := httptest.NewServer(kit.NewAdminMuxFor(env, nil, f.lb))
	t.Cleanup(admin.Close)
	f.probe = &Probe{AdminURL: admin.URL, ListenerURL: f.lb.URL()}
	bctx, bcancel := context.WithTimeout(ctx, 5*time.Second)
	defer bcancel()
	if err := f.clock.BlockUntilContext(bctx, 2); err != nil { // both tickers
		t.Fatal(err)
	}
	return f
}

// until advances the incident clock a tick at a time until cond's
// assertions hold (5 s of wall time at most). Each poll checks cond first and
// advances the clock only when it failed, so the loops and check workers get
// the polling interval to run before the next check.
func (f *fixture) until(t *testing.T, what string, cond func(g gomega.Gomega)) {
	t.Helper()
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		held := false
		defer func() { // a failed assertion in cond panics out of it
			if !held {
				f.clock.Advance(15 * time.Second)
			}
		}()
		cond(g)
		held = true
	}).WithTimeout(5*time.Second).WithPolling(time.Millisecond).Should(gomega.Succeed(), "timed out waiting for %s", what)
}

func TestServerAsWasServesUnpropagatedTargetsThenRecovers(t *testing.T) {
	f := newFixture(t, kit.AsWas)
	ctx := context.Background()
	if _, err := f.nmc.PostWork(ctx, "droplet-relet", 1200); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		if _, err := f.nmc.RegisterInstance(ctx, id, "use1-az1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.probe.RegisterTargets(ctx, Target{ID: "i-1", AZ: "use1-az1"}, Target{ID: "i-2", AZ: "use1-az2"}, Target{ID: "i-3", AZ: "use1-az3"}); err != nil {
		t.Fatal(err)
	}
	st, err := f.probe.State(ctx, true)
	if err != nil || st.InService != 3 {
		t.Fatalf("as-was: %d in service (%v), want 3 at registration", st.InService, err)
	}
	var pe *ProbeError
	if err := f.probe.Request(ctx); !errors.As(err, &pe) || pe.Status != http.StatusBadGateway {
		t.Fatalf("request through the NLB before propagation: %v, want 502", err)
	}
	f.until(t, "propagation and healthy targets", func(g gomega.Gomega) {
		st, err := f.probe.State(ctx, false)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(st).To(gomega.And(gomega.HaveField("HealthyCapacity", 3), gomega.HaveField("AZsInDNS", gomega.HaveLen(3))))
	})
	f.until(t, "a request served", func(g gomega.Gomega) { g.Expect(f.probe.Request(ctx)).To(gomega.Succeed()) })
	if f.r53.last() == nil {
		t.Fatal("no record published to Route53")
	}
}

func TestServerFixedKeepsTargetsOutUntilPropagated(t *testing.T) {
	f := newFixture(t, kit.Fixed)
	ctx := context.Background()
	_, _ = f.nmc.PostWork(ctx, "droplet-relet", 300)
	_, _ = f.nmc.RegisterInstance(ctx, "i-1", "use1-az1")
	if err := f.probe.RegisterTargets(ctx, Target{ID: "i-1", AZ: "use1-az1"}); err != nil {
		t.Fatal(err)
	}
	var pe *ProbeError
	if err := f.probe.Request(ctx); !errors.As(err, &pe) || pe.Status != http.StatusServiceUnavailable {
		t.Fatalf("request with no target in service: %v, want 503", err)
	}
	f.until(t, "entry after propagation", func(g gomega.Gomega) {
		st, _ := f.probe.State(ctx, true)
		g.Expect(st).To(gomega.HaveField("InService", 1))
	})
	inst, err := f.nmc.Instance(ctx, "i-1")
	st, _ := f.probe.State(ctx, true)
	if err != nil || !inst.Propagated || st.Targets[0].InServiceAt.Before(*inst.PropagatedAt) {
		t.Fatalf("entered at %v, propagated %+v: want entry after propagation", st.Targets[0].InServiceAt, inst)
	}
}

func TestServerFailoverPublishesAndOperatorsDisable(t *testing.T) {
	f := newFixture(t, kit.AsWas)
	ctx := context.Background()
	// targets Network Manager never heard of: every check fails
	if err := f.probe.RegisterTargets(ctx, Target{ID: "i-a", AZ: "use1-az1"}, Target{ID: "i-b", AZ: "use1-az2"}, Target{ID: "i-c", AZ: "use1-az3"}); err != nil {
		t.Fatal(err)
	}
	f.until(t, "AZ failover", func(g gomega.Gomega) {
		st, _ := f.probe.State(ctx, false)
		g.Expect(st).To(gomega.HaveField("AZsInDNS", gomega.HaveLen(1)))
	})
	f.until(t, "the record to shrink", func(g gomega.Gomega) { g.Expect(f.r53.last()).To(gomega.HaveLen(1)) })
	if err := f.probe.DisableFailover(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := f.probe.State(ctx, false)
	if st.FailoverEnabled || len(st.AZsInDNS) != 3 {
		t.Fatalf("after disable: %+v", st)
	}
	f.until(t, "the record to grow back", func(g gomega.Gomega) { g.Expect(f.r53.last()).To(gomega.HaveLen(3)) })
	removals := st.Removals
	for range 40 {
		f.clock.Advance(time.Minute)
	}
	if st, _ := f.probe.State(ctx, false); st.Removals != removals || len(st.AZsInDNS) != 3 {
		t.Fatalf("removals went on with failover disabled: %+v", st)
	}
}

func TestServerAdminBadInput(t *testing.T) {
	f := newFixture(t, kit.AsWas)
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/admin/targets", "{", 400},
		{"POST", "/admin/targets", `{"targets":[]}`, 400},
		{"POST", "/admin/targets", `{"targets":[{"id":"i-1","az":"mars"}]}`, 400},
		{"POST", "/admin/targets", `{"targets":[{"id":"","az":"use1-az1"}]}`, 400},
		{"DELETE", "/admin/targets/i-none", "", 404},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, f.probe.AdminURL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || e.Type == "" || e.Error == "" {
			t.Errorf("%s %s %q: %d %+v, want %d with an error shape", tc.method, tc.path, tc.body, resp.StatusCode, e, tc.status)
		}
	}
}

func TestConfigRejectsNodeAddressOfUnknownAZ(t *testing.T) {
	_, err := New(Config{NetMgrURL: "http://x", NodeAddrs: map[string]string{"mars": "1.2.3.4"}}, kit.NewEnv("nlb", clockwork.NewFakeClock(), nil, 1))
	if !errors.Is(err, ErrUnknownAZ) {
		t.Fatalf("err %v, want ErrUnknownAZ", err)
	}
	if _, err := New(Config{}, kit.NewEnv("nlb", clockwork.NewFakeClock(), nil, 1)); err == nil {
		t.Fatal("config without netmgr url accepted")
	}
}

func FuzzDecodeRegister(f *testing.F) {
	for _, s := range []string{`{"targets":[{"id":"i-1","az":"use1-az1"}]}`, `{"targets":null}`, `{`, `[]`, `{"targets":[{}]}`} {
		f.Add(s)
	}
	azs := []string{"use1-az1", "use1-az2", "use1-az3"}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeRegister(strings.NewReader(body), azs)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnknownAZ) {
				t.Fatalf("error %v is neither invalid nor unknown az", err)
			}
			return
		}
		c, _ := NewCore(CoreConfig{}, clockwork.NewFakeClock(), nil)
		for _, tg := range req.Targets {
			if err := c.RegisterTarget(tg.ID, tg.AZ); err != nil {
				t.Fatalf("decoded target %+v refused by the core: %v", tg, err)
			}
		}
	})
}
