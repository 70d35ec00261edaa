package harness

import "github.com/cascade-lab/cascade/harness/catalogue"

// Zones are the stack's availability zones by AZ letter: the zone id and
// name EC2, DWFM, Network Manager and the NLB know them by.
var Zones = catalogue.Zones

// ZoneIDs are the zone ids of AZs, in order.
func ZoneIDs() []string { return catalogue.ZoneIDs() }

// Instances lists the instance names of a service kind: dnsenactor-a..c and
// dwfm-a..c, or the kind alone.
func Instances(kind string) []string {
	if s := catalogue.Lookup(kind); s != nil {
		return s.Instances()
	}
	return []string{kind}
}

// Topology is the one table of which instances a stack runs, in which
// order, with which seeds, and which links join them, read by every
// backend: they differ in how an instance runs and where a link listens,
// never in which links exist, in the order things start or in the seeds.
type Topology struct {
	catalogue.Plan
	// Links are the internal links in creation order, with Name, From and
	// To set; Listen and Upstream are the backend's to fill.
	Links []Link
}

// NewTopology is the topology of the stack o asks for; it refuses a service
// without one it cannot run without.
func NewTopology(o Options) (Topology, error) {
	p, err := catalogue.NewPlan(o.Wants, o.Seed)
	if err != nil {
		return Topology{}, err
	}
	t := Topology{Plan: p}
	for _, l := range p.Links {
		t.Links = append(t.Links, Link{Name: l.Name, From: l.From, To: l.To})
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
