package harness

import (
	"slices"
	"strings"
	"testing"
)

func linkNames(links []Link) []string {
	var out []string
	for _, l := range links {
		out = append(out, l.Name)
	}
	return out
}

func TestTopologyLinksOfTheFullStack(t *testing.T) {
	o, err := NewOptions()
	if err != nil {
		t.Fatal(err)
	}
	topo, err := NewTopology(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dnsplanner__route53", "dnsenactor-a__route53", "dnsenactor-b__route53", "dnsenactor-c__route53",
		"dwfm-a__netmgr", "dwfm-b__netmgr", "dwfm-c__netmgr",
		"ec2__dwfm-a", "ec2__dwfm-b", "ec2__dwfm-c", "ec2__netmgr", "nlb__netmgr", "nlb__route53",
		"lambda__sqs", "ecs__ec2", "ecs__netmgr"}
	if got := linkNames(topo.Links); !slices.Equal(got, want) {
		t.Fatalf("links %v, want %v", got, want)
	}
	if got := linkNames(topo.LinksFrom(EC2Svc)); !slices.Equal(got, []string{"ec2__dwfm-a", "ec2__dwfm-b", "ec2__dwfm-c", "ec2__netmgr"}) {
		t.Errorf("LinksFrom(ec2) = %v", got)
	}
	for _, l := range topo.Links {
		if l.Name != LinkName(l.From, l.To) || l.Listen != "" || l.Upstream != "" {
			t.Errorf("link %+v: want From, To and its name only", l)
		}
	}
}

func TestTopologyLeavesOutLinksToAbsentServices(t *testing.T) {
	o, err := NewOptions(WithServices(Route53Svc, DynamoDBSvc, DWFMSvc, EC2Svc))
	if err != nil {
		t.Fatal(err)
	}
	topo, err := NewTopology(o)
	if err != nil {
		t.Fatal(err)
	}
	if got := linkNames(topo.Links); !slices.Equal(got, []string{"ec2__dwfm-a", "ec2__dwfm-b", "ec2__dwfm-c"}) {
		t.Errorf("links %v: want EC2's to DWFM only", got)
	}
}

func TestTopologyRefusesAMissingDependency(t *testing.T) {
	o, err := NewOptions(WithServices(Route53Svc, NLBSvc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTopology(o); err == nil || !strings.Contains(err.Error(), "nlb needs netmgr") {
		t.Errorf("NewTopology without netmgr = %v, want nlb needs netmgr", err)
	}
}

func TestInstances(t *testing.T) {
	if got := Instances(DWFMSvc); !slices.Equal(got, []string{"dwfm-a", "dwfm-b", "dwfm-c"}) {
		t.Errorf("Instances(dwfm) = %v", got)
	}
	if got := Instances(NetMgrSvc); !slices.Equal(got, []string{"netmgr"}) {
		t.Errorf("Instances(netmgr) = %v", got)
	}
}
