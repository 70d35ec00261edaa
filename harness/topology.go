package harness

import (
	"fmt"

	"github.com/cascade-lab/cascade/mocks/ec2"
)

// requires names, for each service kind, the kinds it cannot run without.
var requires = map[string][]string{
	DNSPlannerSvc: {Route53Svc, DynamoDBSvc},
	DNSEnactorSvc: {Route53Svc},
	DWFMSvc:       {Route53Svc, DynamoDBSvc},
	EC2Svc:        {DWFMSvc},
	NLBSvc:        {NetMgrSvc},
}

// perAZ are the kinds with one instance per AZ, named <kind>-<az>; every
// other kind has one instance, named as the kind.
var perAZ = map[string]bool{DNSEnactorSvc: true, DWFMSvc: true}

// linkKinds are the connections between services that go through toxiproxy,
// in creation order: every instance of from connects to every instance of
// to, when the stack has both. A connection that is not here does not go
// through a proxy and cannot be faulted.
var linkKinds = []struct{ from, to string }{
	{DNSPlannerSvc, Route53Svc},
	{DNSEnactorSvc, Route53Svc},
	{DWFMSvc, NetMgrSvc}, // re-lease work handed to Network Manager
	{EC2Svc, DWFMSvc},
	{EC2Svc, NetMgrSvc},
	{NLBSvc, NetMgrSvc},
	{NLBSvc, Route53Svc},
}

// Zones are the stack's availability zones by AZ letter: the zone id and
// name EC2, DWFM, Network Manager and the NLB know them by.
var Zones = func() map[string]ec2.Zone {
	out := map[string]ec2.Zone{}
	for i, z := range ec2.DefaultZones() {
		out[AZs[i]] = z
	}
	return out
}()

// ZoneIDs are the zone ids of AZs, in order.
func ZoneIDs() []string {
	ids := make([]string, 0, len(AZs))
	for _, az := range AZs {
		ids = append(ids, Zones[az].ID)
	}
	return ids
}

// Instances lists the instance names of a service kind: dnsenactor-a..c and
// dwfm-a..c, or the kind alone.
func Instances(kind string) []string {
	if !perAZ[kind] {
		return []string{kind}
	}
	out := make([]string, 0, len(AZs))
	for _, az := range AZs {
		out = append(out, kind+"-"+az)
	}
	return out
}

// Topology is the one table of which links join the service instances of a
// stack, read by every backend: they differ in how an instance runs and
// where a link listens, never in which links exist.
type Topology struct {
	// Links are the internal links in creation order, with Name, From and
	// To set; Listen and Upstream are the backend's to fill.
	Links []Link
}

// NewTopology is the topology of the stack o asks for; it refuses a service
// without one it cannot run without.
func NewTopology(o Options) (Topology, error) {
	for _, kind := range ServiceKinds {
		if !o.Wants(kind) {
			continue
		}
		for _, dep := range requires[kind] {
			if !o.Wants(dep) {
				return Topology{}, fmt.Errorf("%s needs %s: add it to WithServices", kind, dep)
			}
		}
	}
	var t Topology
	for _, lk := range linkKinds {
		if !o.Wants(lk.from) || !o.Wants(lk.to) {
			continue
		}
		for _, from := range Instances(lk.from) {
			for _, to := range Instances(lk.to) {
				t.Links = append(t.Links, Link{Name: LinkName(from, to), From: from, To: to})
			}
		}
	}
	return t, nil
}

// LinksFrom lists the links whose client side is instance, in creation
// order.
func (t Topology) LinksFrom(instance string) []Link {
	var out []Link
	for _, l := range t.Links {
		if l.From == instance {
			out = append(out, l)
		}
	}
	return out
}
