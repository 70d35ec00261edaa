// Package harness_test is the suite of the harness itself, on whichever
// backend CASCADE_BACKEND names (embedded by default): the stack starts,
// holds its steady state under the probes, reacts to faults the way the
// incident needs (a slow load balancer moves the plan weights in real DNS;
// an emptied regional record fails resolution with "no such host" until
// restored by hand), and every fault is reverted.
package harness_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/backends"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/harness/matchers"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/report/specreport"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

func TestHarness(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Harness Suite")
}

// probePeriod is the probes' period in incident time: one incident minute is
// 33 wall milliseconds at the default speed.
const probePeriod = time.Minute

// startTimeout bounds the stack's start: ~50 ms embedded, ~7 s on containers
// with the images present, longer when the containers backend rebuilds a
// stale image first.
const startTimeout = 3 * time.Minute

// The specs below bound each node with NodeTimeout, not SpecTimeout: in an
// Ordered container the first spec's SpecTimeout also bounds BeforeAll (a
// containers start that rebuilt an image timed out at 13 s that way), and
// the last one's the stack's close.

var _ = Describe("DNS and DynamoDB subset of the stack", Label(labels.Harness, labels.Smoke), Ordered, func() {
	var (
		stack  harness.Stack
		tl     *timeline.Timeline
		ledger *faults.Ledger
		runner *probes.Runner
	)

	BeforeAll(func(ctx SpecContext) {
		By("starting the DNS subset of the stack on the CASCADE_BACKEND backend")
		var err error
		stack, err = harness.Start(ctx,
			harness.WithServices(harness.Route53Svc, harness.DynamoDBSvc, harness.DNSPlannerSvc, harness.DNSEnactorSvc))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stack.Close)
		AddReportEntry("backend", stack.Endpoints().Backend)
		GinkgoWriter.Printf("stack %s on the %s backend\n", stack.Name(), stack.Endpoints().Backend)

		By("checking that nothing from an earlier run is left")
		left, err := faults.Sweep(ctx, stack)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "leftovers: %s", left)

		tl = timeline.MustNew(timeline.WithName(stack.Name()))
		events, unsubscribe := stack.Events(4096)
		consumeCtx, stopConsuming := context.WithCancel(context.Background())
		go tl.Consume(consumeCtx, events)
		DeferCleanup(func() { stopConsuming(); unsubscribe() })

		ledger = faults.NewLedger(stack, faults.WithTimeline(tl))
		DeferCleanup(ledger.RevertAll)

		runner = probes.NewRunner(stack.Clock(), probePeriod, tl.AddSample, probes.Default(stack)...)
		runner.Start(context.Background())
		DeferCleanup(runner.Stop)

		// Registered last so it runs first: the timeline of a failed spec.
		DeferCleanup(func() {
			if CurrentSpecReport().Failed() {
				specreport.Attach(tl.Snapshot())
			}
		})
	}, NodeTimeout(startTimeout))

	It("holds its steady state: the endpoint resolves and GetItem/PutItem succeed", func(ctx SpecContext) {
		By("waiting for five rounds of passing probes")
		Eventually(func(g Gomega) {
			for _, p := range []string{timeline.ProbeDNSResolve, timeline.ProbeDDBGetItem, timeline.ProbeDDBPutItem} {
				samples := runner.Recent(p)
				g.Expect(len(samples)).To(BeNumerically(">=", 5), p)
				for _, s := range samples[len(samples)-5:] {
					g.Expect(s.OK).To(BeTrue(), "%s: %+v", p, s)
				}
			}
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
		Expect(tl).To(matchers.NeverEmpty(timeline.ProbeDNSResolve))
	}, NodeTimeout(15*time.Second))

	It("moves the plan weights away from a slow load balancer, in real DNS", func(ctx SpecContext) {
		before := currentGeneration(ctx, stack)
		By("slowing ddb-lb-a by 250 ms, above the planner's 100 ms threshold")
		undo, err := ledger.Apply(ctx, faults.Latency("ddb-lb-a", 250*time.Millisecond, 0))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(undo)

		By("waiting for the regional CNAME to point at a newer generation that weighs ddb-lb-a down")
		Eventually(func(g Gomega) {
			gen := currentGeneration(ctx, stack)
			g.Expect(gen).To(BeNumerically(">", before))
			weights := planWeights(ctx, g, stack, gen)
			g.Expect(weights).To(HaveKey("ddb-lb-a"))
			g.Expect(weights["ddb-lb-a"]).To(BeNumerically("<", weights["ddb-lb-b"]), "weights of g%d: %v", gen, weights)
		}).WithContext(ctx).WithTimeout(15 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

		Expect(tl.Snapshot().FaultsNamed("latency")).To(HaveLen(1))
	}, NodeTimeout(20*time.Second))

	It("fails resolution with no such host while the regional record is empty, and recovers when DNS is restored by hand", func(ctx SpecContext) {
		By("disabling the DNS automation, as the operators did, so nothing repairs the record")
		undo, err := ledger.Apply(ctx, faults.DisableDNSAutomation{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(undo)

		By("emptying the regional endpoint")
		empty, err := faults.Empty("regional")
		Expect(err).NotTo(HaveOccurred())
		undoEmpty, err := ledger.Apply(ctx, empty)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(undoEmpty)

		By("seeing the probes fail with no such host, and keep failing")
		Eventually(func(g Gomega) {
			for _, p := range []string{timeline.ProbeDNSResolve, timeline.ProbeDDBGetItem} {
				samples := runner.Recent(p)
				g.Expect(len(samples)).To(BeNumerically(">=", 4))
				for _, s := range samples[len(samples)-4:] {
					g.Expect(s.OK).To(BeFalse(), p)
					g.Expect(s.Code).To(Equal(timeline.CodeNoSuchHost), "%s: %+v", p, s)
				}
			}
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		By("restoring the record by hand")
		_, err = ledger.Apply(ctx, faults.RestoreRegional())
		Expect(err).NotTo(HaveOccurred())

		By("seeing the probes recover")
		Eventually(func(g Gomega) {
			for _, p := range []string{timeline.ProbeDNSResolve, timeline.ProbeDDBGetItem, timeline.ProbeDDBPutItem} {
				s, ok := runner.Last(p)
				g.Expect(ok).To(BeTrue())
				g.Expect(s.OK).To(BeTrue(), "%s: %+v", p, s)
			}
			g.Expect(tl).To(matchers.RecoverWithin("dynamodb", 10*time.Minute, "restore-dns"))
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		Expect(tl).To(matchers.StayImpairedUntil("dynamodb", "restore-dns"))
		Expect(tl).NotTo(matchers.NeverEmpty(timeline.ProbeDNSResolve))
	}, NodeTimeout(30*time.Second))

	It("reverts every fault it applied", func(ctx SpecContext) {
		Expect(ledger.RevertAll(ctx)).To(Succeed())
		left, err := faults.Inspect(ctx, stack)
		Expect(err).NotTo(HaveOccurred())
		Expect(left.Empty()).To(BeTrue(), "left: %s", left)
		Expect(ledger.Active()).To(BeEmpty())
	}, NodeTimeout(10*time.Second))
})

// currentGeneration asks the mock DNS (not the API) which plan generation the
// regional endpoint's CNAME points at.
func currentGeneration(ctx context.Context, s harness.Stack) uint64 {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(awsclient.DynamoDBHost), dns.TypeCNAME)
	c := &dns.Client{Net: "tcp", Timeout: time.Second}
	in, _, err := c.ExchangeContext(ctx, m, s.Endpoints().DNS)
	Expect(err).NotTo(HaveOccurred())
	for _, rr := range in.Answer {
		if cn, ok := rr.(*dns.CNAME); ok {
			_, gen, ok := dnsplan.PlanOf(strings.ToLower(cn.Target))
			if ok {
				return gen
			}
		}
	}
	return 0
}

// planWeights reads the weights of the regional plan of generation gen
// through the Route53 API.
func planWeights(ctx context.Context, g Gomega, s harness.Stack, gen uint64) map[string]int64 {
	c, err := s.Route53()
	g.Expect(err).NotTo(HaveOccurred())
	zones, err := dnsplan.LookupZones(ctx, c, dnsplan.Zones, false)
	g.Expect(err).NotTo(HaveOccurred())
	zoneID, err := zones.ID(dnsplan.RegionalZone)
	g.Expect(err).NotTo(HaveOccurred())
	name := dnsplan.PlanName(dnsplan.Regional.Plan, gen)
	out := map[string]int64{}
	err = dnsplan.WalkSubtree(ctx, dnsplan.NewRoute53Store(c), zoneID, name, 100, func(r dnsplan.Record) error {
		if dnsplan.Canonical(r.Name) == name && r.Type == dnsplan.TypeA {
			out[r.SetID] = r.Weight
		}
		return nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	return out
}
