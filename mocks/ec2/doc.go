// Package ec2 is the EC2 launch API of the stack: the Query API subset
// (RunInstances, DescribeInstances, TerminateInstances; form-encoded
// requests, XML responses, version 2016-11-15) that aws-sdk-go-v2's
// service/ec2 client calls.
//
// A launch is placed only on a droplet of the requested Availability Zone
// that holds a valid lease: EC2 asks that zone's DWFM host for one over HTTP.
// None -> InsufficientInstanceCapacity. RunInstances passes a token bucket
// first (the operators' throttle, or a failpoint) -> RequestLimitExceeded
// (HTTP 503, which the SDK's retryer retries as throttling). Each new
// instance's network state is handed to Network Manager; an instance reports
// running with or without connectivity, and EC2 polls Network Manager for
// whether its state has propagated (GET /admin/instances shows it).
//
// Core is the mechanism (pure, clock driven): instances, filters, paging,
// the throttle, placement and the hand-off. Its work with peers leaves it as
// data and the answers come back in:
//
//	RunInstances ─> StartRun ─> Placing.Next ──ask zone's DWFM──> Placing.Answer ─┐
//	                               ^──────────────────────────────────────────────┘
//	                            Place ─> reservation, or InsufficientInstanceCapacity
//	handoff loop ─> NetRound ──register / poll / delete──> Network Manager
//	                NetRoundDone ─> connected instances; TakeSetup ──post──> SetupDone
//
// Server decodes the Query API, performs those calls (dwfmclient,
// netmgrclient), renders XML, and maps errors to EC2's error shape in one
// place.
package ec2
