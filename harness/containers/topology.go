package containers

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
)

// Container ports (DESIGN: admin :9090 everywhere).
const (
	adminPort     = catalogue.AdminPort
	apiPort       = catalogue.APIPort
	dnsPort       = catalogue.DNSPort
	dynamoDBPort  = catalogue.DynamoDBPort
	toxiproxyPort = 8474
	linkPortBase  = 10000
)

// Host numbers on the stack's /24: fixed, so the plans, the link proxies
// and the flags can name every address before anything starts, and a
// restarted container comes back on the same address.
var hostNumbers = map[string]int{
	"route53": 2, "dynamodb": 3, "toxiproxy": 4,
	"ddb-lb-a": 11, "ddb-lb-b": 12, "ddb-lb-c": 13,
	"dnsplanner": 20, "dnsenactor-a": 21, "dnsenactor-b": 22, "dnsenactor-c": 23,
	"dwfm-a": 31, "dwfm-b": 32, "dwfm-c": 33,
	"netmgr": 40, "ec2": 41, "nlb": 42,
	"sqs": 50, "lambda": 51, "sts": 52, "ecs": 53,
}

// spec is one container of the stack.
type spec struct {
	name  string // instance: dwfm-a, ddb-lb-a, toxiproxy
	kind  string // service kind, or "toxiproxy"
	ip    netip.Addr
	image string
	args  []string // mockaws subcommand and flags (toxiproxy: server flags)
	env   map[string]string
	// readyPort and readyPath: GET answering 200 means started.
	readyPort int
	readyPath string
	// wave: containers of a wave start in parallel, waves in order.
	wave int
}

// linkSpec is one proxy of the links' toxiproxy container.
type linkSpec struct {
	harness.Link
	port int
}

// topology is the whole stack's layout, computed before anything starts.
type topology struct {
	subnet netip.Prefix
	specs  []*spec
	byName map[string]*spec
	links  []linkSpec
	lbs    []harness.LoadBalancer
}

func (t *topology) ip(name string) netip.Addr {
	return hostIP(t.subnet, hostNumbers[name])
}

func hostIP(subnet netip.Prefix, n int) netip.Addr {
	b := subnet.Addr().As4()
	b[3] = byte(n)
	return netip.AddrFrom4(b)
}

func hostPort(ip netip.Addr, port int) string {
	return ip.String() + ":" + strconv.Itoa(port)
}

// addLinks lays out table's links on the links' toxiproxy container, one
// port each in table order, every upstream a service's API port.
func (t *topology) addLinks(table harness.Topology) {
	for _, l := range table.Links {
		port := linkPortBase + len(t.links)
		l.Listen, l.Upstream = hostPort(t.ip("toxiproxy"), port), hostPort(t.ip(l.To), apiPort)
		t.links = append(t.links, linkSpec{Link: l, port: port})
	}
}

// linkListen is the address from reaches to at through the links'
// toxiproxy, if the stack has that link.
func (t *topology) linkListen(from, to string) (string, bool) {
	name := harness.LinkName(from, to)
	for _, l := range t.links {
		if l.Name == name {
			return l.Listen, true
		}
	}
	return "", false
}

// newTopology lays out the stack o asks for on subnet: the catalogue's
// instances in the plan's order, each one's Config built by the catalogue
// from this backend's wiring (fixed addresses, links on the toxiproxy
// container), tuned by the stack's options and passed to the container as
// the flags that make cmd/mockaws build the same Config.
func newTopology(o harness.Options, subnet netip.Prefix, images imagesRef, epochMs int64) (*topology, error) {
	table, err := harness.NewTopology(o)
	if err != nil {
		return nil, err
	}
	t := &topology{subnet: subnet, byName: map[string]*spec{}}
	t.addLinks(table)
	add := func(s *spec) {
		s.ip = t.ip(s.name)
		t.specs = append(t.specs, s)
		t.byName[s.name] = s
	}
	tox := func(name string, wave int) {
		add(&spec{name: name, kind: "toxiproxy", image: images.toxiproxy, args: []string{"-host=0.0.0.0"},
			readyPort: toxiproxyPort, readyPath: "/version", wave: wave})
	}
	tox("toxiproxy", 0)
	var lbs []dnsplanner.LBConfig
	for _, in := range table.Instances {
		if !in.Service.BehindLBs {
			continue
		}
		for _, az := range harness.AZs {
			name := harness.LoadBalancerName(az)
			tox(name, 0)
			ip := t.ip(name)
			t.lbs = append(t.lbs, harness.LoadBalancer{Name: name, IP: ip.String(), Addr: hostPort(ip, dynamoDBPort), AZ: az})
			lbs = append(lbs, dnsplanner.LBConfig{Name: name, IP: ip.String()})
		}
	}
	dns := hostPort(t.ip(harness.Route53Svc), dnsPort)
	for _, in := range table.Instances {
		cfg := in.Service.Config(catalogue.Wiring{
			Instance: in.Name, AZ: in.AZ, Mode: o.Mode(in.Service.Fix), On: o.On,
			Link: func(to string) string {
				if l, ok := t.linkListen(in.Name, to); ok {
					return "http://" + l
				}
				return ""
			},
			Direct: func(to string) string { return "http://" + hostPort(t.ip(to), apiPort) },
			Admin: func(to string) string {
				if !o.Wants(catalogue.KindOf(to)) {
					return ""
				}
				return "http://" + hostPort(t.ip(to), adminPort)
			},
			DNS: dns, LBs: lbs, LBPort: dynamoDBPort,
		})
		o.Tune(in.Name, cfg)
		args, err := in.Service.Args(cfg)
		if err != nil {
			return nil, fmt.Errorf("tune %s: %w", in.Name, err)
		}
		env := map[string]string{
			"CASCADE_NAME":           in.Name,
			"CASCADE_EPOCH":          strconv.FormatInt(epochMs, 10),
			"CASCADE_SPEED":          strconv.FormatFloat(float64(o.Speed), 'f', -1, 64),
			"CASCADE_INCIDENT_START": o.IncidentStart.UTC().Format(time.RFC3339Nano),
			"CASCADE_SEED":           strconv.FormatInt(in.Seed, 10),
			"CASCADE_ADMIN_ADDR":     fmt.Sprintf(":%d", adminPort),
		}
		add(&spec{name: in.Name, kind: in.Kind, image: images.mockaws, args: append([]string{in.Kind}, args...), env: env,
			readyPort: adminPort, readyPath: "/healthz", wave: in.Wave()})
	}
	return t, nil
}

// imagesRef names the two images a stack runs.
type imagesRef struct{ mockaws, toxiproxy string }

// Plan is the service containers a stack started with o runs, in the order
// they start (a wave's containers start together), each with the seed its
// container is given: computed as Start computes it, without Docker.
func Plan(o harness.Options) ([]harness.Service, error) {
	topo, err := newTopology(o, netip.MustParsePrefix("10.199.0.0/24"), imagesRef{}, 0)
	if err != nil {
		return nil, err
	}
	var out []harness.Service
	for _, sp := range topo.specs {
		if sp.kind == "toxiproxy" {
			continue
		}
		seed, err := strconv.ParseInt(sp.env["CASCADE_SEED"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: seed %q: %w", sp.name, sp.env["CASCADE_SEED"], err)
		}
		out = append(out, harness.Service{Name: sp.name, Kind: sp.kind, Seed: seed})
	}
	return out, nil
}
