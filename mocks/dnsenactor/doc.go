// Package dnsenactor is DynamoDB's DNS Enactor: three independent copies
// (a, b, c, one per AZ) that each find the newest complete plan generation in
// Route53, apply it endpoint by endpoint with Route53 transactions, and then
// clean up generations many generations older than the one they applied.
//
// The core (core.go) is the run's mechanism; it reaches Route53 only through
// the IO interface, which the server implements over aws-sdk-go-v2. Modes:
//
//	aswas  one staleness check at the start of a run; per endpoint the current
//	       CNAME is read only to build the exact DELETE; clean-up deletes every
//	       generation more than K older than the one applied, referenced or not;
//	       Enactors cleaning up the same generation collide and retry.
//	fixed  each endpoint's apply is a compare-and-swap on the plan generation
//	       (skip when the endpoint is already on a generation >= the run's),
//	       guarded by the generation's marker (DELETE and CREATE of the marker
//	       in the same transaction); an unclaimed endpoint outside the plans'
//	       zone (a brand-new dual-stack endpoint) is applied under a pin, a
//	       claim written in the plans' zone with the marker's guard; clean-up
//	       deletes the marker first, checks claims again, and never deletes a
//	       generation that any endpoint still claims.
//
// The start-of-run search for the newest generation gallops and bisects
// (dnsplan.FindNewestComplete), so a slow Enactor still finishes it while the
// planner writes generations faster than one List per generation.
//
// With aswas, a slow Enactor A that applies generation M over B's newer N
// just before B's clean-up deletes M leaves the endpoint's CNAME dangling and
// its claim gone; every later transaction of every Enactor for that endpoint
// then fails with InvalidChangeBatch, until an operator restores the endpoint
// (dnsplan.RestoreEndpoint).
package dnsenactor
