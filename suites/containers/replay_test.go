package containers_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	use1 "github.com/cascade-lab/cascade/experiments/use1-2025-10"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/labels"
)

// The incident replay (issue 7, item 4) on the containers backend: the
// same experiment as suites/incident, every service in its own container,
// the DWFM restarts real container restarts. It runs at the speed the
// backend suggests (containers.ReplaySpeed), not the embedded 20: a
// container restart takes seconds of wall time on a loaded engine, and
// every wall second is that many incident minutes the host is away.
// restartBudget is how long, in incident time, a DWFM host may be away
// for its container restart while the verdicts of the phases after the
// restarts are still asserted: 30 incident minutes, 5 s of wall time at
// speed 6 (an unloaded engine restarts a mockaws container in 1-3 s). A
// loaded engine took 21 s (2h06 of incident time), which alone decides
// "every lease back within 2 h of the restart" and the backlog after it:
// then those hypotheses are reported with the restart times, not asserted.
// The phases before the restarts are asserted on every run.
const restartBudget = 30 * time.Minute

// afterRestarts are the phases whose timing the restarts' away time sets.
var afterRestarts = map[string]bool{use1.PhaseThrottle: true, use1.PhaseDWFMRecovery: true, use1.PhaseNLBImpact: true,
	use1.PhaseBacklog: true, use1.PhaseNoConnectivity: true, use1.PhaseFailoverOff: true, use1.PhaseFullRecovery: true}

var _ = Describe("Incident replay on containers", Label(labels.Containers, labels.Slow, labels.AsWas), Serial, func() {
	It("holds every mechanism hypothesis of the as-was replay (those after the restarts when the engine restarts within budget), with the phases of the real night in their order, and reports its fidelity", func(ctx SpecContext) {
		requireDocker()
		began := time.Now()
		res, err := use1.Run(ctx, use1.Config{Variant: "aswas", Backend: containers.Name, Speed: containers.ReplaySpeed, Seed: 1})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("wall time", fmt.Sprintf("%v (replay %.1f s, stack start %.1f s)", time.Since(began).Round(time.Second), res.Wall.Seconds, res.Wall.StartupSeconds))
		AddReportEntry("machine", res.StallNote())
		var table strings.Builder
		for _, f := range res.Fidelity {
			fmt.Fprintf(&table, "%-22s %8v vs %8v  %+.0f%%\n", f.Phase, f.ReplayDuration.Round(time.Minute), f.RealDuration, f.ErrorPct)
		}
		AddReportEntry("fidelity", table.String())
		// What the engine cost the replay in incident time, and what the
		// operators did: the first things to read when DWFM recovers late.
		var away, steps strings.Builder
		var restarts int
		var longestAway time.Duration
		for _, ev := range res.Timeline.Events {
			if strings.HasPrefix(ev.Kind, "container-restart") || ev.Kind == "host-booted" || ev.Kind == "clock-late" {
				fmt.Fprintf(&away, "%s %s %s %v\n", ev.Time.In(use1.Zone()).Format("15:04"), ev.Service, ev.Kind, ev.Fields)
			}
			if ev.Kind == "container-restarted" {
				restarts++
				d, err := time.ParseDuration(fmt.Sprint(ev.Fields["incident"]))
				Expect(err).NotTo(HaveOccurred(), "a restart's incident time away")
				longestAway = max(longestAway, d)
			}
		}
		Expect(restarts).To(BeNumerically(">=", 3), "the operators restarted every DWFM host's container")
		afterAsserted := longestAway <= restartBudget
		for _, d := range res.Operator {
			if d.Taken {
				fmt.Fprintf(&steps, "%s %s (%s, seen %s, delay %s)\n", d.FiredAt.In(use1.Zone()).Format("15:04"), d.Action, d.Signal,
					d.SeenAt.In(use1.Zone()).Format("15:04"), d.Delay)
			}
		}
		AddReportEntry("trigger", strings.Join(res.Trigger.Log, "\n"))
		AddReportEntry("restarts", away.String())
		AddReportEntry("operator steps taken", steps.String())

		var failed []string
		for _, h := range res.Hypotheses {
			switch {
			case h.Boundary != "" && !h.Passed:
				// Fidelity is scored on the embedded backend (suites/incident):
				// here restarts are real containers taking seconds of wall
				// time, incident minutes at speed 6, so boundaries are
				// reported, and the mechanisms' hypotheses asserted.
				AddReportEntry("fidelity "+h.ID, fmt.Sprintf("%s (known miss: %q)", h.Reason, h.KnownMiss))
			case !h.Passed && (afterRestarts[h.Phase] || h.ID == use1.HOrder) && !afterAsserted:
				// The phase-order hypothesis places the phases after the
				// restarts too: asserted with them, as CheckOrder below (CI
				// at 89 % CPU pressure: restarts away 1h27 and an NLB flap
				// at 00:34 put nlb-impact before lease-loss).
				AddReportEntry("not asserted "+h.ID, fmt.Sprintf("a restart was away %v of incident time (budget %v): %s", longestAway, restartBudget, h.Reason))
			case !h.Passed:
				failed = append(failed, fmt.Sprintf("[%s] %s: %s", h.Phase, h.Name, h.Reason))
			}
		}
		Expect(failed).To(BeEmpty(), "every hypothesis of the mechanisms holds")
		ok, why := use1.CheckOrder(res.Phases)
		if afterAsserted {
			Expect(ok).To(BeTrue(), why)
		} else if !ok {
			AddReportEntry("order not asserted", fmt.Sprintf("a restart was away %v of incident time (budget %v): %s", longestAway, restartBudget, why))
		}
		Expect(res.Warnings).To(BeEmpty(), "the stack closed and every fault was reverted")
	}, SpecTimeout(6*time.Minute))
})
