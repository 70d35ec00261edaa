package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Failpoint enables a failpoint by its full name ("dnsenactor-a/before-apply-endpoint")
// with gofail-style terms ("sleep(90s)", "pause", "error(boom)", "50%return(x)").
// The instance is the part of the name before the first slash.
type Failpoint struct {
	Name  string
	Terms string
}

// EnableFailpoint returns the fault enabling name with terms.
func EnableFailpoint(name, terms string) *Failpoint { return &Failpoint{Name: name, Terms: terms} }

func (f *Failpoint) instance() string { i, _, _ := strings.Cut(f.Name, "/"); return i }

// Apply enables the failpoint through the instance's admin API.
func (f *Failpoint) Apply(ctx context.Context, s harness.Stack) error {
	_, err := adminDo(ctx, s, f.instance(), http.MethodPut, "/failpoints/"+f.Name, f.Terms)
	return err
}

// Revert disables it, releasing whoever it paused.
func (f *Failpoint) Revert(ctx context.Context, s harness.Stack) error {
	_, err := adminDo(ctx, s, f.instance(), http.MethodDelete, "/failpoints/"+f.Name, nil)
	return err
}

// Describe is the ledger entry.
func (f *Failpoint) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindFailpoint, Name: f.Name, Target: f.instance(), Detail: f.Terms}
}

// DNSServfail makes the mock DNS answer SERVFAIL (the route53 failpoint
// <route53>/dns-servfail).
func DNSServfail() *Failpoint {
	return EnableFailpoint(harness.Route53Svc+"/dns-servfail", "return(servfail)")
}

func init() {
	Register(Spec{Name: "failpoint", Kind: KindFailpoint, Help: "enable a failpoint by name (GET <admin>/failpoints lists them)",
		Params: []Param{{Name: "name", Required: true, Help: "<instance>/<point>, e.g. dnsenactor-a/before-apply-endpoint"}, {Name: "terms", Default: "return", Help: "gofail terms: sleep(90s), pause, error(msg), 50%return(x), 3*..."}},
		New: func(a Args) (Fault, error) {
			return EnableFailpoint(a["name"], a.String("terms", "return")), nil
		}})
	Register(Spec{Name: "dns-servfail", Kind: KindFailpoint, Help: "the mock DNS answers SERVFAIL",
		New: func(a Args) (Fault, error) { return DNSServfail(), nil }})
}

// FailpointState reads one failpoint's status (terms, hits, and how many
// callers it holds paused now) from its instance's admin API (GET
// /failpoints). A pause that is enabled has engaged only once Waiting > 0:
// an experiment that waits for a paused service checks that, rather than
// assuming the service reached the point.
func FailpointState(ctx context.Context, s harness.Stack, name string) (kit.FailpointStatus, error) {
	f := &Failpoint{Name: name}
	raw, err := adminDo(ctx, s, f.instance(), http.MethodGet, "/failpoints", nil)
	if err != nil {
		return kit.FailpointStatus{}, err
	}
	var all []kit.FailpointStatus
	if err := json.Unmarshal(raw, &all); err != nil {
		return kit.FailpointStatus{}, fmt.Errorf("failpoints of %s: %w", f.instance(), err)
	}
	var names []string
	for _, st := range all {
		if st.Name == name {
			return st, nil
		}
		names = append(names, st.Name)
	}
	return kit.FailpointStatus{}, fmt.Errorf("%w %q: valid failpoints are %s", kit.ErrUnknownFailpoint, name, strings.Join(names, ", "))
}
