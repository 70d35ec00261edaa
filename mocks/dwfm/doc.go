// Package dwfm is the DropletWorkflow Manager of one Availability Zone: it
// holds a lease on each droplet (physical host) of its fleet, renews each
// lease by a state check that reads and writes the droplet's lease item in a
// DynamoDB table, and re-establishes lost leases through a work queue served by
// a few workers at a bounded rate.
//
// The fleet is data, not goroutines: thousands of droplets cost a slice entry
// and a heap entry each. The mechanism lives in Core (pure, clock-driven, no
// I/O); Server performs Core's DynamoDB operations with the SDK through the
// mock DNS and serves the allocation API that EC2 calls.
//
//	checks (heap of due times) --renew--> DynamoDB ok?  lease extended
//	        | droplet unleased                no?        lease runs out (TTL)
//	        v
//	intake (operator throttle, fixed: admission by queue size)
//	        v
//	FIFO queue --dispatch (rate)--> worker: read lease, state sync, write lease
//	   ^                                      | done after its deadline: timed out
//	   +------ as-was: timed-out and failed work back at the tail
//
// As-was (October 2025): the queue is FIFO, timed-out and failed work is
// queued again at once, a worker still performs work whose deadline has
// passed, and every check of an unleased droplet enqueues another re-lease.
// When every lease is lost at once (a DynamoDB outage longer than the lease
// TTL), the backlog built during the outage outlives it: each item waits
// longer than its own timeout, so goodput stays near zero while DynamoDB is
// healthy again. Nothing here looks at DynamoDB's health: the collapse is what
// these rules do to a long queue. Fixed: admission by queue size (at most what
// the workers can finish within a work timeout at the service time they
// measure), expired work dropped before it is done, failed work retried after
// exponential backoff with full jitter.
//
// Every lease write a worker performs (a re-lease that succeeded, or, as-was,
// one written after its deadline) re-synchronises the droplet's network
// configuration: it owes NetWorkPerWrite "droplet-relet" items to Network
// Manager. Core counts what is owed (TakeNetWork, NetWorkDone: at most one
// post in flight, a refused remainder owed again after a doubling backoff);
// Server posts it with netmgr's client over its link to Network Manager
// (Config.NetMgrURL). The collapse's late writes and the restarts'
// re-leases are how the DWFM failure becomes Network Manager's backlog.
//
// The transport boots the host once its lease table answers (a slow start
// costs no lease); a host that finds its own lease items at boot is a
// restarted process and re-leases every droplet.
package dwfm
