// Package use1 is the replay of the us-east-1 outage of 19-20 October 2025
// as an experiment: a steady state (probes that hold before the trigger), a
// method (the DNS Enactor delay that lets the race empty the regional record,
// then an operator model that acts on what it observes), hypotheses per
// phase, and rollbacks (every fault and action goes through a faults.Ledger
// and is reverted when the run ends, fails or panics).
//
//	23:30 steady state ........ probes hold, the customer fleet is launched
//	23:40 enactor-a delayed ... failpoint pause on dnsenactor-a/before-apply-endpoint
//	      (engaged: its waiting count on A's admin API), released once B
//	      applied a generation K+1 newer and is held at its before-cleanup
//	      failpoint with no third Enactor applying: A's stale apply lands,
//	      then B's clean-up deletes the plan A just applied
//	then the operators (operator.go, Runbook): restore-dns, throttle and
//	restart DWFM, restart stuck hosts, disable NLB failover, relax the
//	throttles, re-enable failover, each when its signal has held for its
//	sustain time plus a reaction delay drawn from the seed (FITTED to the
//	real 02:25, 04:14, 09:36, 11:23, 14:09)
//
// Nothing in the method empties DNS, expires a lease, fills a queue or flaps
// a target: those come out of the mechanisms (mocks/...). Network Manager's
// backlog is the work DWFM's lease writes post to it themselves, and the
// afternoon's flapping comes from the launch wave the relaxed throttles let
// through (the customer's pent-up morning demand, workload.go): new targets
// in service before their state has propagated. No operator action has a
// clock time: a mitigation that removes a symptom removes the action it
// would have provoked (with enactor-cas nobody restores DNS).
//
// Run returns a Result (verdict, hypotheses, phases, fidelity rows, the
// timeline snapshot) that serialises to JSON; Compare runs a variant per
// mitigation and renders the mitigation table.
package use1
