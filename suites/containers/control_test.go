package containers_test

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/client"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

var _ = Describe("Containers backend", Label(labels.Containers, labels.Harness), Ordered, func() {
	var (
		st  *containers.Stack
		cli *engine.Client
	)

	BeforeAll(func(ctx SpecContext) {
		requireDocker()
		By("starting the whole stack of containers")
		s, err := harness.Start(ctx, harness.WithBackend(containers.Name))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(s.Close)
		st = s.(*containers.Stack)
		cli, err = engine.Connect(ctx)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cli.Close)
	}, NodeTimeout(10*time.Minute))

	inspect := func(ctx context.Context, instance string) (started string, paused bool) {
		id, err := st.ContainerID(instance)
		Expect(err).NotTo(HaveOccurred())
		res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		Expect(err).NotTo(HaveOccurred())
		return res.Container.State.StartedAt, res.Container.State.Paused
	}

	It("resolves the regional endpoint from the host through the mock DNS to a load balancer container", func(ctx SpecContext) {
		ep := st.Endpoints()
		var lbIPs []string
		for _, lb := range ep.LoadBalancers {
			lbIPs = append(lbIPs, lb.IP)
		}
		By("resolving " + awsclient.DynamoDBHost + " through " + ep.DNS)
		Eventually(func() ([]string, error) {
			return ep.Resolver().LookupHost(ctx, awsclient.DynamoDBHost)
		}).WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(
			And(Not(BeEmpty()), HaveEach(BeElementOf(lbIPs))))
	}, SpecTimeout(2*time.Minute))

	It("publishes every service's JSON event lines from the container logs", func(ctx SpecContext) {
		events, stop := st.Events(4096)
		DeferCleanup(stop)
		seen := map[string]bool{}
		Eventually(func() int {
			for {
				select {
				case ev := <-events:
					seen[ev.Service] = true
				default:
					return len(seen)
				}
			}
		}).WithTimeout(2*time.Minute).WithPolling(100*time.Millisecond).Should(BeNumerically(">=", 5),
			"services heard from: %v", seen)
	}, SpecTimeout(3*time.Minute))

	It("restarts one DWFM host as a real container restart", func(ctx SpecContext) {
		before, _ := inspect(ctx, "dwfm-a")
		events, stop := st.Events(4096)
		DeferCleanup(stop)
		// Drain the stream while the restart runs: the stream drops events
		// for a subscriber that falls behind, and twelve services at speed
		// 30 fill a buffer quickly.
		restarted := make(chan struct{})
		var once sync.Once
		go func() {
			defer GinkgoRecover()
			for ev := range events {
				if ev.Service == "dwfm-a" && ev.Kind == "started" {
					once.Do(func() { close(restarted) })
				}
			}
		}()
		By("restarting dwfm-a")
		Expect(st.Control(ctx, "dwfm-a", harness.ActionRestart)).To(Succeed())
		after, _ := inspect(ctx, "dwfm-a")
		Expect(after).NotTo(Equal(before), "the container's StartedAt")
		By("hearing the new process start")
		Eventually(restarted).WithTimeout(time.Minute).Should(BeClosed(), "a started event of dwfm-a")
	}, SpecTimeout(3*time.Minute))

	It("pauses and resumes a service with docker pause", func(ctx SpecContext) {
		By("pausing netmgr")
		Expect(st.Control(ctx, "netmgr", harness.ActionPause)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { _ = st.Control(ctx, "netmgr", harness.ActionResume) })
		_, paused := inspect(ctx, "netmgr")
		Expect(paused).To(BeTrue())
		Expect(st.Services()).To(ContainElement(HaveField("State", harness.Paused)))
		By("resuming netmgr")
		Expect(st.Control(ctx, "netmgr", harness.ActionResume)).To(Succeed())
		_, paused = inspect(ctx, "netmgr")
		Expect(paused).To(BeFalse())
	}, SpecTimeout(time.Minute))

	It("serves one toxiproxy API over the load balancers' containers and the links' container", func(ctx SpecContext) {
		proxies, err := st.Toxiproxy().Proxies()
		Expect(err).NotTo(HaveOccurred())
		for _, l := range st.Links() {
			Expect(proxies).To(HaveKey(l.Name))
		}
		Expect(proxies).To(HaveLen(len(st.Links())))
	})
})
