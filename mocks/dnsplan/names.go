package dnsplan

import (
	"fmt"
	"strconv"
	"strings"
)

// Zone names the automation writes to.
const (
	// RegionalZone holds the plans, the regional, FIPS and account endpoints.
	RegionalZone = "us-east-1.amazonaws.com."
	// DualStackZone holds the dual-stack (IPv6) endpoint.
	DualStackZone = "api.aws."
	// PlansLabel is the label under which generations live in a zone.
	PlansLabel = "ddb-plans"
)

// Zones lists the hosted zones the automation needs.
var Zones = []string{RegionalZone, DualStackZone}

// TTLs of the records (seconds). Plans are short-lived so a new plan reaches
// clients quickly; the claim's TTL is irrelevant (nobody resolves it).
const (
	PlanTTL   = 5
	CNAMETTL  = 5
	ClaimTTL  = 300
	MarkerTTL = 300
)

// Endpoint is one DNS name the automation manages.
type Endpoint struct {
	// ID is DNS-label-safe and unique: regional, dualstack, fips, acct-<12 digits>, syn-000001.
	ID string `json:"id"`
	// Name is the endpoint's FQDN (lowercase, trailing dot).
	Name string `json:"name"`
	// Zone is the hosted zone holding Name and the endpoint's claims.
	Zone string `json:"zone"`
	// Plan is the plan the endpoint uses; regional and dualstack share "regional".
	Plan string `json:"plan"`
}

// Regional is the public regional endpoint whose record the race empties.
var Regional = Endpoint{ID: "regional", Name: "dynamodb.us-east-1.amazonaws.com.", Zone: RegionalZone, Plan: "regional"}

// DualStack is the IPv6 (dual-stack) endpoint; it shares the regional plan.
var DualStack = Endpoint{ID: "dualstack", Name: "dynamodb.us-east-1.api.aws.", Zone: DualStackZone, Plan: "regional"}

// FIPS is the FIPS endpoint; it has its own plan.
var FIPS = Endpoint{ID: "fips", Name: "dynamodb-fips.us-east-1.amazonaws.com.", Zone: RegionalZone, Plan: "fips"}

// AccountEndpoint is the account-specific endpoint of a 12-digit account.
func AccountEndpoint(account string) (Endpoint, error) {
	if len(account) != 12 || strings.Trim(account, "0123456789") != "" {
		return Endpoint{}, fmt.Errorf("account %q: want 12 digits", account)
	}
	id := "acct-" + account
	return Endpoint{ID: id, Name: account + ".ddb." + RegionalZone, Zone: RegionalZone, Plan: id}, nil
}

// SyntheticEndpoint is the i-th (from 1) synthetic endpoint added for scale.
func SyntheticEndpoint(i int) Endpoint {
	id := fmt.Sprintf("syn-%06d", i)
	return Endpoint{ID: id, Name: id + ".ddb." + RegionalZone, Zone: RegionalZone, Plan: id}
}

// Endpoints lists every managed endpoint: regional, dual-stack, FIPS, the
// accounts' and synthetic ones, in that order.
func Endpoints(accounts []string, synthetic int) ([]Endpoint, error) {
	eps := []Endpoint{Regional, DualStack, FIPS}
	seen := map[string]bool{}
	for _, a := range accounts {
		ep, err := AccountEndpoint(a)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		eps = append(eps, ep)
	}
	if synthetic < 0 {
		return nil, fmt.Errorf("synthetic endpoints %d: must not be negative", synthetic)
	}
	for i := 1; i <= synthetic; i++ {
		eps = append(eps, SyntheticEndpoint(i))
	}
	return eps, nil
}

// PlanIDs lists the distinct plans of eps, in order of first use.
func PlanIDs(eps []Endpoint) []string {
	seen := make(map[string]bool, len(eps))
	var ids []string
	for _, ep := range eps {
		if !seen[ep.Plan] {
			seen[ep.Plan] = true
			ids = append(ids, ep.Plan)
		}
	}
	return ids
}

// GenLabel is the label of generation gen: g00000042.
func GenLabel(gen uint64) string { return fmt.Sprintf("g%08d", gen) }

// PlansDomain is ddb-plans.<zone>.
func PlansDomain(zone string) string { return PlansLabel + "." + zone }

// GenDomain is g<gen>.ddb-plans.<zone>: the subtree of one generation in a
// zone, and in RegionalZone the name of its marker.
func GenDomain(zone string, gen uint64) string { return GenLabel(gen) + "." + PlansDomain(zone) }

// MarkerName is the name of generation gen's marker TXT record.
func MarkerName(gen uint64) string { return GenDomain(RegionalZone, gen) }

// PlanName is the name of plan planID's weighted records in generation gen.
func PlanName(planID string, gen uint64) string { return planID + "." + GenDomain(RegionalZone, gen) }

// ClaimName is the name of ep's claim on generation gen (in ep's zone).
func ClaimName(ep Endpoint, gen uint64) string {
	return ep.ID + ".claim." + GenDomain(ep.Zone, gen)
}

// ClaimsDomain is claim.g<gen>.ddb-plans.<zone>: the parent of a generation's claims in zone.
func ClaimsDomain(zone string, gen uint64) string { return "claim." + GenDomain(zone, gen) }

// ClaimValue is the TXT value of ep's claim on gen. It is a function of both,
// so an Enactor can build the exact DELETE without reading the claim.
func ClaimValue(ep Endpoint, gen uint64) string {
	return strconv.Quote("endpoint=" + ep.ID + " generation=" + strconv.FormatUint(gen, 10))
}

// GenerationOf returns the generation of a name under ddb-plans.<zone> (a
// marker, plan, or claim name) and whether it is one.
func GenerationOf(name, zone string) (uint64, bool) {
	rest, ok := strings.CutSuffix(Canonical(name), "."+PlansDomain(zone))
	if !ok {
		return 0, false
	}
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	if len(rest) < 2 || rest[0] != 'g' {
		return 0, false
	}
	gen, err := strconv.ParseUint(rest[1:], 10, 64)
	if err != nil {
		return 0, false
	}
	return gen, true
}

// PlanOf returns the plan ID and generation a CNAME target names.
func PlanOf(target string) (planID string, gen uint64, ok bool) {
	target = Canonical(target)
	gen, ok = GenerationOf(target, RegionalZone)
	if !ok {
		return "", 0, false
	}
	planID, _, found := strings.Cut(target, ".")
	if !found || target != PlanName(planID, gen) {
		return "", 0, false
	}
	return planID, gen, true
}

// Canonical lowercases name and adds the trailing dot.
func Canonical(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// InSubtree reports whether name is domain or below it.
func InSubtree(name, domain string) bool {
	return name == domain || strings.HasSuffix(name, "."+domain)
}
