package containers_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/harness/containers/reaper"
	"github.com/cascade-lab/cascade/harness/labels"
)

// child is this test binary re-executed to start a stack and block (see
// TestChildStack), so that a spec can kill it.
type child struct {
	cmd    *exec.Cmd
	run    string
	stderr *gbytes.Buffer
	exited chan struct{} // closed once the process has been waited for
}

// suiteRuns are the runs the suite's children started; the end of the
// suite checks that none of them left anything.
var (
	suiteRunsMu sync.Mutex
	suiteRuns   []string
)

func recordRun(run string) {
	suiteRunsMu.Lock()
	defer suiteRunsMu.Unlock()
	suiteRuns = append(suiteRuns, run)
}

// startChild starts a child whose `go test` timeout is testTimeout, with
// env added to this process's environment, and waits until its stack is up.
func startChild(testTimeout string, env ...string) *child {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildStack$", "-test.v", "-test.timeout="+testTimeout)
	cmd.Env = append(append(os.Environ(), childEnv+"=1", "TESTCONTAINERS_RYUK_DISABLED=true"), env...)
	c := &child{cmd: cmd, stderr: gbytes.NewBuffer(), exited: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(GinkgoWriter, c.stderr)
	out, err := cmd.StdoutPipe()
	Expect(err).NotTo(HaveOccurred())
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() { _ = cmd.Process.Kill(); <-c.exited })

	ready := make(chan string, 1)
	go func() {
		defer GinkgoRecover()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			GinkgoWriter.Println("child:", sc.Text())
			if run, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- run
			}
		}
		close(ready) // a child that ends without READY fails the wait at once
		_ = cmd.Wait()
		close(c.exited)
	}()
	Eventually(ready).WithTimeout(5*time.Minute).Should(Receive(&c.run), "the child never reported its stack up")
	Expect(c.run).NotTo(BeEmpty())
	recordRun(c.run)
	return c
}

// runCount counts what is labelled with run: containers plus networks.
func runCount(ctx context.Context, run string) func() int {
	return func() int { cs, ns := countRun(ctx, run); return cs + ns }
}

// expectReaped checks that a run's start leaves the dead child's run to its
// reaper, that the run stays for half the grace period (the reaper waits for
// a reconnection) and is gone within the grace period plus a few seconds,
// and says how long that took.
func expectReaped(ctx context.Context, run string, gone time.Time) {
	cs, ns := countRun(ctx, run)
	GinkgoWriter.Printf("run %s: %d containers and %d networks when its owner died\n", run, cs, ns)
	Expect(cs).To(BeNumerically(">=", 7), "route53, dynamodb, toxiproxy, ddb-lb-a/b/c and the reaper")
	Expect(ns).To(Equal(1))

	By("a run's start meanwhile (its reaping of dead owners' runs) leaves the run to its reaper")
	// Every containers run's start removes the runs of dead owners (the
	// second line). Were it to remove one whose reaper still runs, the run
	// would go as soon as any process on the engine started a stack, grace
	// or not: once the reaper spec failed so (8 -> 7 within 0.5 s).
	cli, err := engine.Connect(ctx)
	Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	reaped, err := engine.Reap(ctx, cli, engine.ReapOptions{Runs: []string{run}})
	Expect(err).NotTo(HaveOccurred())
	Expect(reaped.Empty()).To(BeTrue(), "a run's start removed %v of the run its reaper watches", reaped)

	By("waiting: the run is kept while its owner could still reconnect")
	Consistently(runCount(ctx, run)).WithTimeout(reaper.DefaultGrace/2).WithPolling(500*time.Millisecond).
		Should(Equal(cs+ns), "the run was removed before the grace period was over")

	By("the reaper removes every container and network of the run, itself included")
	Eventually(runCount(ctx, run)).WithTimeout(reaper.DefaultGrace+15*time.Second).WithPolling(250*time.Millisecond).
		Should(BeZero(), "the run is still there %v after its owner died", reaper.DefaultGrace+15*time.Second)
	GinkgoWriter.Printf("run %s reaped %v after its owner died (grace %v)\n", run, time.Since(gone).Round(100*time.Millisecond), reaper.DefaultGrace)
}

