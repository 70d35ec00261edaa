package containers_test

import (
	"context"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/harness/labels"
)

// countRun counts the containers and networks labelled with run, through
// the Docker API.
func countRun(ctx context.Context, run string) (containers, networks int) {
	cli, err := engine.Connect(ctx)
	Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	left, err := engine.List(ctx, cli, run)
	Expect(err).NotTo(HaveOccurred())
	for _, l := range left {
		if l.Kind == "container" {
			containers++
		} else {
			networks++
		}
	}
	return containers, networks
}

var _ = Describe("Leftovers of killed runs", Label(labels.Containers, labels.Harness), Serial, func() {
	It("removes every container and network a SIGKILLed run left behind when the next run starts", func(ctx SpecContext) {
		requireDocker()

		By("starting a stack in a child process (this test binary, re-executed) without its reaper")
		// The reaper would remove the run by itself a grace period after the
		// kill; this spec checks the second line, a later run's start.
		c := startChild("10m", containers.ReaperEnv+"=off")
		run := c.run

		By("killing the child with SIGKILL: nothing of it runs its cleanup")
		Expect(c.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		<-c.exited
		cs, ns := countRun(ctx, run)
		GinkgoWriter.Printf("run %s left %d containers and %d networks\n", run, cs, ns)
		Expect(cs).To(BeNumerically(">=", 6), "the killed run's containers (route53, dynamodb, toxiproxy, ddb-lb-a/b/c)")
		Expect(ns).To(Equal(1), "the killed run's network")

		By("starting a new run, which reaps what the dead one left")
		st, err := harness.Start(ctx, harness.WithBackend(containers.Name), harness.WithServices(harness.DynamoDBSvc))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(st.Close)
		cs, ns = countRun(ctx, run)
		Expect(cs).To(BeZero(), "containers of the killed run")
		Expect(ns).To(BeZero(), "networks of the killed run")

		By("closing the new run: nothing of it is left either")
		own := st.(*containers.Stack).Run()
		cs, ns = countRun(ctx, own)
		Expect(cs).To(BeNumerically(">", 0), "the new run's containers")
		Expect(ns).To(BeNumerically(">", 0), "the new run's network")
		Expect(st.Close(ctx)).To(Succeed())
		cs, ns = countRun(ctx, own)
		Expect(cs+ns).To(BeZero(), "containers and networks of the closed run")
	}, SpecTimeout(15*time.Minute))
})
