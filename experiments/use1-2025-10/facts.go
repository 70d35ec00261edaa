package use1

import (
	"time"
)

// pdt is the incident's reference zone; the public summary gives times in PDT.
var pdt = time.FixedZone("PDT", -7*3600)

// at returns the incident time of a PDT wall-clock reading on 19 or 20
// October 2025 (hours before noon on the 19th's evening are the 20th).
func at(day, hour, minute int) time.Time {
	return time.Date(2025, 10, day, hour, minute, 0, 0, pdt)
}

// Real timeline of the outage (incident-facts.md), PDT.
var (
	RecordEmptied        = at(19, 23, 48) // regional endpoint's record empty
	CauseIdentified      = at(20, 0, 38)
	DNSRestoredByHand    = at(20, 2, 25) // DWFM starts re-establishing leases
	DynamoDBRecovered    = at(20, 2, 40)
	DWFMThrottleRestart  = at(20, 4, 14) // operators throttle intake and restart DWFM hosts
	AllLeasesBack        = at(20, 5, 28)
	NLBImpactBegins      = at(20, 5, 30)
	NetMgrLatencyRises   = at(20, 6, 21)
	NLBFailuresDetected  = at(20, 6, 52)
	NLBFailoverDisabled  = at(20, 9, 36)
	NetMgrBackToNormal   = at(20, 10, 36)
	EC2ThrottlesRelaxed  = at(20, 11, 23)
	EC2FullyNormal       = at(20, 13, 50)
	NLBFailoverReenabled = at(20, 14, 9)
	EventOver            = at(20, 14, 20)
)

// The replay's span: from 23:00 PDT (48 minutes before
// the record emptied) to 14:30 PDT, ten minutes after the event was over.
var (
	ReplayStart = at(19, 23, 0)
	ReplayEnd   = at(20, 14, 30)
)

// Phase names: the phases of the real timeline the replay must show, in
// their real order of onset.
const (
	PhaseTrigger        = "trigger"               // the race empties the regional record
	PhaseUnresolvable   = "dynamodb-unresolvable" // DynamoDB unreachable by name
	PhaseLeaseLoss      = "lease-loss"            // droplets lose their leases; launches fail
	PhaseDNSRestored    = "dns-restored"          // operators repair the record by hand
	PhaseCollapse       = "dwfm-collapse"         // DWFM makes no progress with DynamoDB healthy
	PhaseThrottle       = "throttle-restart"      // intake throttled, hosts restarted
	PhaseDWFMRecovery   = "dwfm-recovery"         // every lease back after the restarts
	PhaseNLBImpact      = "nlb-impact"            // health checks flap, capacity leaves DNS
	PhaseBacklog        = "netmgr-backlog"        // propagation latency high
	PhaseNoConnectivity = "no-connectivity"       // new instances without connectivity
	PhaseFailoverOff    = "failover-disabled"     // operators disable NLB failover
	PhaseFullRecovery   = "full-recovery"         // every component healthy again
)
