// Package use1 is the replay of the us-east-1 outage of 19-20 October 2025
// as an experiment: a steady state (probes that hold before the trigger), a
// method (the DNS Enactor delay that lets the race empty the regional record,
// then the operators' actions at their real incident times), hypotheses per
// phase, and rollbacks (every fault and action goes through a faults.Ledger
// and is reverted when the run ends, fails or panics).
//
//	23:30 steady state ........ probes hold, the customer fleet is launched
//	23:42 enactor-a delayed ... failpoint pause on dnsenactor-a/before-apply-endpoint
//	      (engaged: its waiting count on A's admin API), released once B
//	      applied a generation K+1 newer and is held at its before-cleanup
//	      failpoint with no third Enactor applying: A's stale apply lands,
//	      then B's clean-up deletes the plan A just applied
//	02:25 restore-dns ......... the regional (and dual-stack) record repaired by hand
//	04:14 throttle + restart .. EC2 and DWFM intake throttled, every DWFM host restarted
//	09:36 disable-nlb-failover
//	11:23 throttles relaxed
//	14:09 NLB failover re-enabled
//
// Nothing in the method empties DNS, expires a lease, fills a queue or flaps
// a target: those come out of the mechanisms (mocks/...). Network Manager's
// backlog is the work DWFM's lease writes post to it themselves, and the
// afternoon's flapping comes from the launch wave the relaxed throttles let
// through (the customer's pent-up morning demand, workload.go): new targets
// in service before their state has propagated. Each operator
// action has the precondition an operator would check (restore DNS only when
// it is broken, restart DWFM only when it is collapsed), so the fixed variant
// runs the same method and the actions it does not need are skipped.
//
// Run returns a Result (verdict, hypotheses, phases, fidelity rows, the
// timeline snapshot) that serialises to JSON; Compare runs a variant per
// mitigation and renders the mitigation table.
package use1
