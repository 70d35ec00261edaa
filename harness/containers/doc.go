// Package containers is cascade's containers backend: one container per
// service on a private Docker network, started by testcontainers-go from
// locally built FROM scratch images (nothing is pulled; see engine).
//
//	           user-defined bridge network cascade-<run> (10.x.y.0/24, fixed IPs)
//	host ──────┬───────────────┬──────────────┬──────────────┬─────────────
//	(probes)   │ route53 .2    │ dynamodb .3  │ toxiproxy .4 │ ddb-lb-a/b/c .11-.13
//	           │ DNS :53       │ :8000        │ <from>__<to> │ toxiproxy :8000 -> dynamodb:8000
//	           │ API :8080     │              │ links        │
//	           dnsplanner, dnsenactor-a/b/c, dwfm-a/b/c, ec2, netmgr, nlb (admin :9090 each)
//
// The host reaches every container by its IP (a user-defined bridge is
// routed from the Linux host), so the probes resolve the DynamoDB endpoint
// through the mock DNS and connect to the load balancer IP the answer
// holds, exactly as a service inside the network does. No port is
// published, except the reaper's one port on 127.0.0.1. Every container and
// the network carry the cascade.run and cascade.owner labels. Each run
// starts its reaper first (package reaper: `mockaws reaper`, our own
// Ryuk, since testcontainers' cannot be pulled and is off): it removes the
// run CASCADE_REAPER_GRACE (10 s) after the owning process is gone. A
// run's start and `cascade clean` reap what dead processes left, as the
// second line (docs/cleanup.md).
//
// Service restarts and pauses are container restarts and pauses. Each
// container's JSON event lines (stdout) reach the stack's event stream
// through testcontainers' log consumers.
//
// Containers start in two waves: the proxies, DNS and DynamoDB; then, once
// the load balancers' and links' proxies exist, every other service in
// parallel. Start returns when every admin API answers and the regional
// endpoint resolves (harness.WaitReady), as the embedded backend does.
// harness.WithTune hooks are applied to each service's Config, built as the
// embedded backend builds it, and the fields they change become cmd/mockaws
// flags (a field without a flag is an error, never silently dropped).
//
// The package registers the backends "containers" (Start) and "compose"
// (AttachCompose: a stack started from compose/docker-compose.yml for a
// game-day, found by its compose project label: CASCADE_COMPOSE_PROJECT,
// default "cascade") with harness.RegisterBackend; import it for its side
// effect:
//
//	import _ "github.com/cascade-lab/cascade/harness/containers"
package containers
