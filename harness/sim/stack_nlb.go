package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
)

// nlbDNSTimeout bounds one write of the NLB's record to Route53 (the
// server's 5 s context is wall time; here a write is a call through
// Route53's FIFO API server, which the Enactors share): the clients'
// timeout. Chosen, not fitted.
const nlbDNSTimeout = probeTimeout

// nlbDNS is the NLB's DNS publisher (nlb.Server.dnsPublisher): the newest
// desired AZ set replaces one not written yet; one write at a time, each a
// call NLB -> Route53 upserting the A record (one value per AZ in DNS);
// a failed write is retried with the newest set after four ticks.
type nlbDNS struct {
	cfg      nlb.Config
	addrs    map[string]string
	zoneID   string
	pending  []string
	has      bool
	inFlight bool
	retrying bool
}

// setupNLBDNS finds the hosted zone of the NLB's name (the longest zone of
// Route53 it is in, else the NLB's own zone, created) and publishes the
// initial AZ set, as nlb.Server.Start does.
func (s *Stack) setupNLBDNS(v nlb.Config, azs []string) error {
	d := &nlbDNS{cfg: v, addrs: nlb.NodeAddrsFor(v.NodeAddrs, azs)}
	best := ""
	for zone, id := range s.race.r53.Zones {
		if strings.HasSuffix(v.DNSName, "."+zone) && len(zone) > len(best) {
			best, d.zoneID = zone, id
		}
	}
	if hz, ok := s.race.r53.Store.ZoneByName(v.Zone); ok && d.zoneID == "" {
		d.zoneID = hz.ID // made by an earlier process of the NLB
	}
	if d.zoneID == "" {
		hz, _, err := s.race.r53.Store.CreateZone(v.Zone, "cascade-nlb", "")
		if err != nil {
			return fmt.Errorf("sim stack: the NLB's zone %s: %w", v.Zone, err)
		}
		d.zoneID = hz.ID
	}
	s.nlbDNS = d
	s.race.fps.Register(NLBNode + "/dns-change")
	s.publishNLB(s.nlb.State(false).AZsInDNS)
	return nil
}

// publishNLB hands the desired AZ set to the publisher.
func (s *Stack) publishNLB(azs []string) {
	d := s.nlbDNS
	d.pending, d.has = slices.Clone(azs), true
	s.writeNLBRecord()
}

func (s *Stack) writeNLBRecord() {
	d := s.nlbDNS
	if d.inFlight || d.retrying || !d.has {
		return
	}
	azs := d.pending
	d.has, d.inFlight = false, true
	fp := s.race.fps.Register(NLBNode + "/dns-change")
	var fperr error
	if a := fp.Decide(); a.Kind == "return" {
		fperr = &kit.FailpointError{Name: NLBNode + "/dns-change", Value: a.Value}
	}
	done := func(err error) {
		d.inFlight = false
		ev := s.ev(NLBNode)
		if err != nil {
			ev.Emit("dns-change-failed", "azs", azs, "error", err.Error())
			if !d.has {
				d.pending, d.has = azs, true
			}
			d.retrying = true
			s.s.After(4*d.cfg.TickInterval, func() { d.retrying = false; s.writeNLBRecord() })
			return
		}
		ev.Emit("dns-change", "azs", azs, "published", true)
		s.writeNLBRecord()
	}
	if fperr != nil {
		s.s.After(0, func() { done(fperr) })
		return
	}
	if len(azs) == 0 {
		s.s.After(0, func() { done(errors.New("refusing to publish an empty record set")) })
		return
	}
	vals := make([]string, 0, len(azs))
	for _, az := range azs {
		vals = append(vals, d.addrs[az])
	}
	slices.Sort(vals)
	rec := dnsplan.Record{Name: d.cfg.DNSName, Type: dnsplan.TypeA, TTL: d.cfg.TTL, Values: vals}
	s.net.Send(NLBNode, Route53Node, nlbDNSTimeout, func() error {
		if err := s.race.r53.apiFault(); err != nil {
			return err
		}
		return s.race.r53.change(d.zoneID, []dnsplan.Change{{Action: dnsplan.Upsert, Record: rec}})
	}, done)
}

