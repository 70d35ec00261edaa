package use1

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/dnsenactor"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/lambda"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
	"github.com/cascade-lab/cascade/mocks/sts"
)

// DefaultSpeed is the replay's default speed: 20 incident minutes per wall
// second, so the 14 h 50 min from 23:30 to 14:20 take about 45 s.
const DefaultSpeed = kit.ReplaySpeedEmbedded

// Variants are the named variants: aswas (no mitigation) and fixed (every
// mitigation). Any set of single mitigations is given with Config.Fixes.
var Variants = []string{"aswas", "fixed"}

// SimBackend names the deterministic simulation backend (harness/sim): the
// replay runs on a virtual clock (RunSim) rather than through harness.Start.
const SimBackend = "sim"

// Config is one replay.
type Config struct {
	// Variant is "aswas" (default) or "fixed" (every announced mitigation);
	// Fixes adds single mitigations (harness.AllFixes) or guards
	// (harness.AllGuards) on top.
	Variant string
	Fixes   []string
	// Backend is the harness backend ("embedded" by default), or SimBackend.
	Backend string
	// Speed is incident minutes per wall second (DefaultSpeed when zero;
	// ignored by the sim backend).
	Speed kit.Speed
	// Seed seeds every service and the workload.
	Seed int64
	// Start and End bound the replay in incident time (default 23:30 PDT on
	// the 19th to 14:20 PDT on the 20th).
	Start, End time.Time
	// ProbePeriod is the steady-state probes' period (incident time).
	ProbePeriod time.Duration
	// Progress, when set, is called on every probe round with the replay's
	// state (for a live display).
	Progress func(Progress)
	// EventOutput receives every service event as JSON lines (nil: none).
	EventOutput io.Writer
	// Calibration overrides the mechanisms' parameters (DefaultCalibration
	// when zero).
	Calibration *Calibration
	// External, when set, runs the replay against a stack its caller
	// started (with StackOptions) and samples the caller's probes beside
	// the replay's own (external.go).
	External *External
}

