// Package ec2_test is the suite of EC2 launches on DWFM's droplet leases: an
// outage of DynamoDB longer than the lease TTL empties the fleet of leases,
// and as-was DWFM stays collapsed after DynamoDB returns until the operators
// throttle and restart it; fixed DWFM recovers by itself.
package ec2_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestEC2(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "EC2 and DWFM suite")
}

// speed is the replay speed: 1 incident minute = 33 ms of wall time.
const speed kit.Speed = 30

// The real night (incident-facts.md): DNS empty 23:48 -> restored 2:25;
// collapse 2:25 -> 4:14; every lease back 5:28.
const (
	outage          = 157 * time.Minute
	collapseWatched = 100 * time.Minute
)

// wall is how long an incident duration takes, with slack for a loaded machine.
func wall(d time.Duration) time.Duration { return 3*speed.ToWall(d) + 3*time.Second }

func untilIncident(s *stack, from time.Time, d time.Duration) {
	Eventually(func() time.Duration { return s.clock.Since(from) }).
		WithTimeout(wall(d)).WithPolling(10 * time.Millisecond).Should(BeNumerically(">=", d))
}

var _ = Describe("EC2 launches on DWFM leases", Label(labels.EC2, labels.DWFM), func() {
	Context("as-was", Ordered, Label(labels.AsWas), func() {
		var (
			s          *stack
			ctx        = context.Background()
			survivor   string
			outageAt   time.Time
			restoredAt time.Time
		)
		BeforeAll(func() {
			var err error
			s, err = startStack(ctx, kit.AsWas, speed)
			DeferCleanup(s.Close)
			Expect(err).NotTo(HaveOccurred())
		})

		It("places launches on leased droplets in the steady state", func() {
			Eventually(func() string {
				code, id := s.launch(ctx, s.client)
				survivor = id
				return code
			}).WithTimeout(5 * time.Second).Should(Equal("ok"))
			Eventually(func() string { return s.instanceState(ctx, survivor) }).WithTimeout(5 * time.Second).Should(Equal("running"))
			Expect(s.fleet().Held).To(Equal(s.fleet().Droplets))
		})

		It("fails launches with InsufficientInstanceCapacity once an outage outlives the lease TTL", Label(labels.LeasesExpire), func() {
			By("emptying the DynamoDB endpoint's record")
			Expect(s.setRecord(ctx, false)).To(Succeed())
			outageAt = s.clock.Now()
			Eventually(func() bool { return s.dynamoHealthy(ctx) }).WithTimeout(5 * time.Second).Should(BeFalse())

			By("waiting for launches to fail for lack of leased droplets")
			Eventually(func() string { code, _ := s.launch(ctx, s.client); return code }).
				WithTimeout(wall(dwfm.DefaultLeaseTTL + 2*dwfm.DefaultCheckPeriod)).WithPolling(20 * time.Millisecond).
				Should(Equal(ec2.CodeInsufficientCapacity))
			lost := s.clock.Since(outageAt)
			AddReportEntry("leases all lost after (incident)", lost.Round(time.Minute).String())
			Expect(lost).To(BeNumerically(">=", dwfm.DefaultLeaseTTL), "launches failed before any lease could run out")
			Expect(s.fleet().Held).To(BeZero())

			By("checking that the instance launched before the outage still runs")
			Expect(s.instanceState(ctx, survivor)).To(Equal("running"))
		})

		It("stays collapsed after DNS is restored, while DynamoDB is healthy", Label(labels.DNSRestored, labels.Collapse), func() {
			By("letting the outage last as long as the real one")
			untilIncident(s, outageAt, outage)
			By("restoring the record")
			Expect(s.setRecord(ctx, true)).To(Succeed())
			restoredAt = s.clock.Now()
			Eventually(func() bool { return s.dynamoHealthy(ctx) }).WithTimeout(5 * time.Second).Should(BeTrue())

			By("watching leases, goodput and launches while DynamoDB answers")
			var probes, healthy int
			Consistently(func(g Gomega) {
				f := s.fleet()
				g.Expect(f.Held).To(BeNumerically("<=", f.Droplets/10), "leases came back: %+v", f)
				probes++
				if s.dynamoHealthy(ctx) {
					healthy++
				}
			}).WithTimeout(speed.ToWall(collapseWatched)).WithPolling(50 * time.Millisecond).Should(Succeed())
			// one probe may meet a connection the server is closing for age
			Expect(float64(healthy)/float64(probes)).To(BeNumerically(">=", 0.9), "DynamoDB was not healthy during the collapse")
			f := s.fleet()
			Expect(f.Goodput).To(BeNumerically("<", 0.5))
			Expect(f.Queue).To(BeNumerically(">", f.Droplets), "the backlog should outgrow the fleet")
			code, _ := s.launch(ctx, s.client)
			Expect(code).To(Equal(ec2.CodeInsufficientCapacity))
			AddReportEntry("collapsed after restore (incident)", s.clock.Since(restoredAt).Round(time.Minute).String())
			AddReportEntry("fleet while collapsed", f)
		})

		It("recovers once the operators throttle intake and restart the hosts, with RequestLimitExceeded on the way", Label(labels.Throttle, labels.FullRecovery), func() {
			untilIncident(s, restoredAt, dwfm.OperatorActionDelay)
			By("throttling EC2 launches and DWFM intake, then restarting every DWFM host")
			s.ec2.SetThrottle(1, 1)
			DeferCleanup(func() { s.ec2.SetThrottle(0, 0) })
			for _, h := range s.hosts {
				h.SetThrottle(dwfm.OperatorThrottlePerMinute)
				h.Restart()
			}
			actedAt := s.clock.Now()

			By("probing launches until every droplet holds a lease again")
			outcomes := map[string]int{}
			Eventually(func() int {
				code, _ := s.launch(ctx, s.client)
				outcomes[code]++
				return s.fleet().Held
			}).WithTimeout(wall(4 * time.Hour)).WithPolling(10 * time.Millisecond).Should(Equal(s.fleet().Droplets))
			back := s.clock.Since(actedAt)
			AddReportEntry("every lease back after throttle+restart (incident)", back.Round(time.Minute).String())
			AddReportEntry("launch outcomes during recovery", outcomes)
			Expect(outcomes).To(HaveKey(ec2.CodeRequestLimitExceeded))
			Expect(outcomes).To(HaveKey("ok"))
		})
	})

	Context("fixed", Ordered, Label(labels.Fixed), func() {
		var (
			s   *stack
			ctx = context.Background()
		)
		BeforeAll(func() {
			var err error
			s, err = startStack(ctx, kit.Fixed, speed)
			DeferCleanup(s.Close)
			Expect(err).NotTo(HaveOccurred())
		})

		It("recovers every lease by itself within the bound after DNS is restored", Label(labels.Collapse, labels.FullRecovery), func() {
			Eventually(func() string { code, _ := s.launch(ctx, s.client); return code }).WithTimeout(5 * time.Second).Should(Equal("ok"))
			By("emptying the record for as long as the real outage")
			Expect(s.setRecord(ctx, false)).To(Succeed())
			outageAt := s.clock.Now()
			untilIncident(s, outageAt, outage)
			Expect(s.fleet().Held).To(BeZero(), "the outage should have cost every lease")
			code, _ := s.launch(ctx, s.client)
			Expect(code).To(Equal(ec2.CodeInsufficientCapacity))

			By("restoring it and waiting, with no operator action")
			Expect(s.setRecord(ctx, true)).To(Succeed())
			restoredAt := s.clock.Now()
			Eventually(func() int { return s.fleet().Held }).
				WithTimeout(wall(dwfm.FixedRecoveryBound + time.Hour)).WithPolling(10 * time.Millisecond).Should(Equal(s.fleet().Droplets))
			back := s.clock.Since(restoredAt)
			AddReportEntry("fixed: every lease back after restore (incident)", back.Round(time.Minute).String())
			// The core's bound (dwfm.FixedRecoveryBound, worst of 40 seeds on a fake
			// clock: 34 min) plus slack for a starved process on a shared machine,
			// where incident time runs on while the hosts' loops wait for a CPU;
			// as-was is still collapsed at twice this (the spec above).
			Expect(back).To(BeNumerically("<=", dwfm.FixedRecoveryBound+time.Hour))
			Eventually(func() string { code, _ := s.launch(ctx, s.client); return code }).WithTimeout(5 * time.Second).Should(Equal("ok"))
		})
	})
})
