package entrypoints

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// common holds the flags every service subcommand shares.
type common struct {
	name          string
	adminAddr     string
	speed         float64
	epoch         string
	incidentStart string
	seed          int64
	runSeed       string
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
}

// kitBind adds the Config's flags to cmd.
func kitBind(cmd *cobra.Command, cfg any) error { return kit.BindFlags(cmd.Flags(), cfg) }

func envInt(key string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(key), 10, 64); err == nil {
		return v
	}
	return def
}

// addCommon registers the shared flags with defaults from the environment.
func (c *common) addCommon(fs *pflag.FlagSet, defaultName string) {
	fs.StringVar(&c.name, "name", envOr("CASCADE_NAME", defaultName), "instance name, stamped on events and failpoints (CASCADE_NAME)")
	fs.StringVar(&c.adminAddr, "admin-addr", envOr("CASCADE_ADMIN_ADDR", ":9090"), "admin API address: /healthz /metrics /events /failpoints (CASCADE_ADMIN_ADDR)")
	fs.Float64Var(&c.speed, "speed", envFloat("CASCADE_SPEED", float64(kit.DefaultSpeed)), "incident minutes per wall second (CASCADE_SPEED)")
	fs.StringVar(&c.epoch, "epoch", envOr("CASCADE_EPOCH", ""), "wall time (RFC 3339 or unix ms) at which the incident clock starts; processes sharing it agree on incident time (CASCADE_EPOCH, default now)")
	fs.StringVar(&c.incidentStart, "incident-start", envOr("CASCADE_INCIDENT_START", kit.IncidentStart.Format(time.RFC3339)), "incident time at the epoch (CASCADE_INCIDENT_START)")
	fs.Int64Var(&c.seed, "seed", envInt("CASCADE_SEED", 1), "seed of the service's randomness (CASCADE_SEED)")
	fs.StringVar(&c.runSeed, "run-seed", envOr("CASCADE_RUN_SEED", ""), "the run's seed: the instance's seed is derived from it and --name as on every backend, instead of --seed (CASCADE_RUN_SEED)")
}

// env builds the service's kit.Env, validating the shared flags.
func (c *common) env() (*kit.Env, error) {
	speed := kit.Speed(c.speed)
	if err := speed.Validate(); err != nil {
		return nil, err
	}
	wallStart := time.Now()
	if c.epoch != "" {
		if ms, err := strconv.ParseInt(c.epoch, 10, 64); err == nil {
			wallStart = time.UnixMilli(ms)
		} else if t, err := time.Parse(time.RFC3339Nano, c.epoch); err == nil {
			wallStart = t
		} else {
			return nil, fmt.Errorf("--epoch %q: want RFC 3339 or unix milliseconds", c.epoch)
		}
	}
	incidentStart, err := time.Parse(time.RFC3339Nano, c.incidentStart)
	if err != nil {
		return nil, fmt.Errorf("--incident-start %q: want RFC 3339", c.incidentStart)
	}
	seed := c.seed
	if c.runSeed != "" {
		run, err := strconv.ParseInt(c.runSeed, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--run-seed %q: want an integer", c.runSeed)
		}
		seed = catalogue.InstanceSeed(run, c.name)
	}
	clock := kit.NewScaledClock(wallStart, incidentStart, speed)
	return kit.NewEnv(c.name, clock, os.Stdout, seed), nil
}

// run starts svc and its admin API, and blocks until ctx ends.
func run(ctx context.Context, svc kit.Service, env *kit.Env, adminAddr string, health func() error) error {
	if err := svc.Start(ctx); err != nil {
		_ = svc.Close()
		return err
	}
	defer svc.Close()
	admin, err := kit.StartHTTP(adminAddr, kit.NewAdminMuxFor(env, health, svc))
	if err != nil {
		return err
	}
	defer admin.Close()
	env.Events.Emit("started", "admin", admin.Addr())
	<-ctx.Done()
	env.Events.Emit("stopping")
	return nil
}
