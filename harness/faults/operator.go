package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
)

// The operator actions of the incident. They are recorded in the ledger
// with Operator set; those with an end (automation disabled, a throttle)
// are reverted like faults.

// RestoreDNS repairs an endpoint by hand on the newest complete generation
// (mocks/dnsplan.RestoreEndpoint).
type RestoreDNS struct{ Endpoint dnsplan.Endpoint }

// Apply restores the endpoint.
func (r *RestoreDNS) Apply(ctx context.Context, s harness.Stack) error {
	_, err := restore(ctx, s, r.Endpoint)
	return err
}

// Revert does nothing: a repair is not undone.
func (r *RestoreDNS) Revert(ctx context.Context, s harness.Stack) error { return nil }

// Instant reports that there is nothing to revert.
func (r *RestoreDNS) Instant() bool { return true }

// Describe is the ledger entry.
func (r *RestoreDNS) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "restore-dns", Target: r.Endpoint.ID, Operator: true}
}

// RestoreRegional restores the regional endpoint by hand.
func RestoreRegional() *RestoreDNS { return &RestoreDNS{Endpoint: dnsplan.Regional} }

// DisableDNSAutomation disables every DNS Enactor (POST /admin/disable), as
// AWS did worldwide; Revert enables them again.
type DisableDNSAutomation struct{}

// Apply disables every enactor and waits until none is in the middle of a
// run: a run in flight would otherwise still write after the action.
func (DisableDNSAutomation) Apply(ctx context.Context, s harness.Stack) error {
	if err := eachInstance(ctx, s, harness.DNSEnactorSvc, http.MethodPost, "/admin/disable", nil); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, in := range instancesOf(s, harness.DNSEnactorSvc) {
		for {
			raw, err := adminDo(ctx, s, in, http.MethodGet, "/admin/state", nil)
			if err != nil {
				return err
			}
			var st struct {
				Running bool `json:"running"`
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				return fmt.Errorf("%s state: %w", in, err)
			}
			if !st.Running {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s still running after disable: %w", in, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

// Revert enables them.
func (DisableDNSAutomation) Revert(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.DNSEnactorSvc, http.MethodPost, "/admin/enable", nil)
}

// Describe is the ledger entry.
func (DisableDNSAutomation) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "disable-dns-automation", Target: harness.DNSEnactorSvc, Operator: true}
}

// ThrottleDWFM throttles every DWFM host's intake to PerMinute re-leases
// (POST /admin/throttle); Revert removes the throttle.
type ThrottleDWFM struct{ PerMinute float64 }

// Apply throttles every host.
func (t *ThrottleDWFM) Apply(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.DWFMSvc, http.MethodPost, "/admin/throttle", map[string]float64{"ratePerMinute": t.PerMinute})
}

// Revert removes the throttle.
func (t *ThrottleDWFM) Revert(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.DWFMSvc, http.MethodDelete, "/admin/throttle", nil)
}

// Describe is the ledger entry.
func (t *ThrottleDWFM) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "throttle-dwfm", Target: harness.DWFMSvc, Detail: fmt.Sprintf("%g/min", t.PerMinute), Operator: true}
}

// ThrottleEC2 is the operators' RunInstances throttle (POST /admin/throttle
// on EC2's admin API): PerMinute launches per incident minute with a burst
// of one; launches beyond it see RequestLimitExceeded. Revert relaxes it.
type ThrottleEC2 struct{ PerMinute float64 }

// Apply throttles RunInstances.
func (t *ThrottleEC2) Apply(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.EC2Svc, http.MethodPost, "/admin/throttle", map[string]float64{"ratePerMinute": t.PerMinute, "burst": 1})
}

// Revert relaxes the throttle.
func (t *ThrottleEC2) Revert(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.EC2Svc, http.MethodDelete, "/admin/throttle", nil)
}

// Describe is the ledger entry.
func (t *ThrottleEC2) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "throttle-ec2", Target: harness.EC2Svc, Detail: fmt.Sprintf("%g/min", t.PerMinute), Operator: true}
}

// RestartDWFM restarts one DWFM host: its own restart action (POST
// /admin/restart: queues and leases in memory dropped) in the embedded
// backend, a real restart of its container otherwise, begun in the
// background (see restarts.go: Apply returns once it is under way).
type RestartDWFM struct{ Instance string }

// Apply restarts the host.
func (r *RestartDWFM) Apply(ctx context.Context, s harness.Stack) error {
	if harness.KindOf(r.Instance) != harness.DWFMSvc {
		return fmt.Errorf("%w service=%q: valid DWFM hosts are %v", ErrBadArgument, r.Instance, instancesOf(s, harness.DWFMSvc))
	}
	if s.Endpoints().Backend == "embedded" {
		_, err := adminDo(ctx, s, r.Instance, http.MethodPost, "/admin/restart", nil)
		return err
	}
	return startRestart(ctx, s, r.Instance)
}

