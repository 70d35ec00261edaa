package embedded

import (
	"context"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/route53"
)

// publish fills the stack's endpoints from a started instance of a kind
// that clients reach (api: the address its API bound).
var publish = map[string]func(ep *harness.Endpoints, svc kit.Service, api string){
	catalogue.Route53: func(ep *harness.Endpoints, svc kit.Service, _ string) {
		r := svc.(*route53.Server)
		ep.DNS, ep.Route53API = r.DNSAddr(), r.APIURL()
	},
	catalogue.DynamoDB: func(ep *harness.Endpoints, _ kit.Service, api string) { ep.DynamoDBDirect = "http://" + api },
	catalogue.NetMgr:   func(ep *harness.Endpoints, _ kit.Service, api string) { ep.NetMgrAPI = "http://" + api },
	catalogue.EC2:      func(ep *harness.Endpoints, _ kit.Service, api string) { ep.EC2API = "http://" + api },
	catalogue.NLB: func(ep *harness.Endpoints, _ kit.Service, api string) {
		ep.NLB, ep.NLBAPI = api, "http://"+api
	},
	catalogue.SQS:    func(ep *harness.Endpoints, _ kit.Service, api string) { ep.SQSAPI = "http://" + api },
	catalogue.Lambda: func(ep *harness.Endpoints, _ kit.Service, api string) { ep.LambdaAPI = "http://" + api },
	catalogue.STS:    func(ep *harness.Endpoints, _ kit.Service, api string) { ep.STSAPI = "http://" + api },
	catalogue.ECS:    func(ep *harness.Endpoints, _ kit.Service, api string) { ep.ECSAPI = "http://" + api },
}

// startServices starts the topology's instances in its order, each from the
// catalogue's constructor with the Config the catalogue builds from this
// backend's wiring (loopback, a free port each, links on the embedded
// toxiproxy), tuned by the stack's options.
func (s *Stack) startServices(ctx context.Context) error {
	table, err := harness.NewTopology(s.o)
	if err != nil {
		return err
	}
	// api is each started instance's API address, its links' upstream; set
	// once addUnit returns (a pin runs again at each restart, from another
	// goroutine, and must not write it).
	api := map[string]string{}
	var lbs []dnsplanner.LBConfig
	for i, az := range harness.AZs {
		lbs = append(lbs, dnsplanner.LBConfig{Name: harness.LoadBalancerName(az), IP: harness.LoadBalancerIP(i)})
	}
	for _, in := range table.Instances {
		// The links of an instance, which starts after every instance they
		// lead to.
		urls := map[string]string{}
		for _, l := range table.LinksFrom(in.Name) {
			listen, err := s.addLink(l.Name, l.From, l.To, "127.0.0.1:0", api[l.To])
			if err != nil {
				return err
			}
			urls[l.To] = "http://" + listen
		}
		cfg := in.Service.Config(catalogue.Wiring{
			Instance: in.Name, AZ: in.AZ, Mode: s.o.Mode(in.Service.Fix), On: s.o.On,
			Bind: func(int) string { return "127.0.0.1:0" },
			Link: func(to string) string { return urls[to] },
			Direct: func(to string) string {
				if api[to] == "" {
					return ""
				}
				return "http://" + api[to]
			},
			Admin: func(to string) string { return s.Endpoints().Admin[to] },
			DNS:   s.Endpoints().DNS, LBs: lbs, LBPort: s.lbPort,
		})
		s.o.Tune(in.Name, cfg)
		svc := in.Service
		var bound string
		if _, err := s.addUnit(ctx, in.Name, in.Seed, func(env *kit.Env) (kit.Service, error) {
			return svc.New(cfg, env)
		}, func(started kit.Service) {
			bound = svc.Bound(cfg, started)
			if pub := publish[svc.Kind]; pub != nil {
				s.UpdateEndpoints(func(ep *harness.Endpoints) { pub(ep, started, bound) })
			}
		}); err != nil {
			return err
		}
		api[in.Name] = bound
		if svc.BehindLBs {
			if err := s.addLoadBalancers(bound); err != nil {
				return err
			}
		}
	}
	return nil
}
