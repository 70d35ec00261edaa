package dnsplan

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// RestoreOptions tunes the operator's repair of an endpoint.
type RestoreOptions struct {
	// Generation to put the endpoint on; 0 picks the newest complete one.
	Generation uint64
	// LBs re-create the plan's records when the generation lacks them; nil
	// copies them from the newest generation that still holds the plan.
	LBs []LB
}

// ErrNothingToRestore is returned when no generation or plan records can be found.
var ErrNothingToRestore = errors.New("nothing to restore from")

// RestoreEndpoint is the operator action "restore DNS by hand" over the
// Route53 API: it puts ep back on a generation with UPSERTs of its CNAME and
// claim, re-creating the plan's records if they are gone, and deletes the
// claim it replaces. It returns the generation ep is on afterwards.
func RestoreEndpoint(ctx context.Context, c *route53.Client, ep Endpoint, opts RestoreOptions) (uint64, error) {
	zones, err := LookupZones(ctx, c, Zones, false)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	return Restore(ctx, NewRoute53Store(c), zones, ep, opts)
}

// Restore is RestoreEndpoint over any Store.
func Restore(ctx context.Context, st Store, zones ZoneIDs, ep Endpoint, opts RestoreOptions) (uint64, error) {
	planZone, err := zones.ID(RegionalZone)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	epZone, err := zones.ID(ep.Zone)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	gens, err := ListGenerations(ctx, st, planZone, RegionalZone)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	gen := opts.Generation
	if gen == 0 {
		if gen, _ = NewestComplete(gens); gen == 0 {
			return 0, fmt.Errorf("restore %s: no complete generation: %w", ep.ID, ErrNothingToRestore)
		}
	}
	plan, err := planRecords(ctx, st, planZone, ep.Plan, gen)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	if len(plan) == 0 {
		lbs := opts.LBs
		if lbs == nil {
			for i := len(gens) - 1; i >= 0 && lbs == nil; i-- {
				rs, err := planRecords(ctx, st, planZone, ep.Plan, gens[i].Gen)
				if err != nil {
					return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
				}
				for _, r := range rs {
					lbs = append(lbs, LB{Name: r.SetID, IP: r.Values[0], Weight: r.Weight})
				}
			}
		}
		recs := PlanRecords(ep.Plan, gen, lbs)
		if len(recs) == 0 {
			return 0, fmt.Errorf("restore %s: no load balancers for plan %s: %w", ep.ID, ep.Plan, ErrNothingToRestore)
		}
		changes := make([]Change, 0, len(recs))
		for _, r := range recs {
			changes = append(changes, Change{Action: Upsert, Record: r})
		}
		if err := st.Change(ctx, planZone, changes); err != nil {
			return 0, fmt.Errorf("restore %s: re-create plan %s: %w", ep.ID, PlanName(ep.Plan, gen), err)
		}
	}
	cur, err := ReadEndpoint(ctx, st, zones, ep)
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	changes := []Change{{Action: Upsert, Record: CNAMERecord(ep, gen)}, {Action: Upsert, Record: ClaimRecord(ep, gen)}}
	if cur.Claim && cur.Generation != gen {
		changes = append(changes, Change{Action: Delete, Record: ClaimRecord(ep, cur.Generation)})
	}
	if err := st.Change(ctx, epZone, changes); err != nil {
		return 0, fmt.Errorf("restore %s: %w", ep.ID, err)
	}
	return gen, nil
}

func planRecords(ctx context.Context, st Store, zoneID, planID string, gen uint64) ([]Record, error) {
	var out []Record
	name := PlanName(planID, gen)
	err := WalkSubtree(ctx, st, zoneID, name, 10, func(r Record) error {
		if Canonical(r.Name) == name && r.Type == TypeA && len(r.Values) > 0 {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Empty deletes ep's CNAME and its claim in one change batch (the endpoint
// resolves to nothing and no Enactor's transaction owns it), reading them
// again when the automation changed them in between (up to 5 tries). An
// endpoint with no CNAME is already empty.
func Empty(ctx context.Context, st Store, zones ZoneIDs, ep Endpoint) error {
	var err error
	for range 5 {
		if err = emptyOnce(ctx, st, zones, ep); err == nil || !errors.Is(err, ErrInvalidChangeBatch) && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

func emptyOnce(ctx context.Context, st Store, zones ZoneIDs, ep Endpoint) error {
	state, err := ReadEndpoint(ctx, st, zones, ep)
	if err != nil {
		return fmt.Errorf("empty %s: %w", ep.ID, err)
	}
	if state.CNAME == nil {
		return nil // already empty
	}
	zoneID, err := zones.ID(ep.Zone)
	if err != nil {
		return err
	}
	changes := []Change{{Action: Delete, Record: *state.CNAME}}
	if state.Claim {
		if claim, ok, err := ReadRecord(ctx, st, zoneID, ClaimName(ep, state.Generation), TypeTXT); err == nil && ok {
			changes = append(changes, Change{Action: Delete, Record: claim})
		}
	}
	if err := st.Change(ctx, zoneID, changes); err != nil {
		return fmt.Errorf("empty %s: %w", ep.ID, err)
	}
	return nil
}
