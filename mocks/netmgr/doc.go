// Package netmgr is cascade's Network Manager: it propagates each instance's
// network state to the locations that must know it (the NLB's health-checker
// nodes, one per Availability Zone) at a bounded rate through one FIFO work
// queue. Until an instance's state has reached a location, that location
// cannot reach the instance; until it has reached every location, the
// instance has no connectivity.
//
//	POST /v1/instances {"instanceId","az"} --+
//	DELETE /v1/instances/{id} (terminate) ---+--> admission --> FIFO queue --> worker (Rate/min)
//	POST /v1/work {"kind","count"} ----------+      (fixed:        |   ^            |
//	                                                  queue size)  |   +-- next hop-+ (instance: one
//	                                                               v                   location per pass)
//	GET /dataplane/{id}/health?node=N  <-- 200 once the state reached N, else 503
//
// Propagation fans out one location at a time: an instance's work item
// reaches one location (in an order drawn per instance), then re-enters the
// queue at its tail for the next location. With a long queue the hops are far
// apart, so for a long while some checker nodes can reach a new instance and
// others cannot: that is what makes NLB health checks alternate.
//
// Where the backlog comes from: work arrives from the rest of the stack, not
// from the experiment. EC2 hands every new instance over with
// POST /v1/instances and every termination with DELETE /v1/instances/{id};
// every DWFM host posts the network re-configuration each lease write of its
// workers needs with POST /v1/work {"kind":"droplet-relet","count":N}
// (mocks/dwfm, over the dwfm-x -> netmgr link).
// During the DWFM collapse that re-lease work is retried and re-posted, and
// the launch/terminate churn of the recovery adds more: the queue builds.
//
// As-was, everything is admitted, so propagation latency grows with the
// backlog. Fixed (what AWS announced), admission is by the size of the
// waiting queue: bulk work (POST /v1/work, terminations) is admitted only
// while the queue is below QueueLimit and otherwise rejected with 429
// ThrottlingException (Client.PostWork retries it with backoff), so a new
// instance never waits behind more than QueueLimit items per hop.
package netmgr
