package use1

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Setting is one calibration value that `cascade replay --set NAME=VALUE`
// overrides: its name, why its default is what it is, and, when the default
// was fitted to the real night rather than chosen for its own reason, what
// it was fitted to.
type Setting struct {
	Name   string
	Reason string
	// Fitted names what the default was fitted to ("" when it has its own
	// reason).
	Fitted string
	field  func(*Calibration) any // a pointer to the field
}

// Settings are the replay's calibration values by name.
var Settings = []Setting{
	{Name: "keep-generations", Reason: "the Enactors' K: clean-up deletes plans more than K generations older; small so the race needs few generations",
		field: func(c *Calibration) any { return &c.KeepGenerations }},
	{Name: "synthetic-endpoints", Reason: "endpoints added to each Enactor run; few, so runs stay short on a loaded machine",
		field: func(c *Calibration) any { return &c.SyntheticEndpoints }},
	{Name: "enactor-period", Reason: "how often each Enactor starts a run: long enough that the third Enactor seldom re-applies between A's stale apply and the clean-up",
		field: func(c *Calibration) any { return &c.EnactorPeriod }},
	{Name: "netmgr-rate", Reason: "Network Manager's propagation throughput (items per incident minute)",
		Fitted: "with net-work-per-release, Network Manager's backlog of 6:21-10:36", field: func(c *Calibration) any { return &c.NetMgrRatePerMinute }},
	{Name: "netmgr-queue-limit", Reason: "fixed Network Manager admits bulk work while fewer than this wait (a hop then waits at most 75 s)",
		field: func(c *Calibration) any { return &c.NetMgrQueueLimit }},
	{Name: "net-work-per-release", Reason: "Network Manager items one DWFM lease write owes (a droplet's configuration pushed to every location)",
		Fitted: "with netmgr-rate, the backlog of 6:21-10:36", field: func(c *Calibration) any { return &c.NetWorkPerRelease }},
	{Name: "fleet-per-az", Reason: "the customer's steady fleet behind the NLB, per AZ: small enough for one process",
		field: func(c *Calibration) any { return &c.FleetPerAZ }},
	{Name: "demand-every", Reason: "the customer's group grows by one instance this often through the night",
		field: func(c *Calibration) any { return &c.DemandEvery }},
	{Name: "morning-demand-every", Reason: "one more instance this often in the business morning (0: no ramp)",
		Fitted: "the NLB impact lasting to 14:09 (without the ramp it ends ~9:30, -42%)", field: func(c *Calibration) any { return &c.MorningDemandEvery }},
	{Name: "morning-from", Reason: "start of the business morning, time of day PDT (9 AM in the east)",
		field: func(c *Calibration) any { return &c.MorningFrom }},
	{Name: "morning-until", Reason: "end of the business morning, time of day PDT (1 PM in the east)",
		field: func(c *Calibration) any { return &c.MorningUntil }},
	{Name: "launch-attempts-per-minute", Reason: "bound on the customer's RunInstances calls",
		field: func(c *Calibration) any { return &c.LaunchAttemptsPerMinute }},
	{Name: "net-work-per-launch", Reason: "setup work each new instance owes Network Manager once its own state propagated",
		Fitted: "the NLB impact's length (-15% without it, -11..-14% with it)", field: func(c *Calibration) any { return &c.NetWorkPerLaunch }},
	{Name: "ec2-throttle-per-minute", Reason: "the operators' RunInstances throttle from throttle-and-restart-dwfm on",
		Fitted: "the pent-up demand released as a wave when the throttles are relaxed", field: func(c *Calibration) any { return &c.EC2ThrottlePerMinute }},
	{Name: "dwfm-throttle-per-minute", Reason: "the operators' DWFM intake throttle",
		Fitted: "every lease back 1h14 after the restarts (4:14-5:28); mocks/dwfm's own default is 1.5/min", field: func(c *Calibration) any { return &c.DWFMThrottlePerMinute }},
	{Name: "connectivity-grace", Reason: "how long a new instance may lack connectivity before the probe counts it (a measurement threshold)",
		field: func(c *Calibration) any { return &c.ConnectivityGrace }},
	{Name: "backlog-wait", Reason: "Network Manager head wait above which the backlog probe fails (a measurement threshold)",
		field: func(c *Calibration) any { return &c.BacklogWait }},
	{Name: "nlb-check-capacity", Reason: "checks per NLB node and interval: the ~155 targets plus a mass flap's re-checks fit, so a machine stall does not overload the checker",
		field: func(c *Calibration) any { return &c.NLBCheckCapacity }},
	{Name: "nlb-check-interval", Reason: "how often each NLB node checks each target (the stack's largest source of requests)",
		field: func(c *Calibration) any { return &c.NLBCheckInterval }},
	{Name: "nlb-check-workers", Reason: "concurrent NLB health-check requests (wall resources): 16 let checks queue until they failed on a loaded machine",
		field: func(c *Calibration) any { return &c.NLBCheckWorkers }},
	{Name: "lambda-restart-delay", Reason: "the operators' mean reaction delay from a wedged Lambda poller (30 min sustained, DynamoDB answering) to restart-lambda-pollers",
		Fitted: "DynamoDB recovered 02:40, Lambda's SQS pollers fixed by hand 04:40: 2 h less the 30-min sustain", field: func(c *Calibration) any { return &c.LambdaRestartDelay }},
	{Name: "sts-per-host-per-minute", Reason: "calls one healthy STS host admits per incident minute, counted per minute: mocks/sts's 50 a second rescaled by 1/3000 so the embedded backend carries the load on sockets at speed 20 (6 hosts: 6 a minute)",
		field: func(c *Calibration) any { return &c.STSPerHostPerMinute }},
	{Name: "lambda-invokes-per-minute", Reason: "invocations Lambda's fleet admits per incident minute at full capacity (a minute of burst): mocks/lambda's 50 a second rescaled by 1/500, the scale of STS's fleet",
		field: func(c *Calibration) any { return &c.LambdaInvokesPerMinute }},
	{Name: "sts-load-per-minute", Reason: "INPUT: the customer's steady AssumeRole calls per incident minute: 2/3 of STS's capacity (a fleet provisioned to lose one AZ of three), so it throttles with fewer than 4 of 6 hosts healthy (0: no load)",
		field: func(c *Calibration) any { return &c.STSLoadPerMinute }},
	{Name: "lambda-load-per-minute", Reason: "INPUT: the customer's steady Invoke calls per incident minute: 2/3 of Lambda's capacity, for the same reason (the replay's probe and poller add ~1/min) (0: no load)",
		field: func(c *Calibration) any { return &c.LambdaLoadPerMinute }},
	{Name: "min-wall-timeout", Reason: "wall-time floor of DWFM's DynamoDB calls and EC2's calls to DWFM: a loaded machine must not fail a lease renewal",
		field: func(c *Calibration) any { return &c.MinWallTimeout }},
}

