package route53

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
)

// Scale of the benchmark zone: 50,000 names with four weighted A sets each.
const (
	benchNames   = 50000
	benchPerName = 4
	benchBatch   = 1000
)

func benchName(i int) string { return fmt.Sprintf("syn-%06d.ddb-plans.us-east-1.amazonaws.com.", i) }

// loadZone writes benchNames*benchPerName record sets through the API.
func loadZone(b *testing.B, f *fixture) {
	b.Helper()
	var batch []types.Change
	for i := range benchNames {
		for j := range benchPerName {
			batch = append(batch, change("CREATE", weighted(benchName(i), "A", fmt.Sprintf("ddb-lb-%c", 'a'+j), int64(1+j), 5, fmt.Sprintf("127.0.%d.%d", 1+j, 1+i%250))))
			if len(batch) == benchBatch {
				f.mustChange(batch...)
				batch = batch[:0]
			}
		}
	}
	if len(batch) > 0 {
		f.mustChange(batch...)
	}
}

// heapSampler records the largest HeapAlloc seen until stopped.
func heapSampler() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > peak.Load() {
			peak.Store(ms.HeapAlloc)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak.Load()
	}
}

// BenchmarkZone200k loads 200,000 weighted record sets through the API in
// batches of 1000 and reports the peak heap.
func BenchmarkZone200k(b *testing.B) {
	var peak uint64
	for range b.N {
		runtime.GC()
		stop := heapSampler()
		f := newFixture(b, Config{})
		loadZone(b, f)
		if got := f.srv.store.Records(); got != benchNames*benchPerName+4 {
			b.Fatalf("%d record sets", got)
		}
		// One full listing and a lookup at the end, to show they stay cheap.
		start := time.Now()
		if _, err := f.srv.store.List(f.zoneID, benchName(benchNames-1), "A", "ddb-lb-b", 300); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds()), "list-µs")
		if p := stop(); p > peak {
			peak = p
		}
		_ = f.srv.Close()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(benchNames*benchPerName)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDNSQueriesPerSecond queries random names of the 200,000-set zone
// over UDP from several clients.
func BenchmarkDNSQueriesPerSecond(b *testing.B) {
	f := newFixture(b, Config{})
	// Load through the store directly: the API path is BenchmarkZone200k's.
	z, _ := f.srv.store.ZoneByName(testZone)
	var changes []Change
	for i := range benchNames {
		for j := range benchPerName {
			w, ttl := int64(1+j), int64(5)
			changes = append(changes, Change{ActionCreate, RecordSet{Name: benchName(i), Type: "A", SetIdentifier: fmt.Sprintf("ddb-lb-%c", 'a'+j), Weight: &w, TTL: &ttl, Values: []string{fmt.Sprintf("127.0.%d.1", 1+j)}}})
		}
	}
	f.srv.store.maxChanges = len(changes)
	if _, err := f.srv.store.ChangeRecordSets(z.ID, changes, ""); err != nil {
		b.Fatal(err)
	}
	var seed atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewSource(seed.Add(1)))
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		conn, err := c.Dial(f.srv.DNSAddr())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		m := new(dns.Msg)
		for pb.Next() {
			m.SetQuestion(benchName(rng.Intn(benchNames)), dns.TypeA)
			r, _, err := c.ExchangeWithConn(m, conn)
			if err != nil || len(r.Answer) != 1 {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "qps")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d queries failed", n)
	}
}
