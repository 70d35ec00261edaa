package stall

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// sleepEnds lets the Monitor's next sleep end after d of wall time.
func sleepEnds(t *testing.T, clock *clockwork.FakeClock, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("the monitor never slept: %v", err)
	}
	clock.Advance(d)
}

func TestMonitorCountsLateSleepsAsStalls(t *testing.T) {
	wall := clockwork.NewFakeClock()
	incident := time.Date(2025, 10, 20, 10, 0, 0, 0, time.UTC)
	loads := []float64{0.5, 14}
	t0 := wall.Now()
	m := Start(WithWallClock(wall), // some task waits for a CPU half of the time
		WithPressure(func() (time.Duration, bool) { return time.Hour + wall.Since(t0)/2, true }), WithInterval(10*time.Millisecond), WithThreshold(100*time.Millisecond),
		WithLabel(func() time.Time { return incident }),
		WithLoadAverage(func() float64 { l := loads[0]; loads = loads[1:]; return l }))

	sleepEnds(t, wall, 10*time.Millisecond)                     // on time
	sleepEnds(t, wall, 10*time.Millisecond+time.Second)         // a 1 s stall
	sleepEnds(t, wall, 10*time.Millisecond+50*time.Millisecond) // late, under the threshold
	if p := m.Pressure(); p != 0.5 {
		t.Errorf("live CPU pressure %v: want 0.5", p)
	}
	sleepEnds(t, wall, 10*time.Millisecond+300*time.Millisecond)
	// the fourth sleep's note is taken before the fifth sleep starts
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wall.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r := m.Stop()

	if r.Sleeps != 4 || r.Count != 2 {
		t.Errorf("sleeps %d, stalls %d: want 4 and 2", r.Sleeps, r.Count)
	}
	if r.Max != time.Second || r.Total != 1300*time.Millisecond {
		t.Errorf("max %v, total %v: want 1s and 1.3s", r.Max, r.Total)
	}
	if len(r.Longest) != 2 || r.Longest[0].Length != time.Second || r.Longest[1].Length != 300*time.Millisecond {
		t.Errorf("longest %+v: want 1s then 300ms", r.Longest)
	}
	if !r.Longest[0].At.Equal(incident) {
		t.Errorf("stall at %v: want the label clock's %v", r.Longest[0].At, incident)
	}
	if r.LoadStart != 0.5 || r.LoadEnd != 14 {
		t.Errorf("load %v -> %v: want 0.5 -> 14", r.LoadStart, r.LoadEnd)
	}
	if r.CPUPressure != 0.5 {
		t.Errorf("CPU pressure %v: want 0.5 (0.695 s of stall in 1.39 s)", r.CPUPressure)
	}
	if again := m.Stop(); again.Sleeps != r.Sleeps || again.LoadEnd != 14 {
		t.Errorf("a second Stop changed the report: %+v", again)
	}
}

func TestMonitorKeepsTheLongestStalls(t *testing.T) {
	wall := clockwork.NewFakeClock()
	m := Start(WithWallClock(wall), WithLoadAverage(func() float64 { return -1 }),
		WithPressure(func() (time.Duration, bool) { return 0, false }))
	for i := 1; i <= MaxKept+3; i++ {
		sleepEnds(t, wall, 10*time.Millisecond+time.Duration(i)*100*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wall.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r := m.Stop()
	if r.Count != MaxKept+3 || len(r.Longest) != MaxKept {
		t.Fatalf("stalls %d, kept %d: want %d and %d", r.Count, len(r.Longest), MaxKept+3, MaxKept)
	}
	if r.CPUPressure != -1 {
		t.Errorf("CPU pressure %v without a reading: want -1", r.CPUPressure)
	}
	if r.Longest[0].Length != time.Duration(MaxKept+3)*100*time.Millisecond {
		t.Errorf("longest first: %+v", r.Longest)
	}
}

func TestLoadAverageReadsProc(t *testing.T) {
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		t.Skip("no /proc/loadavg here")
	}
	if l := LoadAverage(); l < 0 {
		t.Fatalf("load average %v from a readable /proc/loadavg", l)
	}
}

func TestParseCPUStall(t *testing.T) {
	const psi = "some avg10=33.82 avg60=50.17 avg300=35.10 total=566161956\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	if d, ok := parseCPUStall(psi); !ok || d != 566161956*time.Microsecond {
		t.Errorf("parsed %v %v: want 566.161956s", d, ok)
	}
	for _, bad := range []string{"", "full avg10=0 total=5\n", "some avg10=1 total=x\n", "some avg10=1\n"} {
		if d, ok := parseCPUStall(bad); ok {
			t.Errorf("%q parsed as %v", bad, d)
		}
	}
	if _, err := os.Stat("/proc/pressure/cpu"); err == nil {
		if _, ok := CPUStallTotal(); !ok {
			t.Error("a readable /proc/pressure/cpu did not parse")
		}
	}
}
