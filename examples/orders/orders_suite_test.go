package orders_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/cascadetest"
	"github.com/cascade-lab/cascade/examples/orders"
)

func TestOrders(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "orders API under the us-east-1 outage")
}

// One stack and one as-was replay carry two copies of the orders API: one
// with the cache fallback, one without. Both read order o-1 through the
// same DynamoDB endpoint, so they meet the same empty record. The replay
// runs from 22:40 PDT until 45 incident minutes after the operators restore
// the record (about 03:10: some 13 s of wall time at speed 20); when the
// record empties is emergent (the Enactors' race may take more than one
// attempt), so the window follows the restore, not the clock; 08:00 caps
// it (on a badly loaded machine the race emptied the record as late as
// 03:25, so the restore came after 06:00).
var _ = Describe("The orders API under the us-east-1 DNS outage", Ordered, func() {
	var res *cascadetest.Result

	BeforeAll(func(ctx SpecContext) {
		stack, err := cascadetest.Start(ctx)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stack.Close)

		cfg, err := stack.AWSConfig(ctx)
		Expect(err).NotTo(HaveOccurred())
		ddb := dynamodb.NewFromConfig(cfg)
		Expect(orders.CreateTable(ctx, ddb, "orders")).To(Succeed())

		// the cache TTL is wall time: 200 ms is 4 incident minutes at speed 20
		withFallback := orders.New(ddb, orders.Config{Fallback: true, CacheTTL: 200 * time.Millisecond})
		without := orders.New(ddb, orders.Config{CacheTTL: 200 * time.Millisecond})
		srv, bare := httptest.NewServer(withFallback), httptest.NewServer(without)
		DeferCleanup(srv.Close)
		DeferCleanup(bare.Close)

		Expect(withFallback.Put(ctx, orders.Order{ID: "o-1", Item: "widget", Amount: 3})).To(Succeed())
		for _, u := range []string{srv.URL, bare.URL} {
			Expect(get(ctx, u+"/orders/o-1")).To(Equal(http.StatusOK), "the order is readable before the replay")
		}

		res, err = stack.Replay(ctx, cascadetest.ThroughDNSRestore(45*time.Minute), cascadetest.Until(cascadetest.IncidentTime(8, 0)),
			cascadetest.WithProbes(
				cascadetest.HTTPProbe("orders-get", srv.URL+"/orders/o-1", cascadetest.InComponent("orders")),
				cascadetest.HTTPProbe("bare-get", bare.URL+"/orders/o-1", cascadetest.InComponent("no-fallback")),
				cascadetest.MetricProbe("stale-reads", srv.URL+"/metrics", "orders_requests_total", nil,
					cascadetest.MetricLabels("route", "get", "outcome", "stale"), cascadetest.Delta(),
					cascadetest.InComponent("orders-cache")),
			))
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("timeline", res.Report())
	}, NodeTimeout(10*time.Minute)) // on containers, Start first builds the images (a go build: minutes on a loaded machine)

	It("sees the regional record empty, then restored by the operators", func() {
		Expect(res.RecordEmpty).NotTo(BeEmpty())
		Expect(res.DNSRestored).NotTo(BeZero())
	})

	It("serves orders from its cache while the regional record is empty", func() {
		Expect(res).To(cascadetest.StayHealthyWhileEmpty("orders"))
	})

	It("answers from DynamoDB again within 30 incident minutes of the DNS restore", func() {
		Expect(res).To(cascadetest.RecoverWithin("orders", 30*time.Minute))
	})

	It("served stale reads while the record was empty (its own /metrics says so)", func() {
		stale := 0.0
		for _, s := range res.Samples("stale-reads") {
			if s.Time.After(res.RecordEmpty[0].Start) && s.Time.Before(res.RecordEmpty[0].End) {
				stale += s.Value
			}
		}
		Expect(stale).To(BeNumerically(">", 0))
	})

	It("without the fallback, fails while the record is empty", func() {
		Expect(res).NotTo(cascadetest.StayHealthyWhileEmpty("no-fallback"))
	})

	It("without the fallback, still recovers after the DNS restore", func() {
		Expect(res).To(cascadetest.RecoverWithin("no-fallback", 30*time.Minute))
	})
})

func get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