var _ = Describe("Reaper of a run whose owner died", Label(labels.Containers, labels.Harness, labels.Slow), Serial, func() {
	BeforeEach(func() {
		requireDocker()
		if os.Getenv(containers.ReaperGraceEnv) != "" || os.Getenv(containers.ReaperEnv) != "" {
			Skip("SKIPPING: " + containers.ReaperEnv + " or " + containers.ReaperGraceEnv + " is set; these specs check the default reaper")
		}
	})

	It("removes every container and network of a SIGKILLed process's run within the grace period, with no other run starting", func(ctx SpecContext) {
		By("starting a stack in a child process")
		c := startChild("10m")

		By("killing the child with SIGKILL: nothing of it runs its cleanup")
		Expect(c.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		<-c.exited
		expectReaped(ctx, c.run, time.Now())
	}, SpecTimeout(10*time.Minute))

	It("removes the run of a go test binary stopped by its -timeout panic", func(ctx SpecContext) {
		By("starting a stack in a child `go test` binary with -test.timeout=90s, which then blocks")
		c := startChild("90s")

		By("waiting for the testing package's timeout panic to end the child")
		Eventually(c.exited).WithTimeout(3 * time.Minute).Should(BeClosed())
		Expect(c.stderr).To(gbytes.Say(`panic: test timed out after 1m30s`))
		Expect(c.cmd.ProcessState.ExitCode()).NotTo(BeZero())
		expectReaped(ctx, c.run, time.Now())
	}, SpecTimeout(10*time.Minute))

	It("leaves a surviving run intact when another run's owner is killed", func(ctx SpecContext) {
		By("starting a stack in this process: the survivor")
		st, err := harness.Start(ctx, harness.WithBackend(containers.Name), harness.WithServices(harness.DynamoDBSvc))
		if st != nil {
			DeferCleanup(st.Close)
		}
		Expect(err).NotTo(HaveOccurred())
		own := st.(*containers.Stack).Run()
		before := runCount(ctx, own)()
		Expect(before).To(BeNumerically(">=", 7), "dynamodb, toxiproxy, ddb-lb-a/b/c, the reaper and the network")

		By("starting a second stack in a child process and killing it")
		c := startChild("10m")
		Expect(c.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		<-c.exited
		expectReaped(ctx, c.run, time.Now())

		By("the survivor still has every container and its network, and answers")
		Expect(runCount(ctx, own)()).To(Equal(before))
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		Expect(harness.WaitReady(rctx, st.Endpoints(), false)).To(Succeed())

		By("closing the survivor: its reaper goes with it")
		Expect(st.Close(ctx)).To(Succeed())
		Expect(runCount(ctx, own)()).To(BeZero())
	}, SpecTimeout(10*time.Minute))
})

// At the end of the suite nothing of this process's own runs, or of the
// runs its children started, is left: the reapers and Close have removed
// it all. Other processes' runs on a shared engine are not this suite's.
var _ = AfterSuite(func(ctx SpecContext) {
	if dockerErr != nil {
		return
	}
	cli, err := engine.Connect(ctx)
	Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	suiteRunsMu.Lock()
	runs := append([]string(nil), suiteRuns...)
	suiteRunsMu.Unlock()
	self := engine.Owner()
	// The engine sometimes keeps a removed stack's network with a phantom
	// endpoint that no client can remove (docs/cleanup.md). Once the
	// reapers' grace is over, a network with no container attached that the
	// engine refuses to remove for "active endpoints" is logged as the
	// engine's defect, not counted as the suite's leftover; any container, or
	// a network that still has one, still fails.
	began := time.Now()
	phantoms := map[string]string{}
	Eventually(func() []string {
		all, err := engine.List(ctx, cli, "")
		Expect(err).NotTo(HaveOccurred())
		var left []string
		for _, l := range all {
			mine := l.Owner == self
			for _, r := range runs {
				mine = mine || l.Run == r
			}
			if !mine {
				continue
			}
			if l.Kind == "network" && time.Since(began) > reaper.DefaultGrace+15*time.Second {
				if _, seen := phantoms[l.Name]; seen {
					continue
				}
				if phantom, why := engine.PhantomNetwork(ctx, cli, l.ID); phantom {
					phantoms[l.Name] = why
					continue
				}
			}
			left = append(left, l.Kind+" "+l.Name)
		}
		return left
	}).WithTimeout(reaper.DefaultGrace+30*time.Second).WithPolling(time.Second).Should(BeEmpty(),
		"containers and networks the suite's runs left behind")
	for name, why := range phantoms {
		AddReportEntry("ENGINE DEFECT", fmt.Sprintf("network %s is held by a phantom endpoint (%s); no container of it is left", name, why))
	}
}, NodeTimeout(2*time.Minute))
