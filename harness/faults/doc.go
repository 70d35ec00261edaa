// Package faults injects faults into a running harness.Stack and undoes
// them: toxics on any link, failpoints by name, DNS edits, service
// stop/pause/restart, and the operator actions of the incident. A Fault is a
// small interface (Apply and Revert against a Stack); faults are registered
// by name with a constructor from key=value arguments, so the CLI can list
// and build them; probability lives in a wrapper (Maybe), not in each fault.
//
// Every fault goes through a Ledger, which records it as a timeline.Fault
// and reverts it when its spec ends, fails, panics or times out:
//
//	ledger := faults.NewLedger(stack, faults.WithTimeline(tl))
//	DeferCleanup(ledger.RevertAll)
//	undo, err := ledger.Apply(ctx, faults.Latency("ddb-lb-a", 300*time.Millisecond, 0))
//	Expect(err).NotTo(HaveOccurred())
//	DeferCleanup(undo)
//
// Sweep, at the start of a run, removes whatever an earlier run left
// behind (toxics, disabled links, failpoints) and reports it.
package faults
