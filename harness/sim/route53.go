package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/route53"
)

// Route53 is the route53 service in a run: the mock's own Store (its
// validation rules, its exact-match DELETE, fixed mode's dangling check)
// behind a sim server node. It is the sim's transport for the Store, as
// api.go is the HTTP one: calls arrive over the network and take the
// server's service time.
type Route53 struct {
	Store *route53.Store
	Zones dnsplan.ZoneIDs
	// Node is the server's name on the network.
	Node string
	// Timeout is a client's per-call timeout (incident time).
	Timeout time.Duration
	// OnChange runs after every change batch the Store accepted, at the
	// instant it took effect.
	OnChange func()
	// APIFault, when set, runs first in every API call's handler: an error
	// fails the call (the route53/api-error failpoint). DNSFault does the
	// same for a DNS query of name (route53/dns-servfail, dns-drop).
	APIFault func() error
	DNSFault func(name string) error
	net      *Network
	mode     kit.Mode
}

// NewRoute53 starts the route53 service as node on n, with the DNS
// automation's zones created. The Store draws its IDs from the run's random
// source.
func NewRoute53(n *Network, node string, mode kit.Mode, srv *Server) (*Route53, error) {
	r := &Route53{Zones: dnsplan.ZoneIDs{}, Node: node, Timeout: 30 * time.Second, net: n, mode: mode}
	if err := r.boot(); err != nil {
		return nil, err
	}
	n.Serve(node, srv)
	return r, nil
}

// boot is what the server's process does at start (route53.New): a new
// Store with the DNS automation's zones, nothing else. The first boot draws
// the zones' ids; a later one (Restart) creates them with the same ids, as
// the mock's new process does: it draws them from its instance seed, which
// a restart keeps.
func (r *Route53) boot() error {
	st := route53.NewStore(route53.StoreConfig{Mode: r.mode, Clock: r.net.s.Clock(), Rand: r.net.s.Rand()})
	for _, z := range dnsplan.Zones {
		var hz *route53.HostedZone
		var err error
		if id, ok := r.Zones[z]; ok {
			hz, _, err = st.RecreateZone(id, z, "cascade-"+z, "")
		} else {
			hz, _, err = st.CreateZone(z, "cascade-"+z, "")
		}
		if err != nil {
			return fmt.Errorf("sim route53: %w", err)
		}
		r.Zones[z] = hz.ID
	}
	r.Store = st
	return nil
}

// Restart is a new process of the server: every record set is gone (the
// mock keeps its Store in memory), the zones are there again, empty, with
// the ids they had; a zone another service created (the NLB's) is gone.
func (r *Route53) Restart() error { return r.boot() }

// Client is the dnsplan.Store a process on node from sees: every call goes
// over the network to the server and parks p until its reply.
func (r *Route53) Client(p *Proc, from string) *Route53Client {
	return &Route53Client{r: r, p: p, from: from}
}

// Direct reads and writes the Store without the network or any incident
// time: the observers' and the checks' view, and operator repairs.
func (r *Route53) Direct() dnsplan.Store { return direct{r} }

// Route53Client is one process's Route53 client.
type Route53Client struct {
	r    *Route53
	p    *Proc
	from string
}

var (
	_ dnsplan.Store      = (*Route53Client)(nil)
	_ dnsplan.ZoneLister = (*Route53Client)(nil)
)

// List implements dnsplan.Store (ListResourceRecordSets).
func (c *Route53Client) List(_ context.Context, zoneID string, start dnsplan.Cursor, max int) (dnsplan.Page, error) {
	var page dnsplan.Page
	err := c.r.net.Call(c.p, c.from, c.r.Node, c.r.Timeout, func() error {
		if err := c.r.apiFault(); err != nil {
			return err
		}
		var err error
		page, err = c.r.list(zoneID, start, max)
		return err
	})
	return page, err
}

