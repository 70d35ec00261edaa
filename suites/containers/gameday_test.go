package containers_test

import (
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/cascade-lab/cascade/harness/labels"
)

var _ = Describe("Game-day stack", Label(labels.Containers, labels.Slow), Serial, func() {
	It("comes up with docker compose, is attached, injected, probed and brought down", func(ctx SpecContext) {
		requireDocker()
		_, composeV2 := exec.Command("docker", "compose", "version").Output()
		if _, err := exec.LookPath("docker-compose"); err != nil && composeV2 != nil {
			Skip("SKIPPING: neither docker compose nor docker-compose is installed")
		}
		By("running compose/gameday-check.sh")
		cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "compose", "gameday-check.sh"))
		cmd.Env = append(cmd.Environ(), "CASCADE_COMPOSE_PROJECT=cascade-gameday-suite", "CASCADE_NET=10.198.0")
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).WithTimeout(15 * time.Minute).Should(gexec.Exit(0))
		Expect(string(session.Out.Contents())).To(ContainSubstring("gameday-check: OK"))
	}, SpecTimeout(16*time.Minute))
})
