package containers

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/dnsenactor"
	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
	"github.com/cascade-lab/cascade/mocks/route53"
)

// Container ports (DESIGN: admin :9090 everywhere).
const (
	adminPort     = 9090
	apiPort       = 8080
	dnsPort       = 53
	dynamoDBPort  = 8000
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

// link returns the address to give from in its flags to reach to through
// the links' toxiproxy.
func (t *topology) link(from, to string) string {
	name := harness.LinkName(from, to)
	for _, l := range t.links {
		if l.Name == name {
			return l.Listen
		}
	}
	panic("containers: no link " + name + " in harness.Topology")
}

// newTopology lays out the stack o asks for on subnet. Each service's
// Config is built as the embedded backend builds it and passed through the
// stack's tune hooks; the fields the hooks change become flags.
func newTopology(o harness.Options, subnet netip.Prefix, images imagesRef, epochMs int64) (*topology, error) {
	table, err := harness.NewTopology(o)
	if err != nil {
		return nil, err
	}
	t := &topology{subnet: subnet, byName: map[string]*spec{}}
	t.addLinks(table)
	seedOf := func(i int) string { return strconv.FormatInt(o.Seed*1000+int64(i)*17, 10) }
	add := func(s *spec) {
		s.ip = t.ip(s.name)
		t.specs = append(t.specs, s)
		t.byName[s.name] = s
	}
	var tuneErr error
	svc := func(name, kind string, wave int, mode kit.Mode, cfg any, args ...string) {
		env := map[string]string{
			"CASCADE_NAME":           name,
			"CASCADE_EPOCH":          strconv.FormatInt(epochMs, 10),
			"CASCADE_SPEED":          strconv.FormatFloat(float64(o.Speed), 'f', -1, 64),
			"CASCADE_INCIDENT_START": o.IncidentStart.UTC().Format(time.RFC3339Nano),
			"CASCADE_SEED":           seedOf(len(t.specs)),
			"CASCADE_ADMIN_ADDR":     fmt.Sprintf(":%d", adminPort),
			"CASCADE_MODE":           string(kit.AsWas),
		}
		if mode != "" {
			env["CASCADE_MODE"] = string(mode)
		}
		if cfg != nil {
			flags, err := tuned(kind, name, cfg, o.Tune)
			if err != nil && tuneErr == nil {
				tuneErr = err
			}
			args = mergeArgs(args, flags)
		}
		add(&spec{name: name, kind: kind, image: images.mockaws, args: append([]string{kind}, args...), env: env,
			readyPort: adminPort, readyPath: "/healthz", wave: wave})
	}
	tox := func(name string, wave int) {
		add(&spec{name: name, kind: "toxiproxy", image: images.toxiproxy, args: []string{"-host=0.0.0.0"},
			readyPort: toxiproxyPort, readyPath: "/version", wave: wave})
	}

	tox("toxiproxy", 0)
	if o.Wants(harness.Route53Svc) {
		cfg := route53.Config{Mode: o.Mode(harness.GuardRoute53CNAME), Zones: append([]string(nil), dnsplan.Zones...)} // --mode fixed: the CNAME guard
		var zoneArgs []string
		for _, z := range cfg.Zones {
			zoneArgs = append(zoneArgs, "--zone="+z)
		}
		// The zones are passed explicitly: the flag's default is route53's
		// own list, the embedded backend gives dnsplan's.
		svc("route53", harness.Route53Svc, 0, cfg.Mode, &cfg, zoneArgs...)
	}
	if o.Wants(harness.DynamoDBSvc) {
		svc("dynamodb", harness.DynamoDBSvc, 0, "", &dynamodb.Config{})
		for _, az := range harness.AZs {
			name := harness.LoadBalancerName(az)
			tox(name, 0)
			ip := t.ip(name)
			t.lbs = append(t.lbs, harness.LoadBalancer{Name: name, IP: ip.String(), Addr: hostPort(ip, dynamoDBPort), AZ: az})
		}
	}
	dns := hostPort(t.ip("route53"), dnsPort)
	if o.Wants(harness.DNSPlannerSvc) {
		cfg := dnsplanner.Config{Route53API: "link", LBPort: dynamoDBPort}
		args := []string{"--route53-api", "http://" + t.link("dnsplanner", "route53"), "--lb-port", strconv.Itoa(dynamoDBPort)}
		for _, az := range harness.AZs {
			name := harness.LoadBalancerName(az)
			cfg.LBs = append(cfg.LBs, dnsplanner.LBConfig{Name: name, IP: t.ip(name).String()})
			args = append(args, "--lb", name+"="+t.ip(name).String())
		}
		svc("dnsplanner", harness.DNSPlannerSvc, 1, "", &cfg, args...)
	}
	if o.Wants(harness.DNSEnactorSvc) {
		for _, az := range harness.AZs {
			name := "dnsenactor-" + az
			cfg := dnsenactor.Config{Route53API: "link", Mode: o.Mode(harness.FixEnactorCAS)}
			svc(name, harness.DNSEnactorSvc, 1, cfg.Mode, &cfg, "--route53-api", "http://"+t.link(name, "route53"))
		}
	}
	if o.Wants(harness.DWFMSvc) {
		for _, az := range harness.AZs {
			name := "dwfm-" + az
			z := harness.Zones[az]
			cfg := dwfm.Config{AZ: z.ID, ZoneName: z.Name, Mode: o.Mode(harness.FixDWFMAdmission), DNSAddr: dns, DynamoDBPort: dynamoDBPort}
			args := []string{"--az", z.ID, "--zone-name", z.Name, "--api-addr", fmt.Sprintf(":%d", apiPort),
				"--dns", dns, "--dynamodb-port", strconv.Itoa(dynamoDBPort)}
			if o.Wants(harness.NetMgrSvc) { // re-lease work goes to Network Manager over a link
				cfg.NetMgrURL = "http://" + t.link(name, "netmgr")
				args = append(args, "--netmgr", cfg.NetMgrURL)
			}
			svc(name, harness.DWFMSvc, 1, cfg.Mode, &cfg, args...)
		}
	}
	if o.Wants(harness.NetMgrSvc) {
		cfg := netmgr.Config{Mode: o.Mode(harness.FixNetMgrThrottle), Nodes: harness.ZoneIDs()}
		svc("netmgr", harness.NetMgrSvc, 1, cfg.Mode, &cfg,
			"--api-addr", fmt.Sprintf(":%d", apiPort), "--nodes", strings.Join(cfg.Nodes, ","))
	}
	if o.Wants(harness.EC2Svc) {
		cfg := ec2.Config{DWFM: map[string]string{}}
		args := []string{"--api-addr", fmt.Sprintf(":%d", apiPort)}
		var dwfms []string
		for _, az := range harness.AZs {
			u := "http://" + t.link("ec2", "dwfm-"+az)
			cfg.DWFM[harness.Zones[az].ID] = u
			dwfms = append(dwfms, harness.Zones[az].ID+"="+u)
		}
		args = append(args, "--dwfm", strings.Join(dwfms, ","))
		if o.Wants(harness.NetMgrSvc) {
			cfg.NetMgrURL = "http://" + t.link("ec2", "netmgr")
			args = append(args, "--netmgr", cfg.NetMgrURL)
		}
		svc("ec2", harness.EC2Svc, 1, "", &cfg, args...)
	}
	if o.Wants(harness.NLBSvc) {
		cfg := nlb.Config{Mode: o.Mode(harness.FixNLBVelocity), AZs: harness.ZoneIDs()}
		args := []string{"--listen-addr", fmt.Sprintf(":%d", apiPort), "--azs", strings.Join(cfg.AZs, ","),
			"--netmgr", "http://" + t.link("nlb", "netmgr"),
			"--netmgr-api", "http://" + hostPort(t.ip("netmgr"), apiPort)}
		if o.Wants(harness.Route53Svc) {
			args = append(args, "--route53-api", "http://"+t.link("nlb", "route53"))
		}
		if o.On(harness.GuardNLBPropagation) {
			args = append(args, "--propagation-gate")
		}
		// The AZ nodes' A records keep the NLB's defaults (127.0.3.1-3), as
		// in the embedded backend: one address per AZ is what the failover
		// removes and restores, and nothing connects to them by name.
		svc("nlb", harness.NLBSvc, 1, cfg.Mode, &cfg, args...)
	}
	return t, tuneErr
}

// mergeArgs appends the tuned flags to the topology's, dropping the
// topology's value of any flag a tune sets (a tuned value wins, and a
// repeatable flag such as --zone must not keep the defaults too).
func mergeArgs(base, tuned []string) []string {
	set := map[string]bool{}
	for _, f := range tuned {
		name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		set[name] = true
	}
	var out []string
	for i := 0; i < len(base); i++ {
		a := base[i]
		if strings.HasPrefix(a, "--") {
			name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if set[name] {
				if !hasValue && i+1 < len(base) {
					i++
				}
				continue
			}
		}
		out = append(out, a)
	}
	return append(out, tuned...)
}

// imagesRef names the two images a stack runs.
type imagesRef struct{ mockaws, toxiproxy string }
