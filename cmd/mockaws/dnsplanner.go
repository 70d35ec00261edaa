package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/dnsplanner"
)

func init() {
	var (
		c          common
		route53API string
		lbs        []string
		lbPort     int
		period     time.Duration
		interval   time.Duration
		timeout    time.Duration
		slow       time.Duration
		synthetic  int
		accounts   []string
		maxBatch   int
	)
	cmd := &cobra.Command{
		Use:   "dnsplanner",
		Short: "DynamoDB's DNS Planner: health-checks the load balancers and writes plan generations to Route53",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, _, err := c.env()
			if err != nil {
				return err
			}
			parsed, err := dnsParseLBs(lbs)
			if err != nil {
				return err
			}
			svc, err := dnsplanner.New(dnsplanner.Config{
				Route53API: route53API, LBs: parsed, LBPort: lbPort, Period: period, HealthInterval: interval,
				HealthTimeoutWall: timeout, SlowLatencyWall: slow, Accounts: accounts, SyntheticEndpoints: synthetic,
				MaxChangesPerBatch: maxBatch,
			}, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), svc, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "dnsplanner")
	fs.StringVar(&route53API, "route53-api", envOr("CASCADE_ROUTE53_API", "http://route53:8080"), "Route53 API base URL (CASCADE_ROUTE53_API)")
	fs.StringArrayVar(&lbs, "lb", dnsSplitEnv("CASCADE_LBS", "ddb-lb-a=ddb-lb-a,ddb-lb-b=ddb-lb-b,ddb-lb-c=ddb-lb-c"), "load balancer name=ip, repeatable (CASCADE_LBS, comma-separated)")
	fs.IntVar(&lbPort, "lb-port", int(envInt("CASCADE_LB_PORT", 8000)), "port of the load balancers' health checks (CASCADE_LB_PORT)")
	fs.DurationVar(&period, "period", dnsEnvDuration("CASCADE_PLAN_PERIOD", time.Minute), "write a generation at least this often, incident time (CASCADE_PLAN_PERIOD)")
	fs.DurationVar(&interval, "health-interval", dnsEnvDuration("CASCADE_HEALTH_INTERVAL", 10*time.Second), "between health-check rounds, incident time (CASCADE_HEALTH_INTERVAL)")
	fs.DurationVar(&timeout, "health-timeout", dnsEnvDuration("CASCADE_HEALTH_TIMEOUT", time.Second), "one health check's timeout, wall time (CASCADE_HEALTH_TIMEOUT)")
	fs.DurationVar(&slow, "slow-latency", dnsEnvDuration("CASCADE_SLOW_LATENCY", 100*time.Millisecond), "latency above which an LB loses weight, wall time (CASCADE_SLOW_LATENCY)")
	fs.IntVar(&synthetic, "synthetic-endpoints", int(envInt("CASCADE_SYNTHETIC_ENDPOINTS", 0)), "synthetic endpoints added for scale (CASCADE_SYNTHETIC_ENDPOINTS)")
	fs.StringSliceVar(&accounts, "accounts", dnsSplitEnv("CASCADE_ACCOUNTS", ""), "12-digit accounts with account-specific endpoints (CASCADE_ACCOUNTS)")
	fs.IntVar(&maxBatch, "max-changes-per-batch", int(envInt("CASCADE_MAX_CHANGES_PER_BATCH", 1000)), "changes per Route53 batch (CASCADE_MAX_CHANGES_PER_BATCH)")
	register(cmd)
}

func dnsParseLBs(specs []string) ([]dnsplanner.LBConfig, error) {
	var out []dnsplanner.LBConfig
	for _, s := range specs {
		name, ip, ok := strings.Cut(s, "=")
		if !ok || name == "" || ip == "" {
			return nil, fmt.Errorf("--lb %q: want name=ip", s)
		}
		out = append(out, dnsplanner.LBConfig{Name: name, IP: ip})
	}
	return out, nil
}

func dnsSplitEnv(key, def string) []string {
	v := envOr(key, def)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func dnsEnvDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(envOr(key, "")); err == nil {
		return d
	}
	return def
}
