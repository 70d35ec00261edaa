package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/dwfm"
)

func init() {
	var c common
	var cfg dwfm.Config
	cmd := &cobra.Command{
		Use:   "dwfm",
		Short: "DropletWorkflow Manager of one AZ: droplet leases in DynamoDB, re-lease queue, allocation API",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, mode, err := c.env()
			if err != nil {
				return err
			}
			cfg.Mode = mode
			if cfg.ZoneName == "" {
				cfg.ZoneName = zoneNameOf(cfg.AZ)
			}
			srv, err := dwfm.New(cfg, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), srv, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "dwfm-a")
	fs.StringVar(&cfg.AZ, "az", envOr("CASCADE_AZ", "use1-az1"), "zone id this host manages (CASCADE_AZ)")
	fs.StringVar(&cfg.ZoneName, "zone-name", envOr("CASCADE_ZONE_NAME", ""), "zone name (default us-east-1a/b/c from --az)")
	fs.StringVar(&cfg.APIAddr, "api-addr", envOr("CASCADE_DWFM_API_ADDR", ":8080"), "allocation API address (CASCADE_DWFM_API_ADDR)")
	fs.StringVar(&cfg.DNSAddr, "dns", envOr("CASCADE_DNS", "route53:53"), "mock DNS that resolves the DynamoDB endpoint, host:port (CASCADE_DNS)")
	fs.IntVar(&cfg.DynamoDBPort, "dynamodb-port", int(envInt("CASCADE_DYNAMODB_PORT", 8000)), "DynamoDB endpoint port (CASCADE_DYNAMODB_PORT)")
	fs.StringVar(&cfg.DynamoDBHost, "dynamodb-host", envOr("CASCADE_DYNAMODB_HOST", ""), "DynamoDB hostname (default dynamodb.us-east-1.amazonaws.com)")
	fs.StringVar(&cfg.Table, "table", envOr("CASCADE_DWFM_TABLE", "dwfm-leases"), "lease table (CASCADE_DWFM_TABLE)")
	fs.IntVar(&cfg.Droplets, "droplets", int(envInt("CASCADE_DWFM_DROPLETS", dwfm.DefaultDroplets)), "droplets in the fleet (CASCADE_DWFM_DROPLETS)")
	fs.StringVar(&cfg.DropletPrefix, "droplet-prefix", "", "droplet id prefix (default <az>-d)")
	fs.DurationVar(&cfg.CheckPeriod, "check-period", dwfm.DefaultCheckPeriod, "state check period per droplet, incident time")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", dwfm.DefaultLeaseTTL, "lease TTL, incident time")
	fs.DurationVar(&cfg.WorkTimeout, "work-timeout", dwfm.DefaultWorkTimeout, "re-lease work timeout from when it is queued, incident time")
	fs.DurationVar(&cfg.StateSync, "state-sync", dwfm.DefaultStateSync, "per-droplet state sync time of a re-lease, incident time")
	fs.IntVar(&cfg.Workers, "workers", dwfm.DefaultWorkers, "re-lease workers")
	fs.Float64Var(&cfg.DispatchPerMinute, "dispatch-rate", dwfm.DefaultDispatchPerMinute, "re-leases started per incident minute at most")
	fs.DurationVar(&cfg.BackoffBase, "backoff-base", dwfm.DefaultBackoffBase, "fixed: first retry backoff ceiling, incident time")
	fs.DurationVar(&cfg.BackoffMax, "backoff-max", dwfm.DefaultBackoffMax, "fixed: largest retry backoff ceiling, incident time")
	fs.DurationVar(&cfg.Tick, "tick", 0, "loop resolution, incident time (default 10s)")
	fs.DurationVar(&cfg.OpTimeout, "op-timeout", 0, "DynamoDB call timeout, incident time (default 2m)")
	fs.DurationVar(&cfg.MinWallTimeout, "min-wall-timeout", 0, "floor of the DynamoDB call timeout, wall time (default 1s)")
	fs.IntVar(&cfg.OpConcurrency, "op-concurrency", 0, "DynamoDB calls in flight at most (default 8)")
	fs.StringVar(&cfg.NetMgrURL, "netmgr", envOr("CASCADE_DWFM_NETMGR", ""), "Network Manager API that re-lease work is posted to, http://host:port (CASCADE_DWFM_NETMGR; empty: no hand-off)")
	fs.IntVar(&cfg.NetWorkPerWrite, "net-work-per-write", int(envInt("CASCADE_DWFM_NET_WORK_PER_WRITE", dwfm.DefaultNetWorkPerWrite)), "Network Manager work items each lease write owes (CASCADE_DWFM_NET_WORK_PER_WRITE)")
	fs.DurationVar(&cfg.NetBackoffBase, "net-backoff-base", dwfm.DefaultBackoffBase, "first delay before refused Network Manager work is posted again, incident time")
	fs.DurationVar(&cfg.NetBackoffMax, "net-backoff-max", dwfm.DefaultBackoffMax, "largest delay before refused Network Manager work is posted again, incident time")
	register(cmd)
}

// zoneNameOf maps the stack's zone ids to their names.
func zoneNameOf(az string) string {
	var n int
	if _, err := fmt.Sscanf(az, "use1-az%d", &n); err == nil && n >= 1 && n <= 6 {
		return fmt.Sprintf("us-east-1%c", 'a'+n-1)
	}
	return ""
}
