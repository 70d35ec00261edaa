// Package nlb is cascade's Network Load Balancer: one node per Availability
// Zone, each health-checking every target and serving one A record of the
// NLB's DNS name (published in route53 through the SDK).
//
//	POST /admin/targets ---> Core: targets, per-node check queues (bounded capacity)
//	                           |  Ready.Checks              ^ Result
//	                           v                            |
//	                     check workers --GET--> netmgr /dataplane/{id}/health?node=AZ (over a link)
//	                           |
//	     Ready.Failovers/DNS --+--> Route53 UPSERT cascade-nlb.elb...: one A value per AZ in DNS
//	GET / on the listener --> Core.Route (AZ in DNS, healthy target) --> netmgr data plane
//
// Targets come from EC2 like an auto-scaling group's target-group
// attachment: with EC2API set, the NLB polls DescribeInstances (through
// aws-sdk-go-v2) for running instances tagged
// cascade:target-group=<TargetGroup> and registers them in their AZ (by
// AvailabilityZoneId). POST /admin/targets {"targets":[{"id","az"}]}
// registers targets by hand as well. A check passes only once the target's network
// state has reached the checking node, so while Network Manager is behind,
// the three nodes disagree; their results interleave (with jitter) into one
// run per target, and the target flaps between healthy and unhealthy. Each
// flap queues re-checks on every node, whose capacity per interval is
// bounded: checks that wait longer than CheckTimeout fail, so flapping
// loads the checker. When the unhealthy share of an AZ's in-service
// targets crosses FailoverThreshold, the AZ's address leaves DNS; it comes
// back below RestoreThreshold.
//
// As-was: a target is in service from registration, and AZ failover removes
// any AZ but the last. Fixed (what AWS announced): velocity control caps the
// AZs removed within VelocityWindow at MaxRemovedFraction. PropagationGate
// (an option AWS did not announce, independent of the mode): a target
// enters service only once Network Manager reports it propagated. Operators can switch
// automatic failover off (every AZ back in DNS) and on again.
package nlb