// NLBRecord is the NLB's A record's values in Route53 now (read directly,
// as the other backends' suites read it with the SDK); none before the
// first write.
func (s *Stack) NLBRecord() ([]string, error) {
	r, ok, err := dnsplan.ReadRecord(s.s.ctx(), s.race.r53.Direct(), s.nlbDNS.zoneID, s.nlbDNS.cfg.DNSName, dnsplan.TypeA)
	if err != nil || !ok {
		return nil, err
	}
	return r.Values, nil
}

// NLBTargets is the NLB's GET /admin/state?targets=1: its state with every
// target.
func (s *Stack) NLBTargets() nlb.State { return s.nlb.State(true) }

// NLBRequest is one request through the NLB's listener (the server's
// RequestForward): the NLB routes it (nlb.Core.Route: an AZ in DNS, a
// healthy in-service target there, fail-open), then reaches the target
// through Network Manager's data plane from that AZ's node, within the
// check timeout. It returns "" when the target answered, "no-target" when
// none is in service, "unreachable" when the target could not be reached
// from the node, or the network's probe code.
func (s *Stack) NLBRequest() string {
	code := ""
	done := s.proc(func(p *Proc) {
		var rt nlb.Check
		var rerr error
		if err := s.net.Call(p, ProbeNode, NLBNode, probeTimeout, func() error {
			rt, rerr = s.nlb.Route()
			return nil
		}); err != nil {
			code = probeCode(err)
			return
		}
		if rerr != nil {
			code = "no-target"
			return
		}
		var ok bool
		err := s.net.Call(p, NLBNode, NetMgrNode, s.nlb.Config().CheckTimeout, func() error {
			var err error
			ok, err = s.nm.Reachable(rt.Target, rt.Node)
			return err
		})
		if err != nil || !ok {
			code = "unreachable"
		}
	})
	if !done {
		return probeCode(ErrTimeout)
	}
	return code
}

// NetMgrRegister registers an instance with Network Manager (POST
// /v1/instances), a call from the experiment's client.
func (s *Stack) NetMgrRegister(id, az string) error {
	var err error
	if !s.proc(func(p *Proc) {
		err = s.net.Call(p, ProbeNode, NetMgrNode, probeTimeout, func() error {
			_, e := s.nm.RegisterInstance(id, az)
			return e
		})
	}) {
		return ErrTimeout
	}
	return err
}

// NetMgrPostWork posts count items of bulk work of kind to Network Manager
// (POST /v1/work), a call from the experiment's client: how many it
// admitted (a throttled post admits none and is not an error, as the API's
// 429 carries the count).
func (s *Stack) NetMgrPostWork(kind string, count int) (int, error) {
	admitted := 0
	var err error
	if !s.proc(func(p *Proc) {
		err = s.net.Call(p, ProbeNode, NetMgrNode, probeTimeout, func() error {
			var e error
			admitted, e = s.nm.AddWork(kind, count)
			if errors.Is(e, netmgr.ErrThrottled) {
				return nil
			}
			return e
		})
	}) {
		return 0, ErrTimeout
	}
	if err != nil {
		return 0, err
	}
	return admitted, nil
}

// NetMgrInstance is what Network Manager knows of an instance (GET
// /v1/instances/{id}), read as a dashboard (no incident time).
func (s *Stack) NetMgrInstance(id string) (netmgr.InstanceState, error) { return s.nm.Instance(id) }

// nlbDNSTick lets the publisher write what a tick or an operator action
// changed (the server's publishReady).
func (s *Stack) nlbDNSTick(r nlb.Ready) {
	if r.DNSChanged {
		s.publishNLB(r.DNS)
	}
}
