package entrypoints

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/harness/containers/reaper"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func init() { register(reaperCmd()) }

// reaperCmd is `mockaws reaper`: the containers backend starts it first in
// every run, with the engine's socket mounted (see harness/containers/reaper).
// It is not a mock service: it has no admin API and runs on the wall clock.
func reaperCmd() *cobra.Command {
	var (
		label, listen         string
		grace, connectTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "reaper",
		Short: "remove a run's containers and networks once its owner process is gone",
		Long: "Accepts the owner's connection on --listen and, once no owner has been connected for --grace\n" +
			"(or none came within --connect-timeout), removes every container and network labelled --label\n" +
			"through the Docker engine's API (/var/run/docker.sock, or DOCKER_HOST), then exits.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := json.NewEncoder(os.Stdout)
			emit := func(kind string, fields map[string]any) {
				_ = out.Encode(kit.Event{Time: time.Now(), Service: "reaper", Kind: kind, Fields: fields})
			}
			cli, err := client.New(client.FromEnv)
			if err != nil {
				return fmt.Errorf("reaper: docker: %w", err)
			}
			defer cli.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("reaper: %w", err)
			}
			emit("started", map[string]any{"label": label, "listen": ln.Addr().String(), "grace": grace.String()})
			err = reaper.Watch(ctx, ln, reaper.Config{
				Label: label, Grace: grace, ConnectTimeout: connectTimeout,
				Notify: func(kind string, owners int) { emit(kind, map[string]any{"owners": owners}) },
			})
			if err != nil {
				emit("stopped", map[string]any{"error": err.Error()})
				return nil // stopped (docker stop): the run is not reaped
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			removed, err := reaper.Sweep(sctx, cli, label)
			fields := map[string]any{"containers": removed.Containers, "networks": removed.Networks}
			if err != nil {
				fields["error"] = err.Error()
			}
			emit("reaped", fields)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&label, "label", "", "the label (key=value) of the containers and networks to remove (required)")
	f.StringVar(&listen, "listen", ":8080", "address owners connect to")
	f.DurationVar(&grace, "grace", reaper.DefaultGrace, "how long the run may have no owner connected before it is removed")
	f.DurationVar(&connectTimeout, "connect-timeout", reaper.DefaultConnectTimeout, "how long to wait for the first owner")
	_ = cmd.MarkFlagRequired("label")
	return cmd
}
