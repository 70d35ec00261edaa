// Package stall measures how late this process gets to run: the machine's
// load as a replay sees it. Incident time is wall time scaled (20 incident
// minutes per wall second by default), so a machine that stalls the replay
// for one second stalls every service for twenty incident minutes: in-flight
// DynamoDB calls time out, queues tip over. A verdict that failed on a
// loaded machine says so by carrying the stalls it ran through.
//
// The Monitor measures two things. CPU pressure: the share of wall time in
// which some task of the machine waited for a CPU (Linux's pressure stall
// information, /proc/pressure/cpu), which is what a busy machine does to a
// replay: every call takes longer in wall time, so longer in incident time.
// On the 2-core machines an idle as-was replay runs at ~0.15 and passes;
// with two busy loops beside it, ~0.9, and it fails at speed 20 (and passes
// at speed 10, ~0.7). And stalls: it sleeps for an interval again and again
// and counts how much later than asked each sleep ended, the scheduling
// delay every goroutine of the process suffered at that moment.
package stall

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Stall is one sleep that ended at least Threshold late.
type Stall struct {
	At     time.Time     `json:"at"`     // by the Monitor's label clock (incident time in a replay)
	Length time.Duration `json:"length"` // wall time lost
}

// Report is what a Monitor saw from Start to Stop.
type Report struct {
	Interval  time.Duration `json:"interval"`
	Threshold time.Duration `json:"threshold"`
	Sleeps    int           `json:"sleeps"`
	// Count and Total are the stalls at or over Threshold and the wall time
	// they lost; Max the longest lateness of any sleep.
	Count int           `json:"count"`
	Total time.Duration `json:"total"`
	Max   time.Duration `json:"max"`
	// Longest are the longest stalls, longest first (at most MaxKept).
	Longest []Stall `json:"longest,omitempty"`
	// LoadStart and LoadEnd are the 1-minute load average when the Monitor
	// started and stopped (-1 where /proc/loadavg cannot be read).
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	// CPUPressure is the share of the wall time from Start to Stop in which
	// some task waited for a CPU (-1 where /proc/pressure/cpu cannot be read).
	CPUPressure float64 `json:"cpu_pressure"`
}

// MaxKept is how many stalls a Report keeps.
const MaxKept = 5

// Monitor measures stalls in a goroutine from Start until Stop.
type Monitor struct {
	wall      clockwork.Clock
	label     func() time.Time
	interval  time.Duration
	threshold time.Duration
	loadAvg   func() float64
	pressure  func() (time.Duration, bool)

	wallStart     time.Time
	pressureStart time.Duration
	pressureOK    bool

	mu      sync.Mutex
	report  Report
	stopped bool

	loop     kit.Loop
	stopOnce sync.Once
}

// Option configures a Monitor.
type Option func(*Monitor)

// WithWallClock sets the clock the Monitor sleeps on (a fake one in tests).
func WithWallClock(c clockwork.Clock) Option { return func(m *Monitor) { m.wall = c } }

// WithLabel sets the clock that timestamps each stall (the stack's incident
// clock in a replay); by default the wall clock.
func WithLabel(now func() time.Time) Option { return func(m *Monitor) { m.label = now } }

// WithInterval sets how long each sleep asks for (default 10 ms).
func WithInterval(d time.Duration) Option { return func(m *Monitor) { m.interval = d } }

// WithThreshold sets the lateness that counts as a stall (default 100 ms).
func WithThreshold(d time.Duration) Option { return func(m *Monitor) { m.threshold = d } }

// WithLoadAverage replaces the reading of /proc/loadavg.
func WithLoadAverage(f func() float64) Option { return func(m *Monitor) { m.loadAvg = f } }

// WithPressure replaces the reading of /proc/pressure/cpu: the machine's
// total CPU stall time so far, and whether it could be read.
func WithPressure(f func() (time.Duration, bool)) Option { return func(m *Monitor) { m.pressure = f } }

// Start starts a Monitor; Stop ends it and returns its Report.
func Start(opts ...Option) *Monitor {
	m := &Monitor{wall: clockwork.NewRealClock(), interval: 10 * time.Millisecond,
		threshold: 100 * time.Millisecond, loadAvg: LoadAverage, pressure: CPUStallTotal}
	for _, o := range opts {
		o(m)
	}
	if m.label == nil {
		m.label = m.wall.Now
	}
	m.report = Report{Interval: m.interval, Threshold: m.threshold, LoadStart: m.loadAvg(), CPUPressure: -1}
	m.wallStart = m.wall.Now()
	m.pressureStart, m.pressureOK = m.pressure()
	m.loop.Start(context.Background(), m.run)
	return m
}

func (m *Monitor) run(ctx context.Context) {
	for {
		asked := m.wall.Now()
		t := m.wall.NewTimer(m.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.Chan():
		}
		m.note(m.wall.Since(asked) - m.interval)
	}
}

func (m *Monitor) note(late time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &m.report
	r.Sleeps++
	r.Max = max(r.Max, late)
	if late < m.threshold {
		return
	}
	r.Count++
	r.Total += late
	r.Longest = append(r.Longest, Stall{At: m.label(), Length: late})
	sort.SliceStable(r.Longest, func(i, j int) bool { return r.Longest[i].Length > r.Longest[j].Length })
	if len(r.Longest) > MaxKept {
		r.Longest = r.Longest[:MaxKept]
	}
}

// Snapshot returns the Report so far.
func (m *Monitor) Snapshot() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.report
	r.Longest = append([]Stall(nil), r.Longest...)
	return r
}

// Stop ends the Monitor and returns its Report; later calls return it again.
func (m *Monitor) Stop() Report {
	m.stopOnce.Do(func() {
		m.loop.Close()
		pressure := m.pressureSinceStart()
		m.mu.Lock()
		m.report.LoadEnd = m.loadAvg()
		m.report.CPUPressure = pressure
		m.stopped = true
		m.mu.Unlock()
	})
	return m.Snapshot()
}

// Pressure is the CPU pressure from Start until now (after Stop: until
// Stop), -1 where it cannot be read.
func (m *Monitor) Pressure() float64 {
	m.mu.Lock()
	stopped, atStop := m.stopped, m.report.CPUPressure
	m.mu.Unlock()
	if stopped {
		return atStop
	}
	return m.pressureSinceStart()
}

func (m *Monitor) pressureSinceStart() float64 {
	now, ok := m.pressure()
	wall := m.wall.Since(m.wallStart)
	if !ok || !m.pressureOK || wall <= 0 {
		return -1
	}
	return min(1, max(0, float64(now-m.pressureStart)/float64(wall)))
}

// LoadAverage is the 1-minute load average from /proc/loadavg, or -1.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// CPUStallTotal is the machine's total time in which some task waited for a
// CPU, from the "some" line of /proc/pressure/cpu; false where it cannot be
// read (no PSI in the kernel, not Linux).
func CPUStallTotal() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	return parseCPUStall(string(b))
}

// parseCPUStall reads the "some" total of a /proc/pressure/cpu text.
func parseCPUStall(text string) (time.Duration, bool) {
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "some" {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				us, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, false
				}
				return time.Duration(us) * time.Microsecond, true
			}
		}
	}
	return 0, false
}
