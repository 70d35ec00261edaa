// Package nlb_test is the suite of the NLB's health checks during Network
// Manager's backlog: as-was, new instances enter service before their
// network state propagated, their checks flap, and automatic AZ DNS failover
// removes more capacity than a velocity limit would allow until operators
// disable it; fixed, no instance enters service before propagation and
// capacity removal stays under the limit. With CASCADE_BACKEND=sim the same
// specs run on harness/sim's Stack (sim_test.go), where the seed alone
// decides the run.
package nlb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestNLB(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "NLB and Network Manager suite")
}

// speed is the replay speed: 30 incident minutes per wall second.
const speed kit.Speed = 30

// velocityLimit is the share of AZs the fixed NLB may remove per window.
const velocityLimit = 0.34

// wall is how long waiting for an incident time may take, with slack for a
// loaded machine.
func wall(f *fixture, t time.Time) time.Duration {
	return 3*speed.ToWall(f.clock.Until(t)) + 5*time.Second
}

func untilIncident(f *fixture, t time.Time) {
	if f.sim != nil {
		f.sim.RunUntil(t)
		return
	}
	Eventually(func() time.Time { return f.clock.Now() }).WithTimeout(wall(f, t)).WithPolling(20 * time.Millisecond).
		Should(BeTemporally(">=", t))
}

var _ = Describe("NLB health checks during a Network Manager backlog", Label(labels.NLB, labels.NetMgr, labels.Backlog, labels.Flapping), func() {
	ctx := context.Background()

	Context("as-was", Ordered, Label(labels.AsWas), func() {
		var f *fixture
		BeforeAll(func() {
			var err error
			f, err = startFixture(ctx, false)
			DeferCleanup(f.Close)
			Expect(err).NotTo(HaveOccurred())
		})

		It("launches new instances without connectivity while the backlog drains", func() {
			By("waiting for the first launches after DWFM's recovery (5:28)")
			f.await(at(5, 45), func(g Gomega) { g.Expect(len(f.Launched())).To(BeNumerically(">=", 3)) })
			st, err := f.queue(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.HeadWait).To(BeNumerically(">", 20*time.Minute), "Network Manager's backlog should delay propagation")
			inst, err := f.instance(ctx, f.Launched()[0])
			Expect(err).NotTo(HaveOccurred())
			Expect(inst.Propagated).To(BeFalse())

			By("seeing the NLB put them in service anyway")
			state, err := f.state(ctx, true)
			Expect(err).NotTo(HaveOccurred())
			Expect(state.InService).To(Equal(oldPerAZ*len(zones) + len(f.Launched())))
		})

		It("flaps the new targets' health checks as their state reaches one node after another", func() {
			f.await(at(8, 0), func(g Gomega) {
				st, _ := f.state(ctx, false)
				g.Expect(st.Flaps).To(BeNumerically(">", 4*launches))
			})
			By("sending requests through the NLB: some reach targets their node cannot reach")
			f.await(at(9, 0), func(g Gomega) { _, failed := f.Requests(); g.Expect(failed).To(BeNumerically(">", 0)) })
		})

		It("removes more capacity by AZ failover than the velocity limit would allow", func() {
			f.await(at(9, 0), func(g Gomega) {
				st, _ := f.state(ctx, false)
				g.Expect(st.MaxRemovedPerWindow).To(BeNumerically(">", velocityLimit))
			})
			By("seeing Route53 accept the NLB's record without the removed AZs' addresses")
			f.await(at(9, 30), func(g Gomega) {
				fewest, failed := f.FewestAZsPublished()
				g.Expect(fewest).To(BeNumerically("<", len(zones)), "%d NLB record writes failed", failed)
			})
		})

		It("stops removing capacity once operators disable automatic failover", Label(labels.FailoverOff), func() {
			By("disabling automatic failover")
			Expect(f.disableFailover(ctx)).To(Succeed())
			st, err := f.state(ctx, false)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.AZsInDNS).To(HaveLen(3))
			removals := st.Removals
			// 10 incident minutes: 5 s of wall time on the other backends (wall's slack)
			f.await(f.clock.Now().Add(10*time.Minute), func(g Gomega) {
				v, err := f.RecordValues(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(v).To(HaveLen(3))
			})

			By("watching an hour of incident time")
			f.consistently(time.Hour, func(g Gomega) {
				st, _ := f.state(ctx, false)
				g.Expect(st.Removals).To(Equal(removals))
			})
			reportFigures(ctx, f)
		})
	})

	Context("fixed", Ordered, Label(labels.Fixed), func() {
		var f *fixture
		BeforeAll(func() {
			var err error
			f, err = startFixture(ctx, true)
			DeferCleanup(f.Close)
			Expect(err).NotTo(HaveOccurred())
		})

		It("keeps propagation latency bounded by refusing bulk work when the queue is long", func() {
			untilIncident(f, at(6, 30))
			st, err := f.queue(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Rejected).To(BeNumerically(">", 0))
			Expect(st.Depth).To(BeNumerically("<=", 620))
			Expect(st.HeadWait).To(BeNumerically("<", 10*time.Minute))
		})

		It("puts no instance in service before its network state propagated", func() {
			untilIncident(f, at(8, 30))
			Expect(f.Launched()).To(HaveLen(launches))
			state, err := f.state(ctx, true)
			Expect(err).NotTo(HaveOccurred())
			for _, tg := range state.Targets {
				if !tg.InService {
					continue
				}
				inst, err := f.instance(ctx, tg.ID)
				Expect(err).NotTo(HaveOccurred())
				Expect(inst.Propagated).To(BeTrue(), tg.ID)
				Expect(tg.InServiceAt.Before(*inst.PropagatedAt)).To(BeFalse(), "%s in service at %v, propagated at %v", tg.ID, tg.InServiceAt, inst.PropagatedAt)
			}
		})

		It("keeps capacity removal under the velocity limit", func() {
			st, err := f.state(ctx, false)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.MaxRemovedPerWindow).To(BeNumerically("<=", velocityLimit))
			Expect(st.HealthyCapacity).To(Equal(oldPerAZ*len(zones) + launches))
			sent, failed := f.Requests()
			Expect(sent).To(BeNumerically(">", 300))
			Expect(failed).To(BeZero(), "requests through the NLB failed")
			reportFigures(ctx, f)
		})
	})
})

// reportFigures attaches the run's figures to the spec report.
func reportFigures(ctx context.Context, f *fixture) {
	st, _ := f.state(ctx, false)
	q, _ := f.queue(ctx)
	sent, failed := f.Requests()
	AddReportEntry("figures", fmt.Sprintf("at %s: flaps %d, AZ removals %d (max removed per window %.2f, max out at once %.2f), late checks %d, dns changes %d; requests %d failed %d; netmgr admitted %d rejected %d depth %d",
		f.clock.Now().In(pdt).Format("15:04"), st.Flaps, st.Removals, st.MaxRemovedPerWindow, st.MaxCapacityRemoved, st.LateChecks, st.DNSChanges,
		sent, failed, q.Admitted, q.Rejected, q.Depth))
}
