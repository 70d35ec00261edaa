package kit

import (
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Clock is the clock every core takes. It reads incident time: the durations a
// core is configured with (lease TTLs, check periods, queue timeouts) are
// incident durations, and the clock decides how fast they pass.
type Clock = clockwork.Clock

// IncidentStart is the incident time at which a replay's clock starts by
// default: 19 October 2025, 23:30 PDT, eighteen minutes before the DynamoDB
// endpoint's record emptied.
var IncidentStart = time.Date(2025, 10, 20, 6, 30, 0, 0, time.UTC)

// Speed is how many incident minutes pass per wall-clock second. A Speed of
// 30 replays the 14.5-hour incident in 29 seconds.
type Speed float64

// The default speeds, in one place. Speed.Validate is the one check of a
// speed; every entry point (harness.WithSpeed, cascade up and replay, the
// replay's Config, mockaws) calls it.
const (
	// DefaultSpeed: a stack on any backend (suites, cascade up, mockaws,
	// the compose file's CASCADE_SPEED).
	DefaultSpeed Speed = 30
	// ReplaySpeedEmbedded: the incident replay on the embedded backend.
	// Incident time is wall time scaled and the replay's mechanisms are
	// CPU-bound on the shared 2-core machines: at 20 the replay passes
	// beside two busy loops (see experiments/use1-2025-10/report.go).
	ReplaySpeedEmbedded Speed = 20
	// ReplaySpeedContainers: the incident replay on the containers and
	// compose backends, where a container restart (the operators' DWFM
	// restarts) takes 5.6-5.8 s of wall time (see harness/containers).
	ReplaySpeedContainers Speed = 6
)

// ReplaySpeed is the incident replay's default speed on a backend.
func ReplaySpeed(backend string) Speed {
	switch backend {
	case "containers", "compose":
		return ReplaySpeedContainers
	default:
		return ReplaySpeedEmbedded
	}
}

// Factor is how many incident nanoseconds pass per wall nanosecond.
func (s Speed) Factor() float64 { return float64(s) * 60 }

// ToWall converts an incident duration to the wall-clock duration it takes at
// this speed; the transports use it for timeouts that the OS enforces in real
// time (HTTP client timeouts, socket deadlines).
func (s Speed) ToWall(incident time.Duration) time.Duration {
	if s <= 0 {
		return incident
	}
	return time.Duration(float64(incident) / s.Factor())
}

// ToIncident converts a wall-clock duration to incident time at this speed.
func (s Speed) ToIncident(wall time.Duration) time.Duration {
	if s <= 0 {
		return wall
	}
	return time.Duration(float64(wall) * s.Factor())
}

// Validate reports a speed that cannot drive a clock.
func (s Speed) Validate() error {
	if s <= 0 || s > 100000 {
		return fmt.Errorf("speed %v incident minutes per second: must be > 0 and <= 100000", float64(s))
	}
	return nil
}

// ScaledClock is a real clock that reads incident time: it started at
// incidentStart when the wall clock read wallStart, and runs at speed.
// Processes that share wallStart, incidentStart and speed (the containers of
// one stack, via CASCADE_EPOCH and CASCADE_SPEED) agree on incident time.
type ScaledClock struct {
	wallStart     time.Time
	incidentStart time.Time
	speed         Speed
}

var _ Clock = (*ScaledClock)(nil)

// NewScaledClock returns a clock reading incident time.
func NewScaledClock(wallStart, incidentStart time.Time, speed Speed) *ScaledClock {
	if speed <= 0 {
		panic("kit: NewScaledClock with non-positive speed")
	}
	return &ScaledClock{wallStart: wallStart, incidentStart: incidentStart, speed: speed}
}

// Speed is the clock's speed.
func (c *ScaledClock) Speed() Speed { return c.speed }

// WallStart is the wall time at which the clock read IncidentStart.
func (c *ScaledClock) WallStart() time.Time { return c.wallStart }

// IncidentStart is the incident time the clock read at WallStart.
func (c *ScaledClock) IncidentStart() time.Time { return c.incidentStart }

// Now is the current incident time.
func (c *ScaledClock) Now() time.Time { return c.toIncident(time.Now()) }

func (c *ScaledClock) toIncident(wall time.Time) time.Time {
	return c.incidentStart.Add(c.speed.ToIncident(wall.Sub(c.wallStart)))
}

// Since is the incident time elapsed since t.
func (c *ScaledClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Until is the incident time left until t.
func (c *ScaledClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// Sleep sleeps for an incident duration.
func (c *ScaledClock) Sleep(d time.Duration) { time.Sleep(c.speed.ToWall(d)) }

// After fires after an incident duration, delivering the incident time.
func (c *ScaledClock) After(d time.Duration) <-chan time.Time {
	return c.NewTimer(d).Chan()
}

// NewTimer is a timer over an incident duration.
func (c *ScaledClock) NewTimer(d time.Duration) clockwork.Timer {
	t := &scaledTimer{clock: c, ch: make(chan time.Time, 1)}
	t.timer = time.AfterFunc(c.speed.ToWall(d), t.fire)
	return t
}

// AfterFunc runs f after an incident duration.
func (c *ScaledClock) AfterFunc(d time.Duration, f func()) clockwork.Timer {
	t := &scaledTimer{clock: c}
	t.timer = time.AfterFunc(c.speed.ToWall(d), f)
	return t
}

// NewTicker ticks every incident duration d.
func (c *ScaledClock) NewTicker(d time.Duration) clockwork.Ticker {
	t := &scaledTicker{clock: c, ch: make(chan time.Time, 1), stop: make(chan struct{})}
	t.ticker = time.NewTicker(c.speed.ToWall(d))
	go t.run()
	return t
}

type scaledTimer struct {
	clock *ScaledClock
	timer *time.Timer
	ch    chan time.Time
}

func (t *scaledTimer) fire() {
	select {
	case t.ch <- t.clock.Now():
	default:
	}
}

func (t *scaledTimer) Chan() <-chan time.Time { return t.ch }
func (t *scaledTimer) Reset(d time.Duration) bool {
	return t.timer.Reset(t.clock.speed.ToWall(d))
}
func (t *scaledTimer) Stop() bool { return t.timer.Stop() }

type scaledTicker struct {
	clock    *ScaledClock
	ticker   *time.Ticker
	ch       chan time.Time
	stop     chan struct{}
	stopOnce sync.Once
}

func (t *scaledTicker) run() {
	for {
		select {
		case <-t.stop:
			return
		case w := <-t.ticker.C:
			select {
			case t.ch <- t.clock.toIncident(w):
			default: // a slow reader drops ticks, as time.Ticker does
			}
		}
	}
}

func (t *scaledTicker) Chan() <-chan time.Time { return t.ch }
func (t *scaledTicker) Reset(d time.Duration)  { t.ticker.Reset(t.clock.speed.ToWall(d)) }
func (t *scaledTicker) Stop() {
	t.ticker.Stop()
	t.stopOnce.Do(func() { close(t.stop) })
}

// WallDuration converts an incident duration to wall time when clock is a
// ScaledClock, and returns it unchanged otherwise (fake clocks in tests).
func WallDuration(clock Clock, incident time.Duration) time.Duration {
	if sc, ok := clock.(*ScaledClock); ok {
		return sc.speed.ToWall(incident)
	}
	return incident
}
