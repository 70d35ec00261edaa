package containers

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/cascade-lab/cascade/harness"
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

// azIDs are the zone ids of the AZs a, b, c (as the DWFM hosts and the NLB name them).
var azIDs = map[string]string{"a": "use1-az1", "b": "use1-az2", "c": "use1-az4"}

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

// link adds the link from -> to (port) through the links' toxiproxy and
// returns the address to give from in its flags.
func (t *topology) link(from, to string, port int) string {
	name := harness.LinkName(from, to)
	for _, l := range t.links {
		if l.Name == name {
			return l.Listen
		}
	}
	listen := hostPort(t.ip("toxiproxy"), linkPortBase+len(t.links))
	t.links = append(t.links, linkSpec{
		Link: harness.Link{Name: name, From: from, To: to, Listen: listen, Upstream: hostPort(t.ip(to), port)},
		port: linkPortBase + len(t.links),
	})
	return listen
}

// newTopology lays out the stack o asks for on subnet.
func newTopology(o harness.Options, subnet netip.Prefix, images imagesRef, epochMs int64) *topology {
	t := &topology{subnet: subnet, byName: map[string]*spec{}}
	seedOf := func(i int) string { return strconv.FormatInt(o.Seed*1000+int64(i)*17, 10) }
	add := func(s *spec) {
		s.ip = t.ip(s.name)
		t.specs = append(t.specs, s)
		t.byName[s.name] = s
	}
	svc := func(name, kind string, wave int, mode string, args ...string) {
		env := map[string]string{
			"CASCADE_NAME":           name,
			"CASCADE_EPOCH":          strconv.FormatInt(epochMs, 10),
			"CASCADE_SPEED":          strconv.FormatFloat(float64(o.Speed), 'f', -1, 64),
			"CASCADE_INCIDENT_START": o.IncidentStart.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
			"CASCADE_SEED":           seedOf(len(t.specs)),
			"CASCADE_ADMIN_ADDR":     fmt.Sprintf(":%d", adminPort),
		}
		if mode != "" {
			env["CASCADE_MODE"] = mode
		}
		add(&spec{name: name, kind: kind, image: images.mockaws, args: append([]string{kind}, args...), env: env,
			readyPort: adminPort, readyPath: "/healthz", wave: wave})
	}
	tox := func(name string, wave int) {
		add(&spec{name: name, kind: "toxiproxy", image: images.toxiproxy, args: []string{"-host=0.0.0.0"},
			readyPort: toxiproxyPort, readyPath: "/version", wave: wave})
	}

	tox("toxiproxy", 0)
	wantDDB := o.Wants(harness.DynamoDBSvc) || o.Wants(harness.DWFMSvc)
	if o.Wants(harness.Route53Svc) {
		svc("route53", harness.Route53Svc, 0, string(o.Mode(harness.FixEnactorCAS)))
	}
	if wantDDB {
		svc("dynamodb", harness.DynamoDBSvc, 0, "")
		for _, az := range harness.AZs {
			name := harness.LoadBalancerName(az)
			tox(name, 0)
			ip := t.ip(name)
			t.lbs = append(t.lbs, harness.LoadBalancer{Name: name, IP: ip.String(), Addr: hostPort(ip, dynamoDBPort), AZ: az})
		}
	}
	dns := hostPort(t.ip("route53"), dnsPort)
	if o.Wants(harness.DNSPlannerSvc) {
		args := []string{"--route53-api", "http://" + t.link("dnsplanner", "route53", apiPort), "--lb-port", strconv.Itoa(dynamoDBPort)}
		for _, az := range harness.AZs {
			name := harness.LoadBalancerName(az)
			args = append(args, "--lb", name+"="+t.ip(name).String())
		}
		svc("dnsplanner", harness.DNSPlannerSvc, 1, "", args...)
	}
	if o.Wants(harness.DNSEnactorSvc) {
		for _, az := range harness.AZs {
			name := "dnsenactor-" + az
			svc(name, harness.DNSEnactorSvc, 1, string(o.Mode(harness.FixEnactorCAS)),
				"--route53-api", "http://"+t.link(name, "route53", apiPort))
		}
	}
	if o.Wants(harness.DWFMSvc) {
		for _, az := range harness.AZs {
			name := "dwfm-" + az
			svc(name, harness.DWFMSvc, 1, string(o.Mode(harness.FixDWFMAdmission)),
				"--az", azIDs[az], "--zone-name", "us-east-1"+az,
				"--dns", dns, "--dynamodb-port", strconv.Itoa(dynamoDBPort))
		}
	}
	if o.Wants(harness.NetMgrSvc) {
		svc("netmgr", harness.NetMgrSvc, 1, string(o.Mode(harness.FixNetMgrThrottle)))
	}
	if o.Wants(harness.EC2Svc) {
		args := []string{}
		if o.Wants(harness.DWFMSvc) {
			var dwfms []string
			for _, az := range harness.AZs {
				dwfms = append(dwfms, azIDs[az]+"=http://"+t.link("ec2", "dwfm-"+az, apiPort))
			}
			args = append(args, "--dwfm", strings.Join(dwfms, ","))
		}
		if o.Wants(harness.NetMgrSvc) {
			args = append(args, "--netmgr", "http://"+t.link("ec2", "netmgr", apiPort))
		}
		svc("ec2", harness.EC2Svc, 2, "", args...)
	}
	if o.Wants(harness.NLBSvc) {
		args := []string{}
		if o.Wants(harness.NetMgrSvc) {
			args = append(args, "--netmgr", "http://"+t.link("nlb", "netmgr", apiPort))
		}
		if o.Wants(harness.Route53Svc) {
			args = append(args, "--route53-api", "http://"+t.link("nlb", "route53", apiPort))
		}
		var nodes []string
		for _, az := range harness.AZs {
			nodes = append(nodes, azIDs[az]+"="+t.ip("nlb").String())
		}
		args = append(args, "--node-addrs", strings.Join(nodes, ","))
		svc("nlb", harness.NLBSvc, 2, string(o.Mode(harness.FixNLBVelocity)), args...)
	}
	return t
}

// imagesRef names the two images a stack runs.
type imagesRef struct{ mockaws, toxiproxy string }
