package main

import (
	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/ec2"
)

func init() {
	var c common
	var cfg ec2.Config
	cmd := &cobra.Command{
		Use:   "ec2",
		Short: "EC2 Query API subset: RunInstances on leased droplets, DescribeInstances, TerminateInstances",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, mode, err := c.env()
			if err != nil {
				return err
			}
			cfg.Mode = mode
			srv, err := ec2.New(cfg, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), srv, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "ec2")
	fs.StringVar(&cfg.APIAddr, "api-addr", envOr("CASCADE_EC2_API_ADDR", ":8080"), "Query API address (CASCADE_EC2_API_ADDR)")
	fs.StringToStringVar(&cfg.DWFM, "dwfm", nil, "DWFM host per zone: use1-az1=http://dwfm-a:8080,... (zone id or name)")
	fs.StringVar(&cfg.NetMgrURL, "netmgr", envOr("CASCADE_NETMGR_URL", ""), "Network Manager base URL (CASCADE_NETMGR_URL)")
	fs.Float64Var(&cfg.RunPerMinute, "run-rate", 0, "RunInstances throttle, calls per incident minute (0: none)")
	fs.Float64Var(&cfg.RunBurst, "run-burst", 0, "RunInstances throttle bucket size (default rate/6, at least 1)")
	fs.DurationVar(&cfg.BootTime, "boot-time", 0, "time an instance stays pending, incident time (default 1m)")
	fs.DurationVar(&cfg.HandoffRetry, "handoff-retry", 0, "Network Manager hand-off retry and poll period, incident time (default 1m)")
	fs.IntVar(&cfg.NetWorkPerLaunch, "net-work-per-launch", int(envInt("CASCADE_EC2_NET_WORK_PER_LAUNCH", 0)), "bulk setup work items each new instance owes Network Manager (CASCADE_EC2_NET_WORK_PER_LAUNCH; 0: none)")
	fs.DurationVar(&cfg.CallTimeout, "call-timeout", 0, "DWFM and Network Manager call timeout, incident time (default 1m)")
	fs.DurationVar(&cfg.MinWallTimeout, "min-wall-timeout", 0, "floor of the call timeout, wall time (default 500ms)")
	fs.StringVar(&cfg.OwnerID, "owner-id", "", "account id in responses (default 123456789012)")
	register(cmd)
}