// SettingNames lists the settings' names.
func SettingNames() []string {
	var out []string
	for _, s := range Settings {
		out = append(out, s.Name)
	}
	return out
}

// Value is the setting's value in c, as --set takes it.
func (s Setting) Value(c *Calibration) string {
	switch p := s.field(c).(type) {
	case *time.Duration:
		return p.String()
	case *int:
		return strconv.Itoa(*p)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	return "?"
}

// Set parses "NAME=VALUE" into c; its errors name the valid choices.
func (c *Calibration) Set(kv string) error {
	name, value, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("--set %q: want NAME=VALUE; names are %s", kv, strings.Join(SettingNames(), ", "))
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	i := slices.IndexFunc(Settings, func(s Setting) bool { return s.Name == name })
	if i < 0 {
		return fmt.Errorf("unknown setting %q: valid settings are %s", name, strings.Join(SettingNames(), ", "))
	}
	bad := func(want string) error {
		return fmt.Errorf("setting %s=%q: want %s (default %s)", name, value, want, Settings[i].Value(ptr(DefaultCalibration())))
	}
	switch p := Settings[i].field(c).(type) {
	case *time.Duration:
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return bad("a non-negative duration of incident time, such as 30m or 1h30m")
		}
		*p = d
	case *int:
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return bad("a non-negative integer")
		}
		*p = n
	case *uint64:
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return bad("a non-negative integer")
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 || f != f {
			return bad("a non-negative number")
		}
		*p = f
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// WriteSettings lists every setting: name, default, and why (FITTED and what
// to, for the values fitted to the real night).
func WriteSettings(w io.Writer) {
	def := DefaultCalibration()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDEFAULT\tWHY")
	for _, s := range Settings {
		why := s.Reason
		if s.Fitted != "" {
			why = "FITTED to " + s.Fitted + ": " + why
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Value(&def), why)
	}
	_ = tw.Flush()
}
