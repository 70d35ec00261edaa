// Package dnsplanner is DynamoDB's DNS Planner: it health-checks the
// DynamoDB load balancers (ddb-lb-a/b/c, plain HTTP GET /), weighs them by
// health and measured latency (slow: lower weight; dead: out of the plan),
// and writes a new plan generation to Route53 on a period and whenever the
// weights change. A generation is written in batches and its marker last, so
// the Enactors only ever consider complete generations.
//
// The regional and dual-stack endpoints share one regional plan; FIPS, each
// account-specific endpoint and each synthetic endpoint have their own.
package dnsplanner
