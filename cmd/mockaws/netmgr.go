package main

import (
	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/netmgr"
)

func init() {
	var c common
	var cfg netmgr.Config
	cmd := &cobra.Command{
		Use:   "netmgr",
		Short: "Network Manager: propagates instances' network state through a bounded-rate queue",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, mode, err := c.env()
			if err != nil {
				return err
			}
			cfg.Mode = mode
			srv, err := netmgr.New(cfg, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), srv, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "netmgr")
	fs.StringVar(&cfg.APIAddr, "api-addr", envOr("CASCADE_NETMGR_API_ADDR", ":8080"), "API and data-plane address (CASCADE_NETMGR_API_ADDR)")
	fs.StringSliceVar(&cfg.Nodes, "nodes", nil, "locations state propagates to: the NLB's checker nodes, by AZ id (default use1-az1,use1-az2,use1-az3)")
	fs.Float64Var(&cfg.RatePerMinute, "rate", 0, "work items propagated per incident minute (default 120)")
	fs.IntVar(&cfg.QueueLimit, "queue-limit", 0, "fixed: waiting-queue size above which bulk work is refused (default 600)")
	fs.DurationVar(&cfg.TickInterval, "tick", 0, "worker tick, incident time (default 15s)")
	fs.DurationVar(&cfg.SampleInterval, "sample", 0, "backlog event interval, incident time (default 10m)")
	register(cmd)
}
