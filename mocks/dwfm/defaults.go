package dwfm

import (
	"fmt"
	"time"
)

// Defaults of Config, chosen so that the cascade shows at replay speed (30
// incident minutes per wall second) with a few hundred DynamoDB requests per
// wall second across three hosts:
//
//   - checks: Droplets/CheckPeriod = 2 per minute per host, below the
//     workers' throughput Workers/StateSync = 2.5 per minute, so a host keeps
//     up with one re-lease per droplet;
//   - a full fleet takes Droplets*StateSync/Workers = 16 minutes to re-lease,
//     twice WorkTimeout: losing every lease at once is more work than fits
//     in one work timeout (the admission limit of fixed is 15 items);
//   - LeaseTTL survives two missed checks.
const (
	DefaultDroplets          = 40
	DefaultCheckPeriod       = 20 * time.Minute
	DefaultLeaseTTL          = 45 * time.Minute
	DefaultWorkTimeout       = 8 * time.Minute
	DefaultStateSync         = 2 * time.Minute
	DefaultWorkers           = 5
	DefaultDispatchPerMinute = 5
	DefaultBackoffBase       = time.Minute
	DefaultBackoffMax        = 16 * time.Minute
	// DefaultNetWorkPerWrite is how many Network Manager work items a lease
	// write owes when the host has a Network Manager (Config.NetMgrURL):
	// the droplet's network configuration pushed to every location of the
	// AZ's network (its instances' interfaces, routes and the NLB checker
	// nodes), a bulk job at Network Manager's item granularity. With 40 per
	// write, the as-was night's late writes and the restarts' re-leases
	// leave Network Manager (80 items/min) hours behind, the real 6:21-10:36.
	DefaultNetWorkPerWrite = 40
)

// DefaultCoreConfig is the core configuration of a host named owner with n
// droplets named <prefix>-0000...
func DefaultCoreConfig(owner, prefix string, n int) CoreConfig {
	return CoreConfig{
		Owner:             owner,
		Droplets:          DropletIDs(prefix, n),
		CheckPeriod:       DefaultCheckPeriod,
		LeaseTTL:          DefaultLeaseTTL,
		WorkTimeout:       DefaultWorkTimeout,
		StateSync:         DefaultStateSync,
		Workers:           DefaultWorkers,
		DispatchPerMinute: DefaultDispatchPerMinute,
		BackoffBase:       DefaultBackoffBase,
		BackoffMax:        DefaultBackoffMax,
	}
}

// DropletIDs names n droplets <prefix>-0000, <prefix>-0001, ...
func DropletIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return ids
}

// FixedRecoveryBound is the bound within which a fixed host, with the
// default parameters, holds every lease again after DynamoDB returns from an
// outage of any length: the fleet's re-lease time (Droplets*StateSync/Workers
// = 16 min) plus a check period for the last droplets to be found unleased,
// plus the backoff ceiling of work that failed just before the return.
const FixedRecoveryBound = 60 * time.Minute

// OperatorThrottlePerMinute is the intake throttle the runbook applies before
// restarting a host. With the default fleet, three hosts on a fake clock
// hold every lease again 72-101 minutes after throttle and restart
// (TestThreeHostNight, median 84; one host: 60-80), the real night's 74
// (4:14 -> 5:28). 2/min lands a little nearer but leaves less room below the
// workers' capacity: when a loaded machine adds tens of milliseconds to
// every DynamoDB call, a restarted host throttled at 2/min collapses again.
const OperatorThrottlePerMinute float64 = 1.5

// OperatorActionDelay is when the operators acted after DNS was restored in
// the real night (2:25 -> 4:14).
const OperatorActionDelay = 109 * time.Minute
