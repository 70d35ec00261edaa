package matchers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/cascade-lab/cascade/harness/matchers"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/harness/timeline/timelinetest"
)

var incident = timelinetest.Incident().Snapshot()

// healthy is a short run where nothing fails.
func healthy() *timeline.Snapshot {
	tl := timeline.MustNew(timeline.WithName("healthy"))
	start := timelinetest.PDT(23, 30)
	tl.AddSample(timelinetest.Series(timeline.ProbeDNSResolve, start, time.Minute, "oooooooooo")...)
	tl.AddSample(timelinetest.Series(timeline.ProbeDDBGetItem, start, time.Minute, "oooooooooo")...)
	return tl.Snapshot()
}

// stuck is a run where dynamodb fails and never recovers.
func stuck() *timeline.Snapshot {
	tl := timeline.MustNew(timeline.WithName("stuck"))
	start := timelinetest.PDT(23, 30)
	tl.AddSample(timelinetest.Series(timeline.ProbeDDBGetItem, start, time.Minute, "oooxxxxxxxxxxxxx")...)
	tl.AddFault(timeline.Fault{ID: "op", Name: "restore-dns", Operator: true, Start: start.Add(8 * time.Minute), End: start.Add(8 * time.Minute)})
	return tl.Snapshot()
}

// pass asserts that m matches actual, and that the negation fails with a message.
func pass(t *testing.T, actual any, m types.GomegaMatcher) {
	t.Helper()
	ok, err := m.Match(actual)
	if err != nil {
		t.Fatalf("Match error: %v", err)
	}
	if !ok {
		t.Fatalf("expected a match, got failure:\n%s", m.FailureMessage(actual))
	}
	if msg := m.NegatedFailureMessage(actual); !strings.Contains(msg, "not to") {
		t.Errorf("negated message lacks 'not to':\n%s", msg)
	}
}

// fail asserts that m does not match actual and that its failure message
// contains every want.
func fail(t *testing.T, actual any, m types.GomegaMatcher, want ...string) string {
	t.Helper()
	ok, err := m.Match(actual)
	if err != nil {
		t.Fatalf("Match error: %v", err)
	}
	msg := m.FailureMessage(actual)
	if ok {
		t.Fatalf("expected no match, but it matched (message would be:\n%s)", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("failure message lacks %q:\n%s", w, msg)
		}
	}
	return msg
}

func TestSymptomOrder(t *testing.T) {
	pass(t, incident, matchers.SymptomOrder("dynamodb", "ec2", "nlb", "connectivity"))
	pass(t, incident, matchers.HaveSymptomBefore("dynamodb", "ec2"))
	// the real order has NLB (05:30) before connectivity (06:21)
	msg := fail(t, incident, matchers.SymptomOrder("dynamodb", "ec2", "connectivity", "nlb"),
		"Expected use1-2025-10 synthetic to show symptoms in the order dynamodb -> ec2 -> connectivity -> nlb",
		"nlb's first symptom", "is not after connectivity's", "timeline slice", "connectivity", "nlb ")
	if !strings.Contains(msg, "█") || !strings.Contains(msg, "░") {
		t.Errorf("failure message shows no health strip:\n%s", msg)
	}
	fail(t, incident, matchers.HaveSymptomBefore("ec2", "dynamodb"), "dynamodb's first symptom")
	fail(t, incident, matchers.HaveSymptomBefore("dynamodb", "lambda"), `no component "lambda"`)
	fail(t, healthy(), matchers.HaveSymptomBefore("dynamodb", "ec2"), "dynamodb was never impaired", "no impact window")
	fail(t, incident, matchers.SymptomOrder("dynamodb"), "at least two")
}

func TestSymptomOrderIgnoresFlakes(t *testing.T) {
	// ec2 has a flake at 23:37, before dynamodb's symptom at 23:48: debouncing
	// must not let it count as ec2's first symptom
	p := incident.Phase("ec2")
	if p.FirstSymptom.Before(timelinetest.PDT(0, 0)) {
		t.Fatalf("ec2 first symptom %v: the flake counted", p.FirstSymptom)
	}
	pass(t, incident, matchers.HaveSymptomBefore("dynamodb", "ec2"))
}

func TestHaveImpactWindow(t *testing.T) {
	pass(t, incident, matchers.HaveImpactWindow("dynamodb", matchers.BetweenMinutes(150, 200)))
	fail(t, incident, matchers.HaveImpactWindow("dynamodb", matchers.BetweenMinutes(10, 20)),
		"have a dynamodb impact window", "2h52m0s", "between 10m0s and 20m0s")
	fail(t, stuck(), matchers.HaveImpactWindow("dynamodb", matchers.BetweenMinutes(0, 1000)), "still open")
	fail(t, healthy(), matchers.HaveImpactWindow("dynamodb", matchers.BetweenMinutes(0, 1000)), "never impaired")
	fail(t, incident, matchers.HaveImpactWindow("lambda", matchers.BetweenMinutes(0, 1000)), "no component")
}

