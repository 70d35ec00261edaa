package embedded

import (
	"context"

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

// startServices starts the wanted services in dependency order, each from
// its real constructor, with the links harness.Topology gives it.
func (s *Stack) startServices(ctx context.Context) error {
	o := s.o
	table, err := harness.NewTopology(o)
	if err != nil {
		return err
	}
	// api is each started instance's API address, its links' upstream; set
	// once addUnit returns (a pin runs again at each restart, from another
	// goroutine, and must not write it).
	api := map[string]string{}
	// linksFrom creates the links of instance from, which starts after every
	// instance they lead to, and returns their URLs by instance.
	linksFrom := func(from string) (map[string]string, error) {
		urls := map[string]string{}
		for _, l := range table.LinksFrom(from) {
			listen, err := s.addLink(l.Name, l.From, l.To, "127.0.0.1:0", api[l.To])
			if err != nil {
				return nil, err
			}
			urls[l.To] = "http://" + listen
		}
		return urls, nil
	}
	var ddbAddr string
	if o.Wants(harness.Route53Svc) {
		cfg := route53.Config{CNAMEGuard: o.On(harness.GuardRoute53CNAME), Zones: append([]string(nil), dnsplan.Zones...)}
		o.Tune(harness.Route53Svc, &cfg)
		_, err := s.addUnit(ctx, harness.Route53Svc, func(env *kit.Env) (kit.Service, error) {
			return route53.New(cfg, env)
		}, func(svc kit.Service) {
			r53 := svc.(*route53.Server)
			cfg.DNSAddr, cfg.APIAddr = r53.DNSAddr(), r53.APIAddr()
			s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.DNS, ep.Route53API = r53.DNSAddr(), r53.APIURL() })
		})
		if err != nil {
			return err
		}
		api[harness.Route53Svc] = cfg.APIAddr
	}
	if o.Wants(harness.DynamoDBSvc) {
		cfg := dynamodb.Config{}
		o.Tune(harness.DynamoDBSvc, &cfg)
		_, err := s.addUnit(ctx, harness.DynamoDBSvc, func(env *kit.Env) (kit.Service, error) {
			return dynamodb.New(cfg, env)
		}, func(svc kit.Service) {
			cfg.Addr = svc.(*dynamodb.Server).Addr()
			ddbAddr = cfg.Addr
			s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.DynamoDBDirect = "http://" + cfg.Addr })
		})
		if err != nil {
			return err
		}
		if err := s.addLoadBalancers(ddbAddr); err != nil {
			return err
		}
	}
	if o.Wants(harness.DNSPlannerSvc) {
		urls, err := linksFrom(harness.DNSPlannerSvc)
		if err != nil {
			return err
		}
		cfg := dnsplanner.Config{Route53API: urls[harness.Route53Svc], LBPort: s.lbPort}
		for i, az := range harness.AZs {
			cfg.LBs = append(cfg.LBs, dnsplanner.LBConfig{Name: harness.LoadBalancerName(az), IP: harness.LoadBalancerIP(i)})
		}
		o.Tune(harness.DNSPlannerSvc, &cfg)
		if _, err := s.addUnit(ctx, harness.DNSPlannerSvc, func(env *kit.Env) (kit.Service, error) {
			return dnsplanner.New(cfg, env)
		}, nil); err != nil {
			return err
		}
	}
	if o.Wants(harness.DNSEnactorSvc) {
		for _, az := range harness.AZs {
			name := harness.DNSEnactorSvc + "-" + az
			urls, err := linksFrom(name)
			if err != nil {
				return err
			}
			cfg := dnsenactor.Config{Route53API: urls[harness.Route53Svc], Mode: o.Mode(harness.FixEnactorCAS)}
			o.Tune(name, &cfg)
			if _, err := s.addUnit(ctx, name, func(env *kit.Env) (kit.Service, error) {
				return dnsenactor.New(cfg, env)
			}, nil); err != nil {
				return err
			}
		}
	}
	// Network Manager starts before DWFM: each DWFM host posts its re-lease
	// work to it over a link.
	if o.Wants(harness.NetMgrSvc) {
		cfg := netmgr.Config{Mode: o.Mode(harness.FixNetMgrThrottle), Nodes: harness.ZoneIDs()}
		o.Tune(harness.NetMgrSvc, &cfg)
		if _, err := s.addUnit(ctx, harness.NetMgrSvc, func(env *kit.Env) (kit.Service, error) {
			return netmgr.New(cfg, env)
		}, func(svc kit.Service) {
			cfg.APIAddr = svc.(*netmgr.Server).APIAddr()
			s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.NetMgrAPI = "http://" + cfg.APIAddr })
		}); err != nil {
			return err
		}
		api[harness.NetMgrSvc] = cfg.APIAddr
	}
	if o.Wants(harness.DWFMSvc) {
		dns := s.Endpoints().DNS
		for _, az := range harness.AZs {
			name := harness.DWFMSvc + "-" + az
			z := harness.Zones[az]
			urls, err := linksFrom(name)
			if err != nil {
				return err
			}
			cfg := dwfm.Config{AZ: z.ID, ZoneName: z.Name, Mode: o.Mode(harness.FixDWFMAdmission), DNSAddr: dns, DynamoDBPort: s.lbPort,
				NetMgrURL: urls[harness.NetMgrSvc]}
			o.Tune(name, &cfg)
			if _, err := s.addUnit(ctx, name, func(env *kit.Env) (kit.Service, error) {
				return dwfm.New(cfg, env)
			}, func(svc kit.Service) {
				cfg.APIAddr = svc.(*dwfm.Server).APIAddr()
			}); err != nil {
				return err
			}
			api[name] = cfg.APIAddr
		}
	}
	if o.Wants(harness.EC2Svc) {
		urls, err := linksFrom(harness.EC2Svc)
		if err != nil {
			return err
		}
		cfg := ec2.Config{DWFM: map[string]string{}, NetMgrURL: urls[harness.NetMgrSvc]}
		for _, az := range harness.AZs {
			cfg.DWFM[harness.Zones[az].ID] = urls[harness.DWFMSvc+"-"+az]
		}
		o.Tune(harness.EC2Svc, &cfg)
		if _, err := s.addUnit(ctx, harness.EC2Svc, func(env *kit.Env) (kit.Service, error) {
			return ec2.New(cfg, env)
		}, func(svc kit.Service) {
			cfg.APIAddr = svc.(*ec2.Server).APIAddr()
			s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.EC2API = "http://" + cfg.APIAddr })
		}); err != nil {
			return err
		}
	}
	if o.Wants(harness.NLBSvc) {
		urls, err := linksFrom(harness.NLBSvc)
		if err != nil {
			return err
		}
		cfg := nlb.Config{Mode: o.Mode(harness.FixNLBVelocity), PropagationGate: o.On(harness.GuardNLBPropagation), AZs: harness.ZoneIDs(), NetMgrURL: urls[harness.NetMgrSvc],
			NetMgrAPI: "http://" + api[harness.NetMgrSvc], Route53API: urls[harness.Route53Svc]}
		o.Tune(harness.NLBSvc, &cfg)
		if _, err := s.addUnit(ctx, harness.NLBSvc, func(env *kit.Env) (kit.Service, error) {
			return nlb.New(cfg, env)
		}, func(svc kit.Service) {
			cfg.ListenAddr = svc.(*nlb.Server).ListenAddr()
			s.UpdateEndpoints(func(ep *harness.Endpoints) {
				ep.NLB = cfg.ListenAddr
				ep.NLBAPI = "http://" + cfg.ListenAddr
			})
		}); err != nil {
			return err
		}
	}
	return nil
}
