// Package incident_test replays the us-east-1 outage of 19-20 October 2025
// on the embedded stack, once as-was and once fixed, and asserts each phase
// of the real timeline on the replay's timeline: one spec per phase, in the
// incident's order. Each replay runs once in BeforeAll; the specs read its
// snapshot, so the suite costs two replays (about 47 s each, 95 s in all on
// a quiet 2-core machine). A nightly spec replays as-was once more with the
// same seed and compares verdict, hypotheses, phase order and every phase
// boundary and duration (within use1.DeterminismTolerance)
// (CASCADE_NIGHTLY=1).
//
//	go test ./suites/incident -ginkgo.label-filter='aswas && (trigger || collapse)'
package incident_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	use1 "github.com/cascade-lab/cascade/experiments/use1-2025-10"
	_ "github.com/cascade-lab/cascade/harness/embedded"
	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/harness/matchers"
	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/report/specreport"
	"github.com/cascade-lab/cascade/harness/timeline"
)

func TestIncident(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Incident replay suite")
}

// replayTimeout bounds one replay (about 50 s of wall time on two cores).
const replayTimeout = 3 * time.Minute

// replay runs one variant and attaches its reports to the spec.
func replay(ctx context.Context, variant string) *use1.Result {
	By(fmt.Sprintf("replaying the outage (%s) on the embedded stack", variant))
	cfg := use1.Config{Variant: variant, Seed: 1}
	res, err := use1.Run(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	opts := res.ReportOptions()
	specreport.Attach(res.Timeline, opts)
	var b strings.Builder
	res.WriteSummary(&b, false)
	AddReportEntry("replay "+variant, b.String())
	fmt.Fprint(GinkgoWriter, b.String())
	if dir := os.Getenv(report.DirEnv); dir != "" {
		_, _ = res.WriteReports(dir)
	}
	return res
}

// nightly reports whether nightly specs run: CASCADE_NIGHTLY set, or a label
// filter that names them.
func nightly() bool {
	return os.Getenv("CASCADE_NIGHTLY") != "" || strings.Contains(GinkgoLabelFilter(), labels.Nightly)
}

// hypothesis returns the verdict of the replay's hypothesis id (use1.H*).
func hypothesis(res *use1.Result, id string) use1.Hypothesis {
	for _, h := range res.Hypotheses {
		if h.ID == id {
			return h
		}
	}
	Fail(fmt.Sprintf("no hypothesis %q in the result", id))
	return use1.Hypothesis{}
}

// expectHeld asserts that hypothesis id held, with its reason on failure.
func expectHeld(res *use1.Result, id string) {
	GinkgoHelper()
	h := hypothesis(res, id)
	Expect(h.Passed).To(BeTrue(), "%s: %s", h.Name, h.Reason)
}

var _ = Describe("Incident replay, as it was in October 2025", Ordered, ContinueOnFailure, Label(labels.AsWas), func() {
	var (
		res  *use1.Result
		snap *timeline.Snapshot
	)
	BeforeAll(func(ctx SpecContext) {
		res = replay(ctx, "aswas")
		snap = res.Timeline
	}, NodeTimeout(replayTimeout))

	It("holds its steady state before the trigger", func() {
		expectHeld(res, use1.HSteadyState)
	})

	It("empties the regional record through the Enactor race, never by a DNS edit", Label(labels.Trigger, labels.DNSEnactor), func() {
		By("finding an empty answer after Enactor A was delayed and overtaken")
		Expect(res.Trigger.StaleGen).To(BeNumerically(">", 0), "A was delayed inside a run")
		Expect(res.Trigger.NewerGen).To(BeNumerically(">", res.Trigger.StaleGen+res.Calibration.KeepGenerations), "another Enactor applied a generation more than K newer")
		Expect(res.Trigger.ByDeadline).To(BeFalse(), "A was released because it was overtaken, not by the deadline")
		trig := use1.TriggerTime(snap)
		Expect(trig).NotTo(BeZero(), "the record never emptied")
		Expect(trig).To(BeTemporally(">=", res.Trigger.ReleasedAt), "the record emptied only after A's stale apply")
		Expect(trig).To(BeTemporally("<", use1.RecordEmptied.Add(30*time.Minute)))
		By("checking that only the Enactors' failpoints came before it and the automation could not repair it")
		expectHeld(res, use1.HRaceEmpties)
	})

	It("leaves DynamoDB unresolvable until DNS is restored by hand", Label(labels.Unresolvable, labels.DynamoDB), func() {
		Expect(snap).To(matchers.HaveSymptomBefore(use1.CompDynamoDB, use1.CompDWFM))
		Expect(snap).To(matchers.StayImpairedUntil(use1.CompDynamoDB, "restore-dns"))
	})

	It("lets droplet leases expire so launches fail with InsufficientInstanceCapacity", Label(labels.LeasesExpire, labels.DWFM, labels.EC2), func() {
		Expect(snap).To(matchers.SymptomOrder(use1.CompDynamoDB, use1.CompDWFM, use1.CompEC2))
		codes := map[string]int{}
		for _, s := range snap.Probe(timeline.ProbeEC2Launch) {
			codes[s.Code]++
		}
		Expect(codes).To(HaveKey("InsufficientInstanceCapacity"))
	})

	It("recovers DynamoDB within 30 min of the restore by hand", Label(labels.DNSRestored, labels.DynamoDB), func() {
		Expect(snap).To(matchers.RecoverWithin(use1.CompDynamoDB, use1.RestoreRecovery, "restore-dns"))
	})

	It("collapses DWFM: no forward progress while DynamoDB is healthy, until the operators act", Label(labels.Collapse, labels.DWFM), func() {
		Expect(snap).To(matchers.StayImpairedUntil(use1.CompDWFM, "restart-dwfm"))
		expectHeld(res, use1.HCollapse)
	})

	It("brings every lease back within 2 h of throttling and restarting DWFM", Label(labels.Throttle, labels.DWFM, labels.EC2), func() {
		Expect(snap).To(matchers.RecoverWithin(use1.CompDWFM, use1.RestartRecovery, "restart-dwfm"))
		expectHeld(res, use1.HRestartRecovers)
	})

	It("builds a Network Manager backlog that leaves new instances without connectivity", Label(labels.Backlog, labels.NetMgr), func() {
		Expect(snap).To(matchers.HaveSymptomBefore(use1.CompDWFM, use1.CompConnectivity))
		Expect(snap).To(matchers.HaveImpactWindow(use1.CompConnectivity, matchers.BetweenMinutes(use1.ConnectivityMin.Minutes(), use1.ConnectivityMax.Minutes())))
		expectHeld(res, use1.HBacklogHours)
	})

	It("flaps NLB health checks and removes capacity through automatic failover", Label(labels.Flapping, labels.NLB), func() {
		Expect(snap).To(matchers.HaveSymptomBefore(use1.CompDWFM, use1.CompNLB))
		Expect(res.NLB.Flaps).To(BeNumerically(">", 0))
		Expect(res.NLB.MaxCapacityRemoved).To(BeNumerically(">", 0.34), "more than one AZ's share left DNS at once")
	})

	It("places every emergent phase boundary within its stated tolerance of the real one, but for the known misses", Label(labels.FullRecovery), func() {
		n := 0
		for _, h := range res.Hypotheses {
			if strings.HasPrefix(h.ID, "fidelity:") {
				n++
				if h.KnownMiss != "" {
					// Reported, not asserted: use1.KnownMisses says why.
					AddReportEntry("known miss "+h.ID, fmt.Sprintf("held %v: %s (known: %s)", h.Passed, h.Reason, h.KnownMiss))
					continue
				}
				Expect(h.Passed).To(BeTrue(), "%s %s: %s", h.Phase, h.Boundary, h.Reason)
			}
		}
		Expect(n).To(BeNumerically(">", 0), "no fidelity hypothesis was evaluated")
	})

	It("recovers fully, with every phase of the real timeline present in the real order", Label(labels.FullRecovery), func() {
		expectHeld(res, use1.HFullRecovery)
		ok, why := use1.CheckOrder(res.Phases)
		Expect(ok).To(BeTrue(), why)
		Expect(res.Passed).To(BeTrue(), "every hypothesis of the experiment holds")
	})

	It("gives the same verdict, phase order, and phase boundaries and durations within DeterminismTolerance when replayed with the same seed", Label(labels.Nightly), func(ctx SpecContext) {
		if !nightly() {
			Skip("nightly (one more replay, about 47 s): set CASCADE_NIGHTLY=1 or -ginkgo.label-filter=nightly")
		}
		again := replay(ctx, "aswas")
		ok, why := use1.SameOutcome(res, again)
		Expect(ok).To(BeTrue(), why)
		AddReportEntry("determinism", fmt.Sprintf("seed %d twice: %s; phase order %v / %v", res.Seed, why, res.PhaseOrder, again.PhaseOrder))
	}, NodeTimeout(replayTimeout))
})

var _ = Describe("Incident replay with every protection on", Ordered, ContinueOnFailure, Label(labels.Fixed), func() {
	var (
		res  *use1.Result
		snap *timeline.Snapshot
	)
	BeforeAll(func(ctx SpecContext) {
		res = replay(ctx, "fixed")
		snap = res.Timeline
	}, NodeTimeout(replayTimeout))

	It("never empties the regional record under the same Enactor delay", Label(labels.Trigger, labels.DNSEnactor), func() {
		Expect(res.Trigger.StaleGen).To(BeNumerically(">", 0), "A was delayed inside a run")
		Expect(snap).To(matchers.NeverEmpty(timeline.ProbeDNSResolve))
		Expect(snap.Phase(use1.CompDynamoDB).Impacted()).To(BeFalse(), snap.Phase(use1.CompDynamoDB).String())
	})

	It("shows no cascade and needs no DNS or EC2 operator action", Label(labels.FullRecovery), func() {
		// The NLB is not asserted here: AWS announced velocity control, not a
		// change to when targets enter service (that is the
		// nlb-propagation-gate guard), so the fixed NLB may still flap.
		for _, c := range []string{use1.CompDWFM, use1.CompEC2, use1.CompConnectivity} {
			Expect(snap.Phase(c).Impacted()).To(BeFalse(), snap.Phase(c).String())
		}
		for _, d := range res.Operator {
			Expect(d.Action).To(BeElementOf("disable-nlb-failover", "enable-nlb-failover"), "operator action %s provoked by %q", d.Action, d.Signal)
		}
		expectHeld(res, use1.HNoCascade)
		Expect(res.Passed).To(BeTrue())
	})
})
