package dnsplan

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Record types the automation writes.
const (
	TypeA     = "A"
	TypeCNAME = "CNAME"
	TypeTXT   = "TXT"
)

// Record is one Route53 resource record set, reduced to what the plans use.
type Record struct {
	Name   string   `json:"name"`            // FQDN, lowercase, trailing dot
	Type   string   `json:"type"`            // A, CNAME, TXT
	SetID  string   `json:"setId,omitempty"` // weighted set identifier (LB name)
	Weight int64    `json:"weight,omitempty"`
	TTL    int64    `json:"ttl"`
	Values []string `json:"values"` // TXT values quoted as Route53 stores them
}

// Equal reports whether r and o are the same record set (what Route53's
// exact-match DELETE compares).
func (r Record) Equal(o Record) bool {
	if r.Name != o.Name || r.Type != o.Type || r.SetID != o.SetID || r.Weight != o.Weight || r.TTL != o.TTL || len(r.Values) != len(o.Values) {
		return false
	}
	for i := range r.Values {
		if r.Values[i] != o.Values[i] {
			return false
		}
	}
	return true
}

// Action is a change's action.
type Action string

// Change actions.
const (
	Create Action = "CREATE"
	Delete Action = "DELETE"
	Upsert Action = "UPSERT"
)

// Change is one change of a Route53 change batch.
type Change struct {
	Action Action `json:"action"`
	Record Record `json:"record"`
}

// Cursor is where a List starts: the first record set whose (name, type,
// set identifier) sorts at or after it, in Route53's order.
type Cursor struct {
	Name  string
	Type  string
	SetID string
}

// Page is one page of a List: the records and where the next page starts
// (nil when the listing is complete).
type Page struct {
	Records []Record
	Next    *Cursor
}

// Store is the few Route53 calls the DNS automation makes. The transports
// implement it over aws-sdk-go-v2 (NewRoute53Store); unit tests use MemStore.
type Store interface {
	// List returns up to max record sets of zoneID from start on, in Route53's order.
	List(ctx context.Context, zoneID string, start Cursor, max int) (Page, error)
	// Change applies the batch atomically, or none of it.
	Change(ctx context.Context, zoneID string, changes []Change) error
}

// Errors a Store returns (wrapped); compare with errors.Is.
var (
	// ErrInvalidChangeBatch: a DELETE did not match exactly, a CREATE found
	// the record there, or the batch is malformed. Route53's compare-and-swap.
	ErrInvalidChangeBatch = errors.New("InvalidChangeBatch")
	// ErrConflict: another change to the zone was in progress (PriorRequestNotComplete).
	ErrConflict = errors.New("PriorRequestNotComplete")
	// ErrThrottled: Route53 throttled the call.
	ErrThrottled = errors.New("Throttling")
	// ErrNoSuchZone: the hosted zone does not exist.
	ErrNoSuchZone = errors.New("NoSuchHostedZone")
)

// ErrorCode is the Route53 error code of err ("InvalidChangeBatch", ...), or
// "error" for anything else and "" for nil.
func ErrorCode(err error) string {
	for _, e := range []error{ErrInvalidChangeBatch, ErrConflict, ErrThrottled, ErrNoSuchZone} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}

// SortKey orders record sets as Route53 lists them: by name with its labels
// reversed (com.amazonaws.us-east-1.ddb...), then type, then set identifier.
// Labels are joined with \x01 and the name ends with \x00 so that a name sorts
// before the names below it.
func SortKey(name, typ, setID string) string {
	name = strings.TrimSuffix(Canonical(name), ".")
	labels := strings.Split(name, ".")
	var b strings.Builder
	b.Grow(len(name) + len(typ) + len(setID) + 3)
	for i := len(labels) - 1; i >= 0; i-- {
		b.WriteString(labels[i])
		if i > 0 {
			b.WriteByte(1)
		}
	}
	b.WriteByte(0)
	b.WriteString(typ)
	b.WriteByte(0)
	b.WriteString(setID)
	return b.String()
}

// LB is a load balancer of a plan with its weight (0: out of the plan).
type LB struct {
	Name   string `json:"name"`
	IP     string `json:"ip"`
	Weight int64  `json:"weight"`
}

// PlanRecords are the weighted A records of plan planID in generation gen:
// one per load balancer with a positive weight.
func PlanRecords(planID string, gen uint64, lbs []LB) []Record {
	name := PlanName(planID, gen)
	out := make([]Record, 0, len(lbs))
	for _, lb := range lbs {
		if lb.Weight <= 0 {
			continue
		}
		out = append(out, Record{Name: name, Type: TypeA, SetID: lb.Name, Weight: lb.Weight, TTL: PlanTTL, Values: []string{lb.IP}})
	}
	return out
}

// MarkerRecord is generation gen's marker, listing how many plans and records it holds.
func MarkerRecord(gen uint64, plans, records int, reason string) Record {
	v := "generation=" + strconv.FormatUint(gen, 10) + " plans=" + strconv.Itoa(plans) + " records=" + strconv.Itoa(records)
	if reason != "" {
		v += " reason=" + reason
	}
	return Record{Name: MarkerName(gen), Type: TypeTXT, TTL: MarkerTTL, Values: []string{strconv.Quote(v)}}
}

// CNAMERecord points ep at its plan in generation gen.
func CNAMERecord(ep Endpoint, gen uint64) Record {
	return Record{Name: ep.Name, Type: TypeCNAME, TTL: CNAMETTL, Values: []string{PlanName(ep.Plan, gen)}}
}

// ClaimRecord is ep's claim on generation gen.
func ClaimRecord(ep Endpoint, gen uint64) Record {
	return Record{Name: ClaimName(ep, gen), Type: TypeTXT, TTL: ClaimTTL, Values: []string{ClaimValue(ep, gen)}}
}

// CNAMEGeneration is the generation a CNAME record of ep points at (0 when
// it names no plan of ep).
func CNAMEGeneration(ep Endpoint, r Record) uint64 {
	if r.Type != TypeCNAME || len(r.Values) != 1 {
		return 0
	}
	planID, gen, ok := PlanOf(r.Values[0])
	if !ok || planID != ep.Plan {
		return 0
	}
	return gen
}
