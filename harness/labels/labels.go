// Package labels is the one registry of Ginkgo labels used by cascade's
// suites: service, phase, variant and cost. A label not declared here is a
// bug, as in Kubernetes' frozen feature registry; TestLabelsAreDeclared walks
// the suites to enforce it.
package labels

// Services.
const (
	Route53    = "route53"
	DNSPlanner = "dns-planner"
	DNSEnactor = "dns-enactor"
	DynamoDB   = "dynamodb"
	DWFM       = "dwfm"
	EC2        = "ec2"
	NetMgr     = "netmgr"
	NLB        = "nlb"
	Harness    = "harness"
	// The downstream services (issue 14).
	Lambda = "lambda"
	SQS    = "sqs"
	STS    = "sts"
	ECS    = "ecs"
)

// Phases of the incident.
const (
	Trigger      = "trigger"
	Unresolvable = "unresolvable"
	LeasesExpire = "leases-expire"
	DNSRestored  = "dns-restored"
	Collapse     = "collapse"
	Throttle     = "throttle"
	Backlog      = "backlog"
	Flapping     = "flapping"
	FailoverOff  = "failover-off"
	FullRecovery = "full-recovery"
)

// Variants.
const (
	AsWas = "aswas"
	Fixed = "fixed"
)

// Cost and environment.
const (
	Smoke      = "smoke"
	Slow       = "slow"
	Nightly    = "nightly"
	Containers = "containers"
	// Randomized marks specs that draw their schedules from CASCADE_SEED.
	Randomized = "randomized"
)

// All lists every declared label.
var All = []string{
	Route53, DNSPlanner, DNSEnactor, DynamoDB, DWFM, EC2, NetMgr, NLB, Harness, Lambda, SQS, STS, ECS,
	Trigger, Unresolvable, LeasesExpire, DNSRestored, Collapse, Throttle, Backlog, Flapping, FailoverOff, FullRecovery,
	AsWas, Fixed,
	Smoke, Slow, Nightly, Containers, Randomized,
}
