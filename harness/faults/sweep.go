package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Leftovers is what an earlier run left behind in a stack.
type Leftovers struct {
	Toxics        []string `json:"toxics,omitempty"`         // link/toxic
	DisabledLinks []string `json:"disabled_links,omitempty"` // links whose proxy was off
	Failpoints    []string `json:"failpoints,omitempty"`     // name=terms
	Services      []string `json:"services,omitempty"`       // instance: state
}

// Empty reports whether nothing was left.
func (l Leftovers) Empty() bool {
	return len(l.Toxics)+len(l.DisabledLinks)+len(l.Failpoints)+len(l.Services) == 0
}

// String lists the leftovers on one line.
func (l Leftovers) String() string {
	if l.Empty() {
		return "nothing left behind"
	}
	var parts []string
	add := func(what string, xs []string) {
		if len(xs) > 0 {
			parts = append(parts, what+": "+strings.Join(xs, ", "))
		}
	}
	add("toxics", l.Toxics)
	add("disabled links", l.DisabledLinks)
	add("failpoints", l.Failpoints)
	add("services", l.Services)
	return strings.Join(parts, "; ")
}

// Inspect lists the leftovers without removing them.
func Inspect(ctx context.Context, s harness.Stack) (Leftovers, error) { return sweep(ctx, s, false) }

// Sweep removes every toxic, re-enables every disabled link, disables every
// enabled failpoint and starts or resumes every service that is not
// running, and reports what it found. A run calls it before its first fault.
func Sweep(ctx context.Context, s harness.Stack) (Leftovers, error) { return sweep(ctx, s, true) }

func sweep(ctx context.Context, s harness.Stack, fix bool) (Leftovers, error) {
	var left Leftovers
	var errs []error
	tp := s.Toxiproxy()
	proxies, err := tp.Proxies()
	if err != nil {
		errs = append(errs, fmt.Errorf("list proxies: %w", err))
	}
	names := make([]string, 0, len(proxies))
	for n := range proxies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := proxies[n]
		if !p.Enabled {
			left.DisabledLinks = append(left.DisabledLinks, n)
			if fix {
				if err := p.Enable(); err != nil {
					errs = append(errs, fmt.Errorf("enable %s: %w", n, err))
				}
			}
		}
		for _, t := range p.ActiveToxics {
			left.Toxics = append(left.Toxics, n+"/"+t.Name)
			if fix {
				if err := tp.RemoveToxic(&toxiclient.ToxicOptions{ProxyName: n, ToxicName: t.Name}); err != nil && !isNotFound(err) {
					errs = append(errs, fmt.Errorf("remove toxic %s/%s: %w", n, t.Name, err))
				}
			}
		}
	}
	for _, in := range s.Endpoints().Instances() {
		raw, err := adminDo(ctx, s, in, http.MethodGet, "/failpoints", nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var fps []kit.FailpointStatus
		if err := json.Unmarshal(raw, &fps); err != nil {
			errs = append(errs, fmt.Errorf("%s failpoints: %w", in, err))
			continue
		}
		for _, fp := range fps {
			if fp.Terms == "" {
				continue
			}
			left.Failpoints = append(left.Failpoints, fp.Name+"="+fp.Terms)
			if fix {
				if _, err := adminDo(ctx, s, in, http.MethodDelete, "/failpoints/"+fp.Name, nil); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for _, svc := range s.Services() {
		if svc.State == harness.Running || svc.State == "" {
			continue
		}
		left.Services = append(left.Services, svc.Name+": "+string(svc.State))
		if !fix {
			continue
		}
		action := harness.ActionStart
		if svc.State == harness.Paused {
			action = harness.ActionResume
		}
		if err := s.Control(ctx, svc.Name, action); err != nil && !errors.Is(err, harness.ErrUnsupported) {
			errs = append(errs, err)
		}
	}
	return left, errors.Join(errs...)
}
