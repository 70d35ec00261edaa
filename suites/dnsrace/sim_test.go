package dnsrace_test

// The suite on the deterministic sim (CASCADE_BACKEND=sim): the race's
// randomized and latency-alone specs run on harness/sim's race world
// (Route53's store, the planner and the three Enactor cores on the virtual
// clock; sim.Explore, the engine of `cascade explore`), where a seed is one
// exact run. The other describes drive real DNS (miekg/dns), the Route53
// API over HTTP and toxiproxy, which only harness.Start's backends have:
// on the sim they are skipped, saying so.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/labels"
	"github.com/cascade-lab/cascade/harness/sim"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// simBackend is CASCADE_BACKEND's name of the deterministic sim.
const simBackend = "sim"

func onSim() bool { return os.Getenv(harness.BackendEnv) == simBackend }

// skipOnSim skips a spec that needs real sockets when the suite runs on the
// sim.
func skipOnSim() {
	if onSim() {
		Skip("drives real DNS, the Route53 API over HTTP and toxiproxy (harness.Start's backends); on the sim the race runs in \"DNS Enactor race on the deterministic sim\"")
	}
}

// simSeeds is how many seeds a sim spec explores: at least 50 (a sim seed
// of an incident hour takes well under a second), more when the suite's
// counts ask for more.
func simSeeds(n int64) int { return int(max(n, 50)) }

var _ = Describe("DNS Enactor race on the deterministic sim", Label(labels.DNSEnactor, labels.DNSPlanner, labels.Route53, labels.Trigger), func() {
	BeforeEach(func() {
		if !onSim() {
			Skip("CASCADE_BACKEND=sim runs these (harness/sim); the other describes run the race on real sockets")
		}
	})

	explore := func(ctx context.Context, variant kit.Mode, from int64, n int) sim.ExploreResult {
		cfg := sim.ExploreConfig{From: from, Seeds: n, Variant: variant, For: sim.Dur(time.Hour)}
		res := sim.Explore(ctx, cfg, false, nil)
		AddReportEntry(fmt.Sprintf("%s from seed %d", variant, from), fmt.Sprintf("%+v", res.Summary))
		return res
	}

	It("never leaves an endpoint empty in random schedules (fixed)", Label(labels.Randomized, labels.Fixed), func(ctx SpecContext) {
		seed := scheduleSeed()
		res := explore(ctx, kit.Fixed, seed, simSeeds(envInt("CASCADE_SCHEDULES", 4)))
		Expect(res.Summary.Errors).To(BeZero(), "%+v", res.Failing)
		Expect(res.Summary.Emptied).To(BeZero(), "fixed emptied the record; replay: %+v", res.Failing)
		Expect(res.Summary.Stuck).To(BeZero())
	})

	It("empties the record in some of the same random schedules with as-was Enactors, and a seed replays exactly", Label(labels.Randomized, labels.AsWas), func(ctx SpecContext) {
		seed := scheduleSeed()
		res := explore(ctx, kit.AsWas, seed, simSeeds(envInt("CASCADE_POWER_SCHEDULES", 12)))
		Expect(res.Summary.Errors).To(BeZero(), "%+v", res.Failing)
		Expect(res.Summary.Emptied).To(BeNumerically(">", 0), "as-was never emptied the record in %d seeds from %d", res.Summary.Runs, seed)
		Expect(res.Failing).NotTo(BeEmpty())
		f := res.Failing[0]
		By("replaying the first failing seed twice: " + f.Replay)
		a, err := sim.ExploreRace(f.Seed, kit.AsWas, time.Hour)
		Expect(err).NotTo(HaveOccurred())
		b, err := sim.ExploreRace(f.Seed, kit.AsWas, time.Hour)
		Expect(err).NotTo(HaveOccurred())
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		Expect(bytes.Equal(ja, jb)).To(BeTrue(), "seed %d gave two different runs", f.Seed)
		Expect(a.Emptied).To(BeTrue(), "the replayed seed %d did not empty the record", f.Seed)
	})

	It("appears with one Enactor's delay alone (rate over seeded runs)", Label(labels.Nightly, labels.AsWas), func(ctx SpecContext) {
		if !nightly() {
			Skip("nightly: set CASCADE_NIGHTLY=1 or -ginkgo.label-filter=nightly")
		}
		n := simSeeds(envInt("CASCADE_RUNS", 30))
		res := explore(ctx, kit.AsWas, 1, n)
		rate := fmt.Sprintf("regional endpoint emptied in %d/%d seeds, stuck in %d/%d (sim, one incident hour each)",
			res.Summary.Emptied, n, res.Summary.Stuck, n)
		AddReportEntry("race rate", rate)
		Expect(res.Summary.Emptied).To(BeNumerically(">", 0), "the race never appeared")
	})
})
