package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/nlb"
)

func init() {
	var c common
	var cfg nlb.Config
	var nodeAddrs []string
	cmd := &cobra.Command{
		Use:   "nlb",
		Short: "Network Load Balancer: health checks per AZ node, AZ DNS failover in route53",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, mode, err := c.env()
			if err != nil {
				return err
			}
			cfg.Mode = mode
			if len(nodeAddrs) > 0 {
				cfg.NodeAddrs = map[string]string{}
				for _, kv := range nodeAddrs {
					az, ip, ok := strings.Cut(kv, "=")
					if !ok || az == "" || ip == "" {
						return fmt.Errorf("--node-addrs %q: want az=ipv4", kv)
					}
					cfg.NodeAddrs[az] = ip
				}
			}
			srv, err := nlb.New(cfg, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), srv, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "nlb")
	fs.StringVar(&cfg.ListenAddr, "listen-addr", envOr("CASCADE_NLB_LISTEN_ADDR", ":8080"), "data-plane listener (CASCADE_NLB_LISTEN_ADDR)")
	fs.StringSliceVar(&cfg.AZs, "azs", nil, "AZ ids, one node each (default use1-az1,use1-az2,use1-az3)")
	fs.StringSliceVar(&nodeAddrs, "node-addrs", nil, "az=ipv4 of each AZ node's A record (default 127.0.3.1-3)")
	fs.StringVar(&cfg.DNSName, "dns-name", "", "the NLB's DNS name (default cascade-nlb.elb.us-east-1.amazonaws.com.)")
	fs.StringVar(&cfg.Zone, "zone", "", "hosted zone holding the name (default elb.us-east-1.amazonaws.com.)")
	fs.StringVar(&cfg.HostedZoneID, "hosted-zone-id", "", "hosted zone id (default: looked up or created by name)")
	fs.Int64Var(&cfg.TTL, "ttl", 0, "record TTL in seconds (default 60)")
	fs.StringVar(&cfg.Route53API, "route53-api", envOr("CASCADE_ROUTE53_API", ""), "Route53 API URL; empty disables DNS publishing (CASCADE_ROUTE53_API)")
	fs.StringVar(&cfg.NetMgrURL, "netmgr", envOr("CASCADE_NETMGR_URL", "http://netmgr:8080"), "Network Manager data plane URL for health checks, usually a link proxy (CASCADE_NETMGR_URL)")
	fs.StringVar(&cfg.NetMgrAPI, "netmgr-api", envOr("CASCADE_NETMGR_API", ""), "Network Manager API URL for propagation state (default --netmgr) (CASCADE_NETMGR_API)")
	fs.StringVar(&cfg.EC2API, "ec2-api", envOr("CASCADE_EC2_API", ""), "EC2 Query API polled for running instances tagged cascade:target-group=<target-group>; empty: targets only via POST /admin/targets (CASCADE_EC2_API)")
	fs.StringVar(&cfg.TargetGroup, "target-group", "", "target group tag value (default cascade-nlb)")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", 0, "EC2 poll interval, incident time (default 1m)")
	fs.DurationVar(&cfg.CheckInterval, "check-interval", 0, "health-check interval per node and target, incident time (default 2m)")
	fs.DurationVar(&cfg.CheckJitter, "check-jitter", 0, "check start jitter, incident time (default the interval)")
	fs.DurationVar(&cfg.CheckTimeout, "check-timeout", 0, "a check waiting longer than this fails, incident time (default twice the interval)")
	fs.IntVar(&cfg.CheckCapacity, "check-capacity", 0, "checks a node runs per interval (default 64)")
	fs.DurationVar(&cfg.MinWallTimeout, "min-wall-timeout", 0, "least wall time a health-check request may take (default 1s)")
	fs.IntVar(&cfg.HealthyThreshold, "healthy-threshold", 0, "consecutive passes to become healthy (default 2)")
	fs.IntVar(&cfg.UnhealthyThreshold, "unhealthy-threshold", 0, "consecutive failures to become unhealthy (default 2)")
	fs.IntVar(&cfg.RechecksPerFlap, "rechecks-per-flap", 0, "re-checks per node queued by each flap (default 2)")
	fs.Float64Var(&cfg.FailoverThreshold, "failover-threshold", 0, "unhealthy share that removes an AZ from DNS (default 0.3)")
	fs.Float64Var(&cfg.RestoreThreshold, "restore-threshold", 0, "unhealthy share below which a removed AZ returns (default 0.15)")
	fs.DurationVar(&cfg.VelocityWindow, "velocity-window", 0, "fixed: velocity-control window, incident time (default 30m)")
	fs.Float64Var(&cfg.MaxRemovedFraction, "max-removed-fraction", 0, "fixed: share of AZs removable per window (default 0.34)")
	fs.BoolVar(&cfg.PropagationGate, "propagation-gate", false, "targets enter service only once Network Manager reports them propagated (not announced by AWS)")
	fs.DurationVar(&cfg.PropagationPoll, "propagation-poll", 0, "fixed: how often a waiting target's propagation is asked, incident time (default the interval)")
	fs.DurationVar(&cfg.TickInterval, "tick", 0, "core tick, incident time (default 15s)")
	fs.IntVar(&cfg.CheckWorkers, "check-workers", 0, "concurrent health-check requests (default 16)")
	fs.DurationVar(&cfg.SampleInterval, "sample", 0, "nlb-state event interval, incident time (default 10m)")
	register(cmd)
}
