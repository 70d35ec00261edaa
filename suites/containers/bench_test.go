package containers_test

import (
	"context"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
)

// BenchmarkContainersColdStart measures harness.Start of the whole stack
// of containers with the images present (16 containers: network, waves,
// proxies, readiness and the first DNS plan applied), and its Close.
func BenchmarkContainersColdStart(b *testing.B) {
	ctx := context.Background()
	cli := connectEngine(b)
	if _, err := engine.EnsureImages(ctx, cli); err != nil {
		b.Fatal(err)
	}
	var closeTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := harness.Start(ctx, harness.WithBackend(containers.Name))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		t0 := time.Now()
		if err := st.Close(ctx); err != nil {
			b.Fatal(err)
		}
		closeTotal += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(closeTotal.Seconds()/float64(b.N), "close-s/op")
}

// BenchmarkImageBuild measures a forced rebuild of both images: two static
// go builds (warm build cache) and two docker builds FROM scratch.
func BenchmarkImageBuild(b *testing.B) {
	ctx := context.Background()
	cli := connectEngine(b)
	for i := 0; i < b.N; i++ {
		if _, err := engine.EnsureImages(ctx, cli, engine.WithForce(true)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImageUpToDate measures the check that runs before every stack:
// hashing cmd/mockaws's sources and finding both tags present.
func BenchmarkImageUpToDate(b *testing.B) {
	ctx := context.Background()
	cli := connectEngine(b)
	if _, err := engine.EnsureImages(ctx, cli); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		imgs, err := engine.EnsureImages(ctx, cli)
		if err != nil {
			b.Fatal(err)
		}
		if len(imgs.Built) > 0 {
			b.Fatalf("rebuilt %v", imgs.Built)
		}
	}
}

// connectEngine skips b without a Docker engine and otherwise returns a
// client closed when b ends.
func connectEngine(b *testing.B) *engine.Client {
	ctx := context.Background()
	if err := engine.Available(ctx); err != nil {
		b.Skipf("SKIPPING: %v", err)
	}
	cli, err := engine.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}
