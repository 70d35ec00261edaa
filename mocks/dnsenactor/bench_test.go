package dnsenactor

import (
	"context"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/route53"
)

// benchPlans is the number of plans of BenchmarkPlan200k: with three
// weighted records each, a generation holds 200,001 records.
var benchPlans = 66_667

// BenchmarkPlan200k: against the real route53 mock (the Route53 REST API
// through aws-sdk-go-v2 over loopback, batches of up to 1000 changes, the
// mock's own limit), the planner writes three generations of 200,001
// weighted A records (66,667 plans: the regional, FIPS, one account and
// 66,664 synthetic endpoints), and after each one the three Enactors apply
// it concurrently to every endpoint (200 endpoints per transaction, CNAMEs
// and claims read 300 at a time); after the third they clean up the first.
// It reports the wall time per iteration, the peak heap of the process
// (planner, Enactors, SDK clients and the mock together) and, once the
// third generation is applied, the mock's DNS answers per second for random
// endpoints of the zone (a CNAME to the plan and its weighted A record),
// from four UDP clients for two seconds.
func BenchmarkPlan200k(b *testing.B) {
	if v, err := strconv.Atoi(os.Getenv("CASCADE_BENCH_PLANS")); err == nil && v > 3 {
		benchPlans = v // smaller runs for profiling
	}
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		b.Run(string(mode), func(b *testing.B) {
			eps, err := dnsplan.Endpoints([]string{"111122223333"}, benchPlans-3)
			if err != nil {
				b.Fatal(err)
			}
			var peak uint64
			var qps float64
			for range b.N {
				runtime.GC()
				stop := heapPeak()
				q := plan200k(b, mode, eps)
				if p := stop(); p > peak {
					peak = p
				}
				qps = q
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(qps, "dns-qps")
		})
	}
}

func plan200k(b *testing.B, mode kit.Mode, eps []dnsplan.Endpoint) float64 {
	ctx := context.Background()
	clock := clockwork.NewRealClock()
	srv, err := route53.New(route53.Config{Mode: mode, Zones: dnsplan.Zones}, kit.NewEnv("route53", clock, nil, 1))
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	newStore := func() *dnsplan.Route53Store {
		c, err := awsclient.Route53(srv.APIURL(), awsclient.WithTimeout(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		return dnsplan.NewRoute53Store(c)
	}
	st := newStore()
	zones, err := st.Zones(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	zid, _ := zones.ID(dnsplan.RegionalZone)
	p, err := dnsplanner.NewCore(dnsplanner.CoreConfig{
		LBs:       []dnsplanner.LBConfig{{Name: "ddb-lb-a", IP: "127.0.1.1"}, {Name: "ddb-lb-b", IP: "127.0.1.2"}, {Name: "ddb-lb-c", IP: "127.0.1.3"}},
		Endpoints: eps, MaxChangesPerBatch: 1000,
	}, clock, nil)
	if err != nil {
		b.Fatal(err)
	}
	var cores []*Core
	var ios []IO
	for range 3 {
		c, err := NewCore(CoreConfig{Mode: mode, Endpoints: eps, Zones: zones, KeepGenerations: 1, EndpointsPerBatch: 200, ReadAhead: 300, RetryBackoff: 10 * time.Millisecond}, clock, nil)
		if err != nil {
			b.Fatal(err)
		}
		cores = append(cores, c)
		ios = append(ios, serverIO{Store: newStore(), clock: clock}) // one SDK client each
	}
	var writeTime, applyTime time.Duration
	for gen := 1; gen <= 3; gen++ {
		t0 := time.Now()
		plan := p.Build("bench")
		if plan.Records < 3*benchPlans {
			b.Fatalf("generation of %d records", plan.Records)
		}
		if err := plan.Write(ctx, st, zid); err != nil {
			b.Fatal(err)
		}
		p.Written(plan)
		writeTime += time.Since(t0)
		// Staggered: each Enactor's run starts when the previous one's
		// ended, as periods out of phase make them; B and C then find every
		// endpoint already on the generation (read-ahead listings, no
		// transaction) and the clean-up taken by A.
		t1 := time.Now()
		for i, c := range cores {
			sum, err := c.RunAll(ctx, ios[i])
			if err != nil || len(sum.Failed) > 0 {
				b.Errorf("generation %d enactor %d: %v, %d endpoints failed", gen, i, err, len(sum.Failed))
			}
		}
		applyTime += time.Since(t1)
	}
	for _, ep := range []dnsplan.Endpoint{dnsplan.Regional, eps[len(eps)-1]} {
		s, err := dnsplan.ReadEndpoint(ctx, st, zones, ep)
		if err != nil || s.Generation != 3 || s.PlanRecords != 3 {
			b.Fatalf("%s: %+v %v", ep.ID, s, err)
		}
	}
	if g, err := dnsplan.ListGenerations(ctx, st, zid, dnsplan.RegionalZone); err != nil || len(g) != 2 || g[0].Gen != 2 {
		b.Fatalf("generations after clean-up: %+v %v", g, err)
	}
	b.ReportMetric(writeTime.Seconds()/3, "write-s/gen")
	b.ReportMetric(applyTime.Seconds()/3, "apply-s/gen")
	return dnsQPS(b, srv.DNSAddr(), eps, 2*time.Second)
}

// dnsQPS queries random endpoints of eps from four UDP clients for d and
// returns the answers per second; every answer must hold an address.
func dnsQPS(b *testing.B, addr string, eps []dnsplan.Endpoint, d time.Duration) float64 {
	var n, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			conn, err := c.Dial(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			m := new(dns.Msg)
			for time.Now().Before(deadline) {
				m.SetQuestion(eps[rng.Intn(len(eps))].Name, dns.TypeA)
				r, _, err := c.ExchangeWithConn(m, conn)
				if err != nil || len(r.Answer) != 2 {
					failed.Add(1)
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Errorf("%d DNS queries failed or had no address", f)
	}
	return float64(n.Load()) / d.Seconds()
}

// heapPeak samples HeapInuse every 50 ms until the returned function is
// called, and returns the largest value seen.
func heapPeak() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		sample()
		return peak.Load()
	}
}
