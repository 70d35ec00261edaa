package dnsenactor

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// BenchmarkPlan200k: the planner writes a generation of 200,000 records
// (66,667 plans of three weighted records) and the three Enactors apply it
// concurrently, in batches with read-ahead, then a second generation over it
// with clean-up. It runs on dnsplan.MemStore (the route53 mock had not
// landed); it reports wall time per iteration and the peak heap.
func BenchmarkPlan200k(b *testing.B) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		b.Run(string(mode), func(b *testing.B) {
			const synthetic = 66_667 - 3 // + regional, fips, one account plan
			eps, err := dnsplan.Endpoints([]string{"111122223333"}, synthetic)
			if err != nil {
				b.Fatal(err)
			}
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var ms runtime.MemStats
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			}()
			b.ResetTimer()
			for range b.N {
				ctx := context.Background()
				clock := clockwork.NewFakeClockAt(kit.IncidentStart)
				st := dnsplan.NewMemStore(dnsplan.Zones...)
				st.MaxChangesPerBatch = 1000
				zones := st.ZoneIDs()
				zid, _ := zones.ID(dnsplan.RegionalZone)
				p, err := dnsplanner.NewCore(dnsplanner.CoreConfig{
					LBs:       []dnsplanner.LBConfig{{Name: "ddb-lb-a", IP: "127.0.1.1"}, {Name: "ddb-lb-b", IP: "127.0.1.2"}, {Name: "ddb-lb-c", IP: "127.0.1.3"}},
					Endpoints: eps, MaxChangesPerBatch: 1000,
				}, clock, nil)
				if err != nil {
					b.Fatal(err)
				}
				var cores []*Core
				for range 3 {
					c, err := NewCore(CoreConfig{Mode: mode, Endpoints: eps, Zones: zones, KeepGenerations: 0, EndpointsPerBatch: 200, ReadAhead: 300}, clock, nil)
					if err != nil {
						b.Fatal(err)
					}
					cores = append(cores, c)
				}
				io := &fakeIO{MemStore: st, clock: clock}
				for gen := 0; gen < 2; gen++ {
					plan := p.Build("bench")
					if plan.Records < 200_000 {
						b.Fatalf("generation of %d records", plan.Records)
					}
					if err := plan.Write(ctx, st, zid); err != nil {
						b.Fatal(err)
					}
					p.Written(plan)
					var wg sync.WaitGroup
					for _, c := range cores {
						wg.Add(1)
						go func() {
							defer wg.Done()
							if _, err := c.RunAll(ctx, io); err != nil {
								b.Error(err)
							}
						}()
					}
					wg.Wait()
				}
				s, err := dnsplan.ReadEndpoint(ctx, st, zones, eps[len(eps)-1])
				if err != nil || s.Generation != 2 || s.PlanRecords != 3 {
					b.Fatalf("last endpoint %+v %v", s, err)
				}
			}
			b.StopTimer()
			close(stop)
			<-sampled
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		})
	}
}
