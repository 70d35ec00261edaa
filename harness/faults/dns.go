package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
)

// Endpoint returns the DNS automation's endpoint with id (regional,
// dualstack, fips); the error names the valid ids.
func Endpoint(id string) (dnsplan.Endpoint, error) {
	eps, _ := dnsplan.Endpoints(nil, 0)
	var ids []string
	for _, ep := range eps {
		if ep.ID == id {
			return ep, nil
		}
		ids = append(ids, ep.ID)
	}
	sort.Strings(ids)
	return dnsplan.Endpoint{}, fmt.Errorf("%w endpoint=%q: valid endpoints are %s", ErrBadArgument, id, strings.Join(ids, ", "))
}

// route53Store is the DNS plan store of a stack, over its Route53 API.
func route53Store(ctx context.Context, s harness.Stack) (*dnsplan.Route53Store, dnsplan.ZoneIDs, error) {
	c, err := s.Route53()
	if err != nil {
		return nil, nil, err
	}
	zones, err := dnsplan.LookupZones(ctx, c, dnsplan.Zones, false)
	if err != nil {
		return nil, nil, err
	}
	return dnsplan.NewRoute53Store(c), zones, nil
}

// restore puts ep back on the newest complete generation (the operator's
// repair by hand, mocks/dnsplan.RestoreEndpoint).
func restore(ctx context.Context, s harness.Stack, ep dnsplan.Endpoint) (uint64, error) {
	c, err := s.Route53()
	if err != nil {
		return 0, err
	}
	return dnsplan.RestoreEndpoint(ctx, c, ep, dnsplan.RestoreOptions{})
}

// EmptyEndpoint deletes an endpoint's record (its CNAME and claim), so the
// name resolves to nothing: what clients saw in the incident. Revert
// restores it by hand on the newest complete generation.
type EmptyEndpoint struct{ Endpoint dnsplan.Endpoint }

// Empty returns the fault emptying the endpoint with id.
func Empty(id string) (*EmptyEndpoint, error) {
	ep, err := Endpoint(id)
	if err != nil {
		return nil, err
	}
	return &EmptyEndpoint{Endpoint: ep}, nil
}

// Apply deletes the endpoint's CNAME and claim in one change batch
// (dnsplan.Empty, which the sim's Stack.EmptyEndpoint runs too).
func (e *EmptyEndpoint) Apply(ctx context.Context, s harness.Stack) error {
	st, zones, err := route53Store(ctx, s)
	if err != nil {
		return fmt.Errorf("empty %s: %w", e.Endpoint.ID, err)
	}
	return dnsplan.Empty(ctx, st, zones, e.Endpoint)
}

// Revert restores the endpoint by hand.
func (e *EmptyEndpoint) Revert(ctx context.Context, s harness.Stack) error {
	_, err := restore(ctx, s, e.Endpoint)
	return err
}

// Describe is the ledger entry.
func (e *EmptyEndpoint) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindDNSEdit, Name: "empty-endpoint", Target: e.Endpoint.ID, Detail: e.Endpoint.Name}
}

// DeletePlan deletes the plan records an endpoint's CNAME points at,
// leaving the CNAME dangling: the state the incident's clean-up left. Route53
// in fixed mode refuses it. Revert restores the endpoint by hand.
type DeletePlan struct{ Endpoint dnsplan.Endpoint }

// Apply deletes the active plan's records.
func (d *DeletePlan) Apply(ctx context.Context, s harness.Stack) error {
	st, zones, err := route53Store(ctx, s)
	if err != nil {
		return fmt.Errorf("delete plan of %s: %w", d.Endpoint.ID, err)
	}
	return d.apply(ctx, st, zones)
}

// apply deletes the active plan's records over any store (the SDK's on
// the real backends, Route53's own on the sim).
func (d *DeletePlan) apply(ctx context.Context, st dnsplan.Store, zones dnsplan.ZoneIDs) error {
	state, err := dnsplan.ReadEndpoint(ctx, st, zones, d.Endpoint)
	if err != nil {
		return fmt.Errorf("delete plan of %s: %w", d.Endpoint.ID, err)
	}
	if state.Generation == 0 {
		return fmt.Errorf("delete plan of %s: the endpoint points at no plan", d.Endpoint.ID)
	}
	planZone, err := zones.ID(dnsplan.RegionalZone)
	if err != nil {
		return err
	}
	name := dnsplan.PlanName(d.Endpoint.Plan, state.Generation)
	var changes []dnsplan.Change
	err = dnsplan.WalkSubtree(ctx, st, planZone, name, 100, func(r dnsplan.Record) error {
		if dnsplan.Canonical(r.Name) == name {
			changes = append(changes, dnsplan.Change{Action: dnsplan.Delete, Record: r})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	if err := st.Change(ctx, planZone, changes); err != nil {
		return fmt.Errorf("delete plan g%d of %s: %w", state.Generation, d.Endpoint.ID, err)
	}
	return nil
}

// Revert restores the endpoint by hand.
func (d *DeletePlan) Revert(ctx context.Context, s harness.Stack) error {
	_, err := restore(ctx, s, d.Endpoint)
	return err
}

// Describe is the ledger entry.
func (d *DeletePlan) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindDNSEdit, Name: "delete-plan", Target: d.Endpoint.ID}
}

func endpointParam() Param {
	return Param{Name: "endpoint", Default: "regional", Help: "endpoint id: regional, dualstack, fips"}
}

func init() {
	Register(Spec{Name: "empty-endpoint", Kind: KindDNSEdit, Help: "delete an endpoint's record so it resolves to nothing (revert: restore by hand)",
		Params: []Param{endpointParam()},
		New: func(a Args) (Fault, error) {
			f, err := Empty(a.String("endpoint", "regional"))
			if err != nil {
				return nil, err
			}
			return f, nil
		}})
	Register(Spec{Name: "delete-plan", Kind: KindDNSEdit, Help: "delete the plan an endpoint points at, leaving its CNAME dangling (revert: restore by hand)",
		Params: []Param{endpointParam()},
		New: func(a Args) (Fault, error) {
			ep, err := Endpoint(a.String("endpoint", "regional"))
			if err != nil {
				return nil, err
			}
			return &DeletePlan{Endpoint: ep}, nil
		}})
}
