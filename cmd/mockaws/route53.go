package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/route53"
)

func init() {
	var (
		c          common
		dnsAddr    string
		apiAddr    string
		zones      []string
		maxChanges int
		maxBody    int64
	)
	defZones := route53.DefaultZones
	if v := os.Getenv("CASCADE_ZONES"); v != "" {
		defZones = strings.Split(v, ",")
	}
	defMaxChanges, _ := strconv.Atoi(envOr("CASCADE_MAX_CHANGES_PER_BATCH", "1000"))
	cmd := &cobra.Command{
		Use:   "route53",
		Short: "authoritative DNS (UDP+TCP) for the hosted zones and the Route53 REST API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, mode, err := c.env()
			if err != nil {
				return err
			}
			svc, err := route53.New(route53.Config{
				DNSAddr:            dnsAddr,
				APIAddr:            apiAddr,
				Mode:               mode,
				Zones:              zones,
				MaxChangesPerBatch: maxChanges,
				MaxBodyBytes:       maxBody,
			}, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), svc, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "route53")
	fs.StringVar(&dnsAddr, "dns-addr", envOr("CASCADE_DNS_ADDR", ":53"), "DNS address, served on UDP and TCP (CASCADE_DNS_ADDR)")
	fs.StringVar(&apiAddr, "api-addr", envOr("CASCADE_API_ADDR", ":8080"), "Route53 REST API address (CASCADE_API_ADDR)")
	fs.StringArrayVar(&zones, "zone", defZones, "hosted zone created at start; repeatable (CASCADE_ZONES, comma-separated)")
	fs.IntVar(&maxChanges, "max-changes-per-batch", defMaxChanges, "most changes in one change batch (CASCADE_MAX_CHANGES_PER_BATCH)")
	fs.Int64Var(&maxBody, "max-body-bytes", 32<<20, "largest API request body")
	register(cmd)
}