// Change implements dnsplan.Store (ChangeResourceRecordSets).
func (c *Route53Client) Change(_ context.Context, zoneID string, changes []dnsplan.Change) error {
	return c.r.net.Call(c.p, c.from, c.r.Node, c.r.Timeout, func() error {
		if err := c.r.apiFault(); err != nil {
			return err
		}
		return c.r.change(zoneID, changes)
	})
}

// Zones implements dnsplan.ZoneLister (ListHostedZones); the zones exist from the start.
func (c *Route53Client) Zones(context.Context, bool) (dnsplan.ZoneIDs, error) {
	err := c.r.net.Call(c.p, c.from, c.r.Node, c.r.Timeout, func() error { return nil })
	return c.r.Zones, err
}

func (r *Route53) apiFault() error {
	if r.APIFault == nil {
		return nil
	}
	return r.APIFault()
}

type direct struct{ r *Route53 }

func (d direct) List(_ context.Context, zoneID string, start dnsplan.Cursor, max int) (dnsplan.Page, error) {
	return d.r.list(zoneID, start, max)
}

func (d direct) Change(_ context.Context, zoneID string, changes []dnsplan.Change) error {
	return d.r.change(zoneID, changes)
}

func (r *Route53) list(zoneID string, start dnsplan.Cursor, max int) (dnsplan.Page, error) {
	p, err := r.Store.List(zoneID, start.Name, start.Type, start.SetID, max)
	if err != nil {
		return dnsplan.Page{}, mapError(err)
	}
	out := dnsplan.Page{Records: make([]dnsplan.Record, 0, len(p.Sets))}
	for _, rs := range p.Sets {
		out.Records = append(out.Records, fromSet(rs))
	}
	if p.Truncated {
		out.Next = &dnsplan.Cursor{Name: p.NextName, Type: p.NextType, SetID: p.NextID}
	}
	return out, nil
}

func (r *Route53) change(zoneID string, changes []dnsplan.Change) error {
	cs := make([]route53.Change, len(changes))
	for i, c := range changes {
		cs[i] = route53.Change{Action: string(c.Action), Set: toSet(c.Record)}
	}
	if _, err := r.Store.ChangeRecordSets(zoneID, cs, ""); err != nil {
		return mapError(err)
	}
	if r.OnChange != nil {
		r.OnChange()
	}
	return nil
}

// mapError is the one place the Store's error codes become dnsplan's
// errors, as dnsplan's mapError does for the SDK's.
func mapError(err error) error {
	var e *route53.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case route53.CodeInvalidChangeBatch:
		return fmt.Errorf("%w: %s", dnsplan.ErrInvalidChangeBatch, e.Error())
	case route53.CodeNoSuchHostedZone:
		return fmt.Errorf("%w: %s", dnsplan.ErrNoSuchZone, e.Error())
	}
	return err
}

func fromSet(rs route53.RecordSet) dnsplan.Record {
	r := dnsplan.Record{Name: rs.Name, Type: rs.Type, SetID: rs.SetIdentifier, Values: rs.Values}
	if rs.Weight != nil {
		r.Weight = *rs.Weight
	}
	if rs.TTL != nil {
		r.TTL = *rs.TTL
	}
	return r
}

func toSet(r dnsplan.Record) route53.RecordSet {
	ttl := r.TTL
	rs := route53.RecordSet{Name: r.Name, Type: r.Type, TTL: &ttl, Values: append([]string(nil), r.Values...)}
	if r.SetID != "" {
		w := r.Weight
		rs.SetIdentifier, rs.Weight = r.SetID, &w
	}
	return rs
}

// Resolves reports whether name resolves to at least one address now (an
// A record at the end of its CNAME chain), as a stub resolver asking the
// mock DNS would see it.
func (r *Route53) Resolves(name string) bool {
	ans := r.Store.Resolve(name, "A", func(int64) int64 { return 0 })
	if ans.Rcode != route53.RcodeSuccess {
		return false
	}
	for _, rr := range ans.Records {
		if rr.Type == "A" {
			return true
		}
	}
	return false
}
