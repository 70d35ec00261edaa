package cascadetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// DefaultErrorBudget is the error rate the matchers allow by default: a
// signal is healthy while fewer than 1 % of its samples fail.
const DefaultErrorBudget = 0.01

// MatchOption configures a matcher.
type MatchOption func(*matchOptions)

type matchOptions struct {
	budget     float64
	minSamples int
}

// ErrorRateBelow sets the error rate a matcher allows (default 1 %): the
// share of failed samples must be strictly below it.
func ErrorRateBelow(rate float64) MatchOption { return func(o *matchOptions) { o.budget = rate } }

// MinSamples sets how many samples a matcher needs in the stretch it judges
// (default 5): fewer prove nothing, and the matcher fails saying so.
func MinSamples(n int) MatchOption { return func(o *matchOptions) { o.minSamples = n } }

func matchOpts(opts []MatchOption) matchOptions {
	o := matchOptions{budget: DefaultErrorBudget, minSamples: 5}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// resultMatcher is a matcher over a *Result whose failure message explains
// the verdict with the samples' error rate per stretch of incident time.
type resultMatcher struct {
	desc  string
	check func(*Result) (ok bool, why string)
	why   string
}

func (m *resultMatcher) Match(actual any) (bool, error) {
	r, ok := actual.(*Result)
	if !ok || r == nil {
		return false, fmt.Errorf("cascadetest matcher expects a non-nil *cascadetest.Result, got %T", actual)
	}
	var pass bool
	pass, m.why = m.check(r)
	return pass, nil
}

func (m *resultMatcher) FailureMessage(any) string {
	return "Expected the replay's user signals to " + m.desc + "\n" + indent(m.why)
}

func (m *resultMatcher) NegatedFailureMessage(any) string {
	return "Expected the replay's user signals not to " + m.desc + "\n" + indent(m.why)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// StayHealthyWhileEmpty succeeds when the user's component (or probe)
// failed fewer than the error budget's share of its samples taken while the
// regional DynamoDB record was empty (Result.RecordEmpty): the service
// degraded gracefully (served from cache, queued its writes) instead of
// failing with DynamoDB. It fails when the record was never empty in the
// replay or the component has too few samples there.
func StayHealthyWhileEmpty(component string, opts ...MatchOption) types.GomegaMatcher {
	o := matchOpts(opts)
	return &resultMatcher{
		desc: fmt.Sprintf("keep %s's error rate below %s while the regional record was empty", component, pct(o.budget)),
		check: func(r *Result) (bool, string) {
			samples, err := componentSamples(r, component)
			if err != nil {
				return false, err.Error()
			}
			if len(r.RecordEmpty) == 0 {
				return false, "the regional record was never empty in the replay (" + span(r.Start, r.End) + "): extend it past 23:48 PDT"
			}
			var in []timeline.Sample
			for _, s := range samples {
				if inEmpty(r.RecordEmpty, s.Time) {
					in = append(in, s)
				}
			}
			var b strings.Builder
			for _, sp := range r.RecordEmpty {
				fmt.Fprintf(&b, "record empty %s\n", span(sp.Start, sp.End))
			}
			if len(in) < o.minSamples {
				fmt.Fprintf(&b, "%s has %d samples while the record was empty, fewer than %d", component, len(in), o.minSamples)
				return false, b.String()
			}
			failed := countFailed(in)
			rate := float64(failed) / float64(len(in))
			fmt.Fprintf(&b, "%s failed %d of %d samples while empty (%s)\n", component, failed, len(in), pct(rate))
			b.WriteString(buckets(in, 30*time.Minute))
			return rate < o.budget, b.String()
		},
	}
}

// RecoverWithin succeeds when the user's component (or probe) recovered
// within d of incident time after the operators restored the regional
// record (Result.DNSRestored): from some sample no later than restore + d
// to the replay's end, fewer than the error budget's share of its samples
// failed, over at least MinSamples samples. It fails when DNS was not
// restored in the replay, when the component never got back under the
// budget, or when it did later than d.
func RecoverWithin(component string, d time.Duration, opts ...MatchOption) types.GomegaMatcher {
	o := matchOpts(opts)
	return &resultMatcher{
		desc: fmt.Sprintf("bring %s's error rate back below %s within %s of the DNS restore", component, pct(o.budget), d),
		check: func(r *Result) (bool, string) {
			samples, err := componentSamples(r, component)
			if err != nil {
				return false, err.Error()
			}
			if r.DNSRestored.IsZero() {
				return false, "the operators did not restore the regional record in the replay (" + span(r.Start, r.End) + "): extend it past about 02:40 PDT, or use ThroughDNSRestore"
			}
			var after []timeline.Sample
			for _, s := range samples {
				if !s.Time.Before(r.DNSRestored) {
					after = append(after, s)
				}
			}
			var b strings.Builder
			fmt.Fprintf(&b, "DNS restored at %s; %d samples of %s after it, to %s\n", clock(r.DNSRestored), len(after), component, clock(r.End))
			// the earliest sample from which the rest stays under budget
			at, found := time.Time{}, false
			for i := range after {
				rest := after[i:]
				if len(rest) < o.minSamples {
					break
				}
				if float64(countFailed(rest))/float64(len(rest)) < o.budget {
					at, found = after[i].Time, true
					break
				}
			}
			switch {
			case !found:
				fmt.Fprintf(&b, "%s never got back below %s over %d or more samples before the replay ended\n", component, pct(o.budget), o.minSamples)
			default:
				fmt.Fprintf(&b, "%s back below %s from %s, %s after the restore\n", component, pct(o.budget), clock(at), at.Sub(r.DNSRestored).Round(time.Second))
			}
			b.WriteString(buckets(after, 10*time.Minute))
			return found && at.Sub(r.DNSRestored) <= d, b.String()
		},
	}
}

// componentSamples are a component's (or probe's) samples; the error names
// the user's components.
func componentSamples(r *Result, name string) ([]timeline.Sample, error) {
	s := r.Samples(name)
	if s == nil {
		return nil, fmt.Errorf("no samples of %q: the replay's user components are %v (WithProbes, InComponent)", name, r.componentNames())
	}
	return s, nil
}

func inEmpty(spans []timeline.RecordSpan, t time.Time) bool {
	for _, sp := range spans {
		if !t.Before(sp.Start) && t.Before(sp.End) {
			return true
		}
	}
	return false
}

func countFailed(ss []timeline.Sample) int {
	n := 0
	for _, s := range ss {
		if !s.OK {
			n++
		}
	}
	return n
}

// buckets renders the error rate per stretch of incident time, with the
// commonest failure code.
func buckets(ss []timeline.Sample, width time.Duration) string {
	if len(ss) == 0 {
		return ""
	}
	var b strings.Builder
	start := ss[0].Time.Truncate(width)
	for i := 0; i < len(ss); {
		end := start.Add(width)
		var in []timeline.Sample
		for ; i < len(ss) && ss[i].Time.Before(end); i++ {
			in = append(in, ss[i])
		}
		if len(in) > 0 {
			f := countFailed(in)
			fmt.Fprintf(&b, "  %s-%s  %3d samples  %5s failed", clock(start), clock(end), len(in), pct(float64(f)/float64(len(in))))
			if code := commonest(in); code != "" {
				fmt.Fprintf(&b, "  (mostly %s)", code)
			}
			b.WriteString("\n")
		}
		start = end
	}
	return b.String()
}

func commonest(ss []timeline.Sample) string {
	n := map[string]int{}
	best := ""
	for _, s := range ss {
		if s.OK {
			continue
		}
		n[s.Code]++
		if best == "" || n[s.Code] > n[best] {
			best = s.Code
		}
	}
	return best
}

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

func clock(t time.Time) string { return t.In(PDT).Format("15:04") }

func span(a, b time.Time) string { return clock(a) + "-" + clock(b) + " PDT" }
