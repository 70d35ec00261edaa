package faults

import (
	"context"
	"net/http"
	"strings"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
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
