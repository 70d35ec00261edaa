package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/dnsenactor"
)

func init() {
	var (
		c          common
		route53API string
		period     time.Duration
		keep       uint64
		synthetic  int
		accounts   []string
		retries    int
		backoff    time.Duration
		perBatch   int
		readAhead  int
		timeout    time.Duration
		disabled   bool
	)
	cmd := &cobra.Command{
		Use:   "dnsenactor",
		Short: "DynamoDB's DNS Enactor: applies the newest plan generation endpoint by endpoint, then cleans up old ones",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, mode, err := c.env()
			if err != nil {
				return err
			}
			svc, err := dnsenactor.New(dnsenactor.Config{
				Route53API: route53API, Mode: mode, Period: period, KeepGenerations: keep, Accounts: accounts,
				SyntheticEndpoints: synthetic, MaxRetries: retries, RetryBackoff: backoff, EndpointsPerBatch: perBatch,
				ReadAhead: readAhead, RequestTimeoutWall: timeout, Disabled: disabled,
			}, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), svc, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "dnsenactor-a")
	fs.StringVar(&route53API, "route53-api", envOr("CASCADE_ROUTE53_API", "http://route53:8080"), "Route53 API base URL (CASCADE_ROUTE53_API)")
	fs.DurationVar(&period, "period", dnsEnvDuration("CASCADE_ENACTOR_PERIOD", time.Minute), "between runs, incident time (CASCADE_ENACTOR_PERIOD)")
	fs.Uint64Var(&keep, "keep-generations", uint64(envInt("CASCADE_KEEP_GENERATIONS", 5)), "clean up generations more than K older than the one applied (CASCADE_KEEP_GENERATIONS)")
	fs.IntVar(&synthetic, "synthetic-endpoints", int(envInt("CASCADE_SYNTHETIC_ENDPOINTS", 0)), "synthetic endpoints added for scale (CASCADE_SYNTHETIC_ENDPOINTS)")
	fs.StringSliceVar(&accounts, "accounts", dnsSplitEnv("CASCADE_ACCOUNTS", ""), "12-digit accounts with account-specific endpoints (CASCADE_ACCOUNTS)")
	fs.IntVar(&retries, "max-retries", int(envInt("CASCADE_ENACTOR_RETRIES", 3)), "retries of an endpoint whose transaction failed (CASCADE_ENACTOR_RETRIES)")
	fs.DurationVar(&backoff, "retry-backoff", dnsEnvDuration("CASCADE_ENACTOR_BACKOFF", 2*time.Second), "first retry's wait, incident time (CASCADE_ENACTOR_BACKOFF)")
	fs.IntVar(&perBatch, "endpoints-per-batch", int(envInt("CASCADE_ENDPOINTS_PER_BATCH", 1)), "endpoints per Route53 transaction (CASCADE_ENDPOINTS_PER_BATCH)")
	fs.IntVar(&readAhead, "read-ahead", int(envInt("CASCADE_READ_AHEAD", 1)), "record sets listed per read of the endpoints (CASCADE_READ_AHEAD)")
	fs.DurationVar(&timeout, "request-timeout", dnsEnvDuration("CASCADE_ROUTE53_TIMEOUT", 5*time.Second), "one Route53 call's timeout, wall time (CASCADE_ROUTE53_TIMEOUT)")
	fs.BoolVar(&disabled, "disabled", envOr("CASCADE_ENACTOR_DISABLED", "") == "true", "start with the automation disabled (CASCADE_ENACTOR_DISABLED)")
	register(cmd)
}
