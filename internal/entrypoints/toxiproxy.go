package entrypoints

import (
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/collectors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// toxiproxyModule is the module whose server Toxiproxy runs.
const toxiproxyModule = "github.com/Shopify/toxiproxy/v2"

// Toxiproxy returns the `toxiproxy` command: toxiproxy's own server
// (github.com/Shopify/toxiproxy/v2/cmd/server, which is a main package and
// cannot be imported) with its flags, single dash as upstream
// (-host=0.0.0.0 -config=/links.json), so the compose file and the
// containers backend pass the same arguments to either image build. It runs
// until the command's context ends (SIGINT, SIGTERM).
func Toxiproxy() *cobra.Command {
	return &cobra.Command{
		Use:                "toxiproxy [-host H] [-port P] [-config FILE] [-seed N]",
		Short:              "toxiproxy's server (the cascade/toxiproxy image's entry point)",
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := flag.NewFlagSet("toxiproxy", flag.ContinueOnError)
			fs.SetOutput(cmd.ErrOrStderr())
			host := fs.String("host", "localhost", "Host for toxiproxy's API to listen on")
			port := fs.String("port", "8474", "Port for toxiproxy's API to listen on")
			config := fs.String("config", "", "JSON file containing proxies to create on startup")
			seed := fs.Int64("seed", time.Now().UTC().UnixNano(), "Seed for randomizing toxics with")
			runtimeMetrics := fs.Bool("runtime-metrics", false, "enable runtime-related prometheus metrics")
			proxyMetrics := fs.Bool("proxy-metrics", false, "enable toxiproxy-specific prometheus metrics")
			version := fs.Bool("version", false, "print the version")
			if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
				return nil
			} else if err != nil {
				return err
			}
			setToxiproxyVersion()
			if *version {
				fmt.Fprintf(cmd.OutOrStdout(), "toxiproxy-server version %s\n", toxiproxy.Version)
				return nil
			}
			rand.New(rand.NewSource(*seed)) // #nosec G404 -- as upstream's server
			logger := toxiproxyLogger()
			logger.Info().Str("version", toxiproxy.Version).Msg("Starting Toxiproxy")
			server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
			if *proxyMetrics {
				server.Metrics.ProxyMetrics = collectors.NewProxyMetricCollectors()
			}
			if *runtimeMetrics {
				server.Metrics.RuntimeMetrics = collectors.NewRuntimeMetricCollectors()
			}
			if *config != "" {
				server.PopulateConfig(*config)
			}
			listenErr := make(chan error, 1)
			go func() { listenErr <- server.Listen(net.JoinHostPort(*host, *port)) }()
			select {
			case err := <-listenErr:
				return fmt.Errorf("toxiproxy: %w", err)
			case <-cmd.Context().Done():
			}
			logger.Info().Msg("Shutdown started")
			if err := server.Shutdown(); err != nil {
				logger.Err(err).Msg("Shutdown finished with error")
			}
			return nil
		},
	}
}

// setToxiproxyVersion sets toxiproxy.Version from the build's module list
// when no -ldflags -X set it (the source build sets it; go install cannot).
func setToxiproxyVersion() {
	if toxiproxy.Version != "git" {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == toxiproxyModule {
				toxiproxy.Version = d.Version
			}
		}
	}
}

// toxiproxyLogger is upstream's: JSON lines on stdout, UTC timestamps,
// short caller, level from LOG_LEVEL.
func toxiproxyLogger() zerolog.Logger {
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	zerolog.CallerMarshalFunc = func(_ uintptr, file string, line int) string {
		for i := len(file) - 1; i > 0; i-- {
			if file[i] == '/' {
				file = file[i+1:]
				break
			}
		}
		return file + ":" + strconv.Itoa(line)
	}
	logger := zerolog.New(os.Stdout).With().Caller().Timestamp().Logger()
	val, ok := os.LookupEnv("LOG_LEVEL")
	if !ok {
		return logger
	}
	lvl, err := zerolog.ParseLevel(val)
	if err != nil {
		logger.Err(err).Msgf("unknown LOG_LEVEL value: %q", val)
		return logger
	}
	return logger.Level(lvl)
}
