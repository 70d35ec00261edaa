// Package sim is the deterministic simulation backend's kernel: a
// discrete-event scheduler on a virtual incident clock, one seeded random
// source for everything in a run, and a simulated network between the
// services. The services are the mocks' own cores (route53's Store, the
// planner's and the Enactors' cores), driven by the same code their
// transports run; the sim replaces only the transports.
//
//	Sim: one goroutine of control
//	┌──────────────────────────────────────────────────────────────┐
//	│ event queue ordered by (incident time, seeded tie-break, seq)│
//	│   pop ─▶ advance the virtual clock ─▶ run the event          │
//	└──────────┬───────────────────────────────────┬───────────────┘
//	           │ resume                             │ deliver
//	           ▼                                    ▼
//	Proc (a service's loop, a coroutine)     Network: link latency, jitter,
//	  core code ... store.Change(...) ─────▶ loss, partitions, resets; the
//	  parks until its reply event fires      server's FIFO service time;
//	                                         the handler runs the core
//
// A Proc is a coroutine (iter.Pull), not a free-running goroutine: it runs
// only when the scheduler resumes it and gives control back whenever it
// waits (a network call, a sleep, a failpoint), so the order of everything
// is decided by the event queue alone. Events at the same instant are
// ordered by a key drawn from the run's random source, so a seed fixes one
// interleaving and another seed explores another.
//
// The DNS race (race.go) is the first world built on it: route53's Store,
// the planner core with its load balancers' health checks as sim calls, and
// the three Enactor cores.
package sim