func TestBetweenMinutes(t *testing.T) {
	g := gomega.NewWithT(t)
	g.Expect(30 * time.Minute).To(matchers.BetweenMinutes(30, 40))
	g.Expect(40 * time.Minute).To(matchers.BetweenMinutes(30, 40))
	g.Expect(41 * time.Minute).NotTo(matchers.BetweenMinutes(30, 40))
	g.Expect(29 * time.Minute).NotTo(matchers.BetweenMinutes(30, 40))
	m := matchers.BetweenMinutes(30, 40)
	if _, err := m.Match("thirty"); err == nil {
		t.Error("BetweenMinutes accepted a string")
	}
}

func TestStayImpairedUntil(t *testing.T) {
	pass(t, incident, matchers.StayImpairedUntil("ec2", "restart-dwfm"))
	pass(t, incident, matchers.StayImpairedUntil("dynamodb", "restore-dns"))
	fail(t, incident, matchers.StayImpairedUntil("dynamodb", "restart-dwfm"), "recovered at 09:40:00", "before the action")
	fail(t, incident, matchers.StayImpairedUntil("connectivity", "restore-dns"), "impaired only after the action")
	fail(t, incident, matchers.StayImpairedUntil("ec2", "reboot-everything"), `no operator action "reboot-everything"`, "restore-dns")
	fail(t, incident, matchers.StayImpairedUntil("dynamodb", "latency"), "is a toxic fault, not an operator action")
	fail(t, healthy(), matchers.StayImpairedUntil("dynamodb", "restore-dns"), "no operator action")
}

func TestRecoverWithin(t *testing.T) {
	pass(t, incident, matchers.RecoverWithin("dynamodb", 20*time.Minute, "restore-dns"))
	fail(t, incident, matchers.RecoverWithin("dynamodb", 10*time.Minute, "restore-dns"), "15m0s after the action", "too late")
	fail(t, incident, matchers.RecoverWithin("ec2", 20*time.Minute, "restore-dns"), "too late")
	fail(t, incident, matchers.RecoverWithin("connectivity", 20*time.Minute, "restore-dns"), "not impaired when the action was taken")
	fail(t, stuck(), matchers.RecoverWithin("dynamodb", time.Hour, "restore-dns"), "not recovered by the end")
	fail(t, incident, matchers.RecoverWithin("dynamodb", time.Hour, "no-such"), `no action "no-such"`)
	fail(t, healthy(), matchers.RecoverWithin("dynamodb", time.Hour, "restore-dns"), "no action")
}

func TestNeverEmpty(t *testing.T) {
	pass(t, healthy(), matchers.NeverEmpty(timeline.ProbeDNSResolve))
	fail(t, incident, matchers.NeverEmpty(timeline.ProbeDNSResolve), "samples empty, first at 06:48:00", "no-such-host", "dns record")
	fail(t, incident, matchers.NeverEmpty("dns-resolve-v6"), "no samples of dns-resolve-v6")
	gomega.NewWithT(t).Expect(incident).NotTo(matchers.NeverEmpty(timeline.ProbeDNSResolve))
}

func TestHaveProbeSamples(t *testing.T) {
	n := len(incident.Probe(timeline.ProbeEC2Launch))
	pass(t, incident, matchers.HaveProbeSamples(timeline.ProbeEC2Launch, n))
	fail(t, incident, matchers.HaveProbeSamples(timeline.ProbeEC2Launch, n+1), "hold at least", "ec2-launch")
	fail(t, healthy(), matchers.HaveProbeSamples(timeline.ProbeEC2Launch, 1), "0 samples of ec2-launch")
}

func TestActualTypes(t *testing.T) {
	g := gomega.NewWithT(t)
	tl := timelinetest.Incident()
	g.Expect(tl).To(matchers.HaveSymptomBefore("dynamodb", "ec2"))
	g.Expect(*incident).To(matchers.HaveSymptomBefore("dynamodb", "ec2"))
	for _, bad := range []any{"timeline", nil, (*timeline.Snapshot)(nil), (*timeline.Timeline)(nil)} {
		if _, err := matchers.NeverEmpty("dns-resolve").Match(bad); err == nil {
			t.Errorf("Match(%#v) gave no error", bad)
		}
	}
}

func TestSliceIsWindowed(t *testing.T) {
	txt := matchers.Slice(incident, []string{"dynamodb"}, timelinetest.PDT(2, 25))
	if !strings.Contains(txt, "timeline slice 08:55 .. 09:55") {
		t.Errorf("slice not around 02:25 PDT (09:25 UTC):\n%s", txt)
	}
	if strings.Contains(txt, "\n  ec2 ") {
		t.Errorf("slice shows components it was not asked for:\n%s", txt)
	}
	// offsets stay relative to the run's start
	if !strings.Contains(txt, "+02:55") {
		t.Errorf("slice offsets not relative to the run's start:\n%s", txt)
	}
}
