package embedded

import (
	"context"
	"fmt"
	"net"
	"strconv"

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

// zones are the stack's availability zones, AZ letter -> zone id and name,
// shared by DWFM, EC2, Network Manager and the NLB.
var zones = func() map[string]ec2.Zone {
	out := map[string]ec2.Zone{}
	for i, z := range ec2.DefaultZones() {
		out[harness.AZs[i]] = z
	}
	return out
}()

func zoneIDs() []string {
	ids := make([]string, 0, len(harness.AZs))
	for _, az := range harness.AZs {
		ids = append(ids, zones[az].ID)
	}
	return ids
}

// requires names, for each service kind, the kinds it cannot run without.
var requires = map[string][]string{
	harness.DNSPlannerSvc: {harness.Route53Svc, harness.DynamoDBSvc},
	harness.DNSEnactorSvc: {harness.Route53Svc},
	harness.DWFMSvc:       {harness.Route53Svc, harness.DynamoDBSvc},
	harness.EC2Svc:        {harness.DWFMSvc},
	harness.NLBSvc:        {harness.NetMgrSvc},
}

// startServices starts the wanted services in dependency order, each from
// its real constructor, with its links.
func (s *Stack) startServices(ctx context.Context) error {
	o := s.o
	for _, kind := range harness.ServiceKinds {
		if !o.Wants(kind) {
			continue
		}
		for _, dep := range requires[kind] {
			if !o.Wants(dep) {
				return fmt.Errorf("%s needs %s: add it to WithServices", kind, dep)
			}
		}
	}
	var r53 *route53.Server
	var ddbAddr string
	if o.Wants(harness.Route53Svc) {
		cfg := route53.Config{Mode: o.Mode(harness.FixEnactorCAS), Zones: append([]string(nil), dnsplan.Zones...)}
		o.Tune(harness.Route53Svc, &cfg)
		_, err := s.addUnit(ctx, harness.Route53Svc, func(env *kit.Env) (kit.Service, error) {
			return route53.New(cfg, env)
		}, func(svc kit.Service) {
			r53 = svc.(*route53.Server)
			cfg.DNSAddr, cfg.APIAddr = r53.DNSAddr(), r53.APIAddr()
			s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.DNS, ep.Route53API = r53.DNSAddr(), r53.APIURL() })
		})
		if err != nil {
			return err
		}
	}
	// route53API returns the URL of a new link from `from` to the Route53 API.
	route53API := func(from string) (string, error) {
		listen, err := s.addLink(harness.LinkName(from, harness.Route53Svc), from, harness.Route53Svc, "127.0.0.1:0", r53.APIAddr())
		return "http://" + listen, err
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
		api, err := route53API(harness.DNSPlannerSvc)
		if err != nil {
			return err
		}
		cfg := dnsplanner.Config{Route53API: api, LBPort: s.lbPort}
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
			api, err := route53API(name)
			if err != nil {
				return err
			}
			cfg := dnsenactor.Config{Route53API: api, Mode: o.Mode(harness.FixEnactorCAS)}
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
	var netmgrAddr string
	if o.Wants(harness.NetMgrSvc) {
		cfg := netmgr.Config{Mode: o.Mode(harness.FixNetMgrThrottle), Nodes: zoneIDs()}
		o.Tune(harness.NetMgrSvc, &cfg)
		if _, err := s.addUnit(ctx, harness.NetMgrSvc, func(env *kit.Env) (kit.Service, error) {
			return netmgr.New(cfg, env)
		}, func(svc kit.Service) {
			cfg.APIAddr = svc.(*netmgr.Server).APIAddr()
			netmgrAddr = cfg.APIAddr
			s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.NetMgrAPI = "http://" + cfg.APIAddr })
		}); err != nil {
			return err
		}
	}
	dwfmAddr := map[string]string{}
	if o.Wants(harness.DWFMSvc) {
		dns := s.Endpoints().DNS
		for _, az := range harness.AZs {
			name := harness.DWFMSvc + "-" + az
			z := zones[az]
			cfg := dwfm.Config{AZ: z.ID, ZoneName: z.Name, Mode: o.Mode(harness.FixDWFMAdmission), DNSAddr: dns, DynamoDBPort: s.lbPort}
			if netmgrAddr != "" {
				listen, err := s.addLink(harness.LinkName(name, harness.NetMgrSvc), name, harness.NetMgrSvc, "127.0.0.1:0", netmgrAddr)
				if err != nil {
					return err
				}
				cfg.NetMgrURL = "http://" + listen
			}
			o.Tune(name, &cfg)
			if _, err := s.addUnit(ctx, name, func(env *kit.Env) (kit.Service, error) {
				return dwfm.New(cfg, env)
			}, func(svc kit.Service) {
				cfg.APIAddr = svc.(*dwfm.Server).APIAddr()
				dwfmAddr[az] = cfg.APIAddr
			}); err != nil {
				return err
			}
		}
	}
	if o.Wants(harness.EC2Svc) {
		cfg := ec2.Config{DWFM: map[string]string{}}
		for _, az := range harness.AZs {
			listen, err := s.addLink(harness.LinkName(harness.EC2Svc, harness.DWFMSvc+"-"+az), harness.EC2Svc, harness.DWFMSvc+"-"+az, "127.0.0.1:0", dwfmAddr[az])
			if err != nil {
				return err
			}
			cfg.DWFM[zones[az].ID] = "http://" + listen
		}
		if netmgrAddr != "" {
			listen, err := s.addLink(harness.LinkName(harness.EC2Svc, harness.NetMgrSvc), harness.EC2Svc, harness.NetMgrSvc, "127.0.0.1:0", netmgrAddr)
			if err != nil {
				return err
			}
			cfg.NetMgrURL = "http://" + listen
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
		listen, err := s.addLink(harness.LinkName(harness.NLBSvc, harness.NetMgrSvc), harness.NLBSvc, harness.NetMgrSvc, "127.0.0.1:0", netmgrAddr)
		if err != nil {
			return err
		}
		cfg := nlb.Config{Mode: o.Mode(harness.FixNLBVelocity), AZs: zoneIDs(), NetMgrURL: "http://" + listen, NetMgrAPI: "http://" + netmgrAddr}
		if r53 != nil {
			if cfg.Route53API, err = route53API(harness.NLBSvc); err != nil {
				return err
			}
		}
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

// hostPort joins an address and port.
func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