// Normalize fills defaults and checks the variant, fixes, backend and speed;
// its errors name the valid choices.
func (c *Config) Normalize() error {
	if err := c.normalizeExternal(); err != nil {
		return err
	}
	if c.Variant == "" {
		c.Variant = "aswas"
	}
	if !slices.Contains(Variants, c.Variant) {
		return fmt.Errorf("unknown variant %q: valid variants are %s", c.Variant, strings.Join(Variants, ", "))
	}
	if _, err := harness.ParseFixes(strings.Join(c.Fixes, ",")); err != nil {
		return err
	}
	if c.Speed == 0 {
		c.Speed = DefaultSpeed
	}
	if err := c.Speed.Validate(); err != nil {
		return err
	}
	if c.Backend == "" {
		c.Backend = harness.DefaultBackend
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Start.IsZero() {
		c.Start = ReplayStart
	}
	if c.End.IsZero() {
		c.End = ReplayEnd
	}
	if !c.End.After(c.Start) {
		return fmt.Errorf("replay end %s is not after its start %s", c.End, c.Start)
	}
	if c.ProbePeriod <= 0 {
		c.ProbePeriod = 2 * time.Minute
	}
	if c.Calibration == nil {
		cal := DefaultCalibration()
		c.Calibration = &cal
	}
	return nil
}

// FixSet is the set of mitigations the config turns on, sorted.
func (c Config) FixSet() []string {
	set := map[string]bool{}
	if c.Variant == "fixed" {
		for _, f := range harness.AllFixes {
			set[f] = true
		}
	}
	for _, f := range c.Fixes {
		set[f] = true
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Has reports whether mitigation fix is on.
func (c Config) Has(fix string) bool { return slices.Contains(c.FixSet(), fix) }

// Label names the variant for reports: "aswas", "fixed", or "aswas+<fixes>".
func (c Config) Label() string {
	fs := c.FixSet()
	switch {
	case len(fs) == len(harness.AllFixes) && allAnnounced(fs):
		return "fixed"
	case len(fs) == 0:
		return "aswas"
	}
	return "aswas+" + strings.Join(fs, "+")
}

// Calibration is the set of parameters the replay chooses for the
// mechanisms (through harness.WithTune) and for its own workload. Every
// number is incident time or a count; see DefaultCalibration for why.
type Calibration struct {
	// KeepGenerations is the Enactors' K (clean-up deletes generations more
	// than K older than the one applied).
	KeepGenerations uint64
	// SyntheticEndpoints adds endpoints to each Enactor run (and plans to
	// each generation); few, so runs stay short on a loaded machine.
	SyntheticEndpoints int
	// EnactorPeriod is how often each Enactor starts a run: the longer, the
	// less often the third Enactor happens to re-apply a newer plan between
	// A's stale apply and the clean-up that deletes A's plan.
	EnactorPeriod time.Duration
	// NetMgrRatePerMinute is Network Manager's propagation throughput.
	NetMgrRatePerMinute float64
	// NetMgrQueueLimit is fixed Network Manager's admission limit.
	NetMgrQueueLimit int
	// NetWorkPerRelease is how many Network Manager work items one DWFM
	// lease write owes (the droplet's network configuration pushed to every
	// location): each DWFM host posts them itself (dwfm.Config.NetWorkPerWrite).
	NetWorkPerRelease int
	// FleetPerAZ is the customer's steady-state fleet behind the NLB.
	FleetPerAZ int
	// DemandEvery is how often the customer's desired capacity grows by one
	// instance (a morning scale-out); pent-up demand launches once allowed.
	DemandEvery time.Duration
	// MorningDemandEvery adds one instance to the desired capacity every so
	// often between MorningFrom and MorningUntil (times of day, PDT): the
	// business morning's scale-out (0: none).
	MorningDemandEvery        time.Duration
	MorningFrom, MorningUntil time.Duration
	// LaunchAttemptsPerMinute bounds the customer's RunInstances calls.
	LaunchAttemptsPerMinute int
	// NetWorkPerLaunch is the bulk setup work each new instance owes Network
	// Manager (ec2.Config.NetWorkPerLaunch): what makes a launch wave load it.
	NetWorkPerLaunch int
	// EC2ThrottlePerMinute is the operators' RunInstances throttle.
	EC2ThrottlePerMinute float64
	// DWFMThrottlePerMinute is the operators' DWFM intake throttle.
	DWFMThrottlePerMinute float64
	// ConnectivityGrace is how long a new instance may lack connectivity
	// before the connectivity probe counts it as a failure.
	ConnectivityGrace time.Duration
	// BacklogWait is the Network Manager head wait above which the backlog
	// probe fails.
	BacklogWait time.Duration
	// NLBCheckCapacity is the checks each NLB node runs per interval.
	NLBCheckCapacity int
	// NLBCheckInterval is how often each NLB node checks each target: the
	// NLB's health checks are the stack's largest source of requests.
	NLBCheckInterval time.Duration
	// NLBCheckWorkers bounds the NLB's concurrent health-check requests
	// (wall resources): enough that a stall of the machine does not leave
	// the group's ~155 targets' checks queued until they fail as overloaded.
	NLBCheckWorkers int
	// MinWallTimeout is the wall-time floor of DWFM's DynamoDB calls and
	// EC2's calls to DWFM: a call slowed by a loaded machine (not by the
	// incident) must not fail a lease renewal or a launch.
	MinWallTimeout time.Duration
	// LambdaRestartDelay is restart-lambda-pollers' mean reaction delay.
	LambdaRestartDelay time.Duration
	// STSPerHostPerMinute is what one healthy STS host admits per incident
	// minute, counted per minute (sts.Config.PerHostPerSecond/60 and
	// AdmitWindow a minute); LambdaInvokesPerMinute is Lambda's invocation
	// fleet at full capacity per incident minute, a minute of it as burst
	// (lambda.Config.InvokeRatePerSecond/60, BurstSeconds 60). Both are the
	// mocks' fleets rescaled so the load below fits real sockets at speed 20.
	STSPerHostPerMinute    float64
	LambdaInvokesPerMinute float64
	// STSLoadPerMinute and LambdaLoadPerMinute are INPUTS: the customer's
	// steady AssumeRole and Invoke calls per incident minute (load.go).
	STSLoadPerMinute    float64
	LambdaLoadPerMinute float64
}

// DefaultCalibration is the calibration the replay ships with. The
// mechanisms' own defaults (mocks/dwfm's fleet of 40 droplets per host, 45
// min lease TTL, 8 min work timeout; Network Manager's fan-out one location
// per pass; the NLB's thresholds) are kept; the replay chooses only what
// couples them at the scale of one process:
//
//   - Network Manager works 80 items a minute; a DWFM lease write owes 40
//     (NetWorkPerRelease) and a new instance 40 of setup work once its own
//     state has propagated (NetWorkPerLaunch). The as-was night's late
//     lease writes and the restarts' re-leases (~750 writes, ~30,000 items)
//     then keep Network Manager about four hours behind, the real
//     6:21-10:36 (netmgr-backlog). Fixed Network Manager admits bulk work
//     while fewer than 100 items wait (a hop waits at most 75 s).
//   - The customer's group grows by one instance every 12 min through the
//     night and by one more every 4 min in the business morning (06:00 to
//     10:00 PDT, 9 AM to 1 PM in the east), at most 3 launches a minute.
//     Under the operators' EC2 throttle (0.2/min from 4:14) that demand is
//     pent up; when the operators relax the throttles (the real 11:23) the
//     group launches it as a wave (~55 instances over ~40 min). Each new target is in
//     service from its registration at launch (as-was NLB) while its state
//     still makes its three hops through Network Manager's queue, so the
//     wave's targets flap until about 12:00-12:30: that is what stretches the NLB
//     impact from the restarts to the afternoon (the real 5:30-14:09), with
//     failover disabled meanwhile. Ablations (seed 1, one run each): without
//     the morning ramp the NLB impact ends with the backlog (~9:30, -42%);
//     without the setup work it is -15% (with it -11% to -14%): the wave's
//     setup work deepens Network Manager's queue a little, the wave itself
//     carries the impact. Without the ramp, or before it, the NLB impact
//     was -39%.
//   - The NLB's checkers run up to 600 checks per node and interval:
//     the group's ~155 targets plus the re-checks of a mass flap (two per
//     flap) fit, so a stall of the machine that fails every check at once
//     does not tip the checker into overload (with 256 it did, and the NLB
//     flapped until the end); 48 check workers (the NLB's default is 16)
//     keep up with those checks when a loaded machine slows each request,
//     where 16 let them queue until they failed as overloaded.
//   - The customer's steady load on STS and Lambda (an input) is 2/3 of
//     each fleet's full capacity: a fleet provisioned to lose one AZ of
//     three (static stability) runs at 2/3, so losing more than a third
//     of its healthy capacity throttles. STS's 6 hosts admit 1 call a
//     minute each and the load is 4 a minute (throttled below 4 healthy
//     hosts: an NLB healthy share under 0.58); Lambda's fleet admits 6
//     invocations a minute at full capacity and the load is 4 (the
//     replay's own Lambda probe and poller add about one). The mocks'
//     defaults (50 requests a second per STS host, 50 invocations a second)
//     are rescaled by 1/3000 and 1/500 so the embedded backend carries the
//     load on sockets at speed 20 (8 calls a minute: 160 a wall second);
//     only the ratio of load to capacity decides when they throttle.
func DefaultCalibration() Calibration {
	return Calibration{
		LambdaRestartDelay:      DefaultLambdaRestartDelay,
		KeepGenerations:         2,
		SyntheticEndpoints:      2,
		EnactorPeriod:           3 * time.Minute,
		NetMgrRatePerMinute:     80,
		NetMgrQueueLimit:        100,
		NetWorkPerRelease:       40,
		FleetPerAZ:              6,
		DemandEvery:             12 * time.Minute,
		MorningDemandEvery:      4 * time.Minute,
		MorningFrom:             6 * time.Hour,
		MorningUntil:            10 * time.Hour,
		LaunchAttemptsPerMinute: 3,
		NetWorkPerLaunch:        40,
		EC2ThrottlePerMinute:    0.2,
		DWFMThrottlePerMinute:   0.8,
		ConnectivityGrace:       30 * time.Minute,
		BacklogWait:             20 * time.Minute,
		NLBCheckCapacity:        600,
		NLBCheckInterval:        4 * time.Minute,
		NLBCheckWorkers:         48,
		MinWallTimeout:          3 * time.Second,
		STSPerHostPerMinute:     1,
		LambdaInvokesPerMinute:  6,
		STSLoadPerMinute:        4,
		LambdaLoadPerMinute:     4,
	}
}

// tune is the harness.WithTune hook of a calibration.
func (cal Calibration) tune(instance string, cfg any) {
	switch c := cfg.(type) {
	case *dnsenactor.Config:
		c.KeepGenerations = cal.KeepGenerations
		c.SyntheticEndpoints = cal.SyntheticEndpoints
		c.Period = cal.EnactorPeriod
	case *dnsplanner.Config:
		c.SyntheticEndpoints = cal.SyntheticEndpoints
	case *netmgr.Config:
		c.RatePerMinute = cal.NetMgrRatePerMinute
		c.QueueLimit = cal.NetMgrQueueLimit
	case *nlb.Config:
		if cal.NLBCheckCapacity > 0 {
			c.CheckCapacity = cal.NLBCheckCapacity
		}
		c.CheckInterval = cal.NLBCheckInterval
		c.CheckWorkers = cal.NLBCheckWorkers
	case *dwfm.Config:
		c.MinWallTimeout = cal.MinWallTimeout
		c.NetWorkPerWrite = cal.NetWorkPerRelease
	case *ec2.Config:
		c.MinWallTimeout = cal.MinWallTimeout
		c.NetWorkPerLaunch = cal.NetWorkPerLaunch
	case *sts.Config:
		if cal.STSPerHostPerMinute > 0 {
			c.PerHostPerSecond, c.AdmitWindow = cal.STSPerHostPerMinute/60, time.Minute
		}
	case *lambda.Config:
		if cal.LambdaInvokesPerMinute > 0 {
			c.InvokeRatePerSecond, c.BurstSeconds = cal.LambdaInvokesPerMinute/60, 60
		}
	}
}
