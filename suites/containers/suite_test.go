// Package containers_test is the suite of the containers backend itself:
// leftovers of a SIGKILLed run are reaped by the next run, service control
// is real container control, and the game-day path (docker compose up,
// attach, inject, probe, down) works on this machine. Every spec is
// labelled containers and the whole suite skips, loudly, when no Docker
// engine answers.
package containers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
)

// childEnv makes the test binary, re-executed by the leftovers spec, start
// a stack and block instead of running the suite (see TestChildStack).
const childEnv = "CASCADE_CONTAINERS_CHILD"

var dockerErr error

func TestContainers(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("child process: only TestChildStack runs")
	}
	dockerErr = engine.Available(context.Background())
	if dockerErr != nil {
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING suites/containers: %v ***\n*** start a Docker engine to run the containers backend's specs ***\n\n", dockerErr)
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Containers backend")
}

// requireDocker skips the spec, loudly, when no engine answers.
func requireDocker() {
	if dockerErr != nil {
		Skip("SKIPPING: no Docker engine answers: " + dockerErr.Error())
	}
}

var _ = BeforeSuite(func(ctx SpecContext) {
	if dockerErr != nil {
		return
	}
	By("building the images if they are missing (nothing is pulled)")
	cli, err := engine.Connect(ctx)
	Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	imgs, err := engine.EnsureImages(ctx, cli, engine.WithBuildLog(GinkgoWriter))
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("images %s %s ready in %v (built %v)\n", imgs.MockAWS, imgs.Toxiproxy, imgs.Took, imgs.Built)
}, NodeTimeout(20*time.Minute))

// TestChildStack is the process the leftovers spec kills: when
// CASCADE_CONTAINERS_CHILD is set it starts a stack of containers, prints
// "READY <run id>" and blocks until it is killed.
func TestChildStack(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by the leftovers spec only")
	}
	ctx := context.Background()
	st, err := containers.Start(ctx, mustOptions(harness.WithBackend(containers.Name),
		harness.WithServices(harness.Route53Svc, harness.DynamoDBSvc)))
	if err != nil {
		if st != nil {
			_ = st.Close(ctx)
		}
		t.Fatal(err)
	}
	fmt.Printf("READY %s\n", st.Run())
	_ = os.Stdout.Sync()
	select {} // until SIGKILL
}

func mustOptions(opts ...harness.Option) harness.Options {
	o, err := harness.NewOptions(opts...)
	if err != nil {
		panic(err)
	}
	return o
}
