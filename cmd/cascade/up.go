package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	_ "github.com/cascade-lab/cascade/harness/embedded"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// DefaultEndpointsFile is where cascade up writes the endpoints and cascade
// inject reads them.
const DefaultEndpointsFile = "cascade-endpoints.json"

func init() {
	var (
		backend, endpointsFile, variant, fixes, services string
		speed                                            float64
		seed                                             int64
		events                                           bool
		attach                                           []string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "start a stack in the foreground and print its endpoints; Ctrl-C stops it",
		Long: `up starts the whole stack (embedded by default: every service in this process on
loopback, an embedded toxiproxy), prints its endpoints as JSON and writes them to
--endpoints-file, so dig, the AWS CLI or your own service can use it:

  dig @127.0.0.1 -p <dns port> dynamodb.us-east-1.amazonaws.com
  aws dynamodb list-tables --endpoint-url http://127.0.1.1:<dynamodb_port>

cascade inject applies faults to it from another terminal. Ctrl-C stops everything.

--attach IMAGE[,env=K=V...][,name=N][,port=P] (containers and compose backends,
repeatable) runs your own container on the stack's network: it resolves every name
through the mock DNS, gets AWS_ENDPOINT_URL_<SERVICE>, AWS_REGION and static
credentials, and cascade inject stop-service/pause-service/restart-service name it
(docs/attach.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := upOptions(backend, variant, fixes, services, speed, seed)
			if err != nil {
				return err
			}
			as, err := attachOptions(backend, attach)
			if err != nil {
				return err
			}
			opts = append(opts, as...)
			if events {
				opts = append(opts, harness.WithEventOutput(cmd.ErrOrStderr()))
			}
			ctx := cmd.Context()
			stack, err := harness.Start(ctx, opts...)
			if err != nil {
				return err
			}
			defer func() {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = stack.Close(cctx)
				_ = os.Remove(endpointsFile)
			}()
			left, err := faults.Sweep(ctx, stack)
			if err != nil {
				return err
			}
			if !left.Empty() {
				fmt.Fprintln(cmd.ErrOrStderr(), "cascade: removed leftovers:", left)
			}
			ctl, err := kit.StartHTTP("127.0.0.1:0", harness.ControlHandler(stack))
			if err != nil {
				return err
			}
			defer ctl.Close()
			ep := stack.Endpoints()
			ep.Control = ctl.URL()
			if err := harness.WriteEndpoints(endpointsFile, ep); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(ep); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "cascade: stack %s up (%s); endpoints in %s; Ctrl-C stops it\n", ep.Name, ep.Backend, endpointsFile)
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "cascade: stopping")
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&backend, "backend", "", "backend: embedded or containers (default $CASCADE_BACKEND, else embedded)")
	fs.StringVar(&endpointsFile, "endpoints-file", DefaultEndpointsFile, "where to write the endpoints JSON")
	fs.StringVar(&variant, "variant", "aswas", "aswas (October 2025) or fixed (every mitigation)")
	fs.StringVar(&fixes, "fixes", "", "comma-separated mitigations: "+strings.Join(harness.AllFixes, ", ")+" (or all)")
	fs.StringVar(&services, "services", "", "comma-separated services to start (default all): "+strings.Join(harness.ServiceKinds, ", "))
	fs.Float64Var(&speed, "speed", float64(harness.DefaultSpeed), "incident minutes per wall second")
	fs.Int64Var(&seed, "seed", 1, "seed of the services' randomness")
	fs.BoolVar(&events, "events", false, "write every service event to stderr as JSON lines")
	fs.StringArrayVar(&attach, "attach", nil, "attach your container: IMAGE[,env=K=V...][,name=N][,port=P] (containers and compose backends; repeatable)")
	register(cmd)
}

// upOptions validates up's flags; bad input is a usage error naming the
// valid choices.
func upOptions(backend, variant, fixes, services string, speed float64, seed int64) ([]harness.Option, error) {
	if backend != "" && !slices.Contains(harness.Backends(), backend) {
		return nil, usagef("unknown backend %q: valid backends are %s", backend, strings.Join(harness.Backends(), ", "))
	}
	if variant != "aswas" && variant != "fixed" {
		return nil, usagef("unknown variant %q: valid variants are aswas, fixed", variant)
	}
	fixList, err := harness.ParseFixes(fixes)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if err := kit.Speed(speed).Validate(); err != nil {
		return nil, usagef("--speed: %v", err)
	}
	opts := []harness.Option{harness.WithSpeed(kit.Speed(speed)), harness.WithSeed(seed), harness.Variant(variant), harness.WithFixes(fixList...)}
	if backend != "" {
		opts = append(opts, harness.WithBackend(backend))
	}
	if services != "" {
		var kinds []string
		for _, k := range strings.Split(services, ",") {
			k = strings.TrimSpace(k)
			if !slices.Contains(harness.ServiceKinds, k) {
				return nil, usagef("unknown service %q: valid services are %s", k, strings.Join(harness.ServiceKinds, ", "))
			}
			kinds = append(kinds, k)
		}
		// A kind without one it requires is the user's input too.
		if _, err := harness.NewTopology(harness.Options{Services: kinds}); err != nil {
			return nil, usagef("%v", err)
		}
		opts = append(opts, harness.WithServices(kinds...))
	}
	return opts, nil
}

// attachOptions parses --attach values; bad ones, or attaching to a
// backend that runs no containers, are usage errors naming the choices.
func attachOptions(backend string, values []string) ([]harness.Option, error) {
	if len(values) == 0 {
		return nil, nil
	}
	if backend == "" {
		backend = os.Getenv(harness.BackendEnv)
	}
	if backend != containers.Name && backend != containers.ComposeName {
		if backend == "" {
			backend = harness.DefaultBackend
		}
		return nil, usagef("--attach needs --backend %s or %s (backend %s runs no containers; give your process the stack's AWS environment instead, docs/attach.md)", containers.Name, containers.ComposeName, backend)
	}
	var as []harness.Attachment
	for _, v := range values {
		a, err := harness.ParseAttach(v)
		if err != nil {
			return nil, usagef("--attach: %v", err)
		}
		as = append(as, a)
	}
	if _, err := harness.NewOptions(harness.WithAttach(as...)); err != nil {
		return nil, usagef("--attach: %v", err)
	}
	return []harness.Option{harness.WithAttach(as...)}, nil
}