// Revert does nothing.
func (r *RestartDWFM) Revert(ctx context.Context, s harness.Stack) error { return nil }

// Instant reports that there is nothing to revert.
func (r *RestartDWFM) Instant() bool { return true }

// Describe is the ledger entry.
func (r *RestartDWFM) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "restart-dwfm", Target: r.Instance, Operator: true}
}

// DisableNLBFailover turns the NLB's automatic AZ DNS failover off
// (POST /admin/failover/disable); Revert turns it on.
type DisableNLBFailover struct{}

// Apply disables failover.
func (DisableNLBFailover) Apply(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.NLBSvc, http.MethodPost, "/admin/failover/disable", nil)
}

// Revert enables it.
func (DisableNLBFailover) Revert(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.NLBSvc, http.MethodPost, "/admin/failover/enable", nil)
}

// Describe is the ledger entry.
func (DisableNLBFailover) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "disable-nlb-failover", Target: harness.NLBSvc, Operator: true}
}

// RestartLambdaPollers is the operators' repair of Lambda's SQS polling
// (real: by hand at 04:40 PDT): POST /admin/pollers/restart releases every
// event-source lease and restarts every poller worker.
type RestartLambdaPollers struct{}

// Apply restarts the pollers.
func (RestartLambdaPollers) Apply(ctx context.Context, s harness.Stack) error {
	return eachInstance(ctx, s, harness.LambdaSvc, http.MethodPost, "/admin/pollers/restart", nil)
}

// Revert does nothing: a restart is not undone.
func (RestartLambdaPollers) Revert(ctx context.Context, s harness.Stack) error { return nil }

// Instant reports that there is nothing to revert.
func (RestartLambdaPollers) Instant() bool { return true }

// Describe is the ledger entry.
func (RestartLambdaPollers) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindOperator, Name: "restart-lambda-pollers", Target: harness.LambdaSvc, Operator: true}
}

func eachInstance(ctx context.Context, s harness.Stack, kind, method, path string, body any) error {
	insts := instancesOf(s, kind)
	if len(insts) == 0 {
		return fmt.Errorf("%s %s: %w %s: not running in this stack", method, path, harness.ErrUnknownService, kind)
	}
	var errs []error
	for _, in := range insts {
		if _, err := adminDo(ctx, s, in, method, path, body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func init() {
	Register(Spec{Name: "restore-dns", Kind: KindOperator, Help: "operator: restore an endpoint's record by hand",
		Params: []Param{endpointParam()},
		New: func(a Args) (Fault, error) {
			ep, err := Endpoint(a.String("endpoint", "regional"))
			if err != nil {
				return nil, err
			}
			return &RestoreDNS{Endpoint: ep}, nil
		}})
	Register(Spec{Name: "disable-dns-automation", Kind: KindOperator, Help: "operator: disable every DNS Enactor (revert: enable)",
		New: func(a Args) (Fault, error) { return DisableDNSAutomation{}, nil }})
	Register(Spec{Name: "throttle-dwfm", Kind: KindOperator, Help: "operator: throttle DWFM intake (revert: remove the throttle)",
		Params: []Param{{Name: "rate", Default: "1", Help: "re-leases per incident minute per host"}},
		New: func(a Args) (Fault, error) {
			r, err := a.Float("rate", 1)
			if err != nil || r < 0 {
				return nil, fmt.Errorf("%w rate=%q: want a number >= 0", ErrBadArgument, a["rate"])
			}
			return &ThrottleDWFM{PerMinute: r}, nil
		}})
	Register(Spec{Name: "throttle-ec2", Kind: KindOperator, Help: "operator: throttle EC2 RunInstances (RequestLimitExceeded beyond it; revert: relax)",
		Params: []Param{{Name: "rate", Default: "1", Help: "launches per incident minute"}},
		New: func(a Args) (Fault, error) {
			r, err := a.Float("rate", 1)
			if err != nil || r < 0 {
				return nil, fmt.Errorf("%w rate=%q: want a number >= 0", ErrBadArgument, a["rate"])
			}
			return &ThrottleEC2{PerMinute: r}, nil
		}})
	Register(Spec{Name: "restart-dwfm", Kind: KindOperator, Help: "operator: restart one DWFM host",
		Params: []Param{{Name: "service", Default: "dwfm-a", Help: "DWFM host: dwfm-a, dwfm-b, dwfm-c"}},
		New:    func(a Args) (Fault, error) { return &RestartDWFM{Instance: a.String("service", "dwfm-a")}, nil }})
	Register(Spec{Name: "disable-nlb-failover", Kind: KindOperator, Help: "operator: disable NLB automatic AZ failover (revert: enable)",
		New: func(a Args) (Fault, error) { return DisableNLBFailover{}, nil }})
	Register(Spec{Name: "restart-lambda-pollers", Kind: KindOperator, Help: "operator: release Lambda's event-source leases and restart its SQS pollers",
		New: func(a Args) (Fault, error) { return RestartLambdaPollers{}, nil }})
}
