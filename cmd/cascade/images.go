package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	// The backends "containers" and "compose" (cascade up --backend, inject).
	_ "github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
)

func init() {
	var force, quiet bool
	cmd := &cobra.Command{
		Use:   "images",
		Short: "build the cascade/mockaws and cascade/toxiproxy images locally (FROM scratch, nothing pulled)",
		Long: `images compiles cmd/mockaws and toxiproxy's server statically and builds the
images cascade/mockaws:<hash> and cascade/toxiproxy:<hash> FROM scratch, also
tagged :local for compose/docker-compose.yml. The hash covers go.mod, go.sum and
every .go file cmd/mockaws depends on, so unchanged code is not rebuilt.
It prints the two image references, one a line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cli, err := engine.Connect(ctx)
			if err != nil {
				return err
			}
			defer cli.Close()
			log := cmd.ErrOrStderr()
			if quiet {
				log = nil
			}
			imgs, err := engine.EnsureImages(ctx, cli, engine.WithForce(force), engine.WithBuildLog(log))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), imgs.MockAWS)
			fmt.Fprintln(cmd.OutOrStdout(), imgs.Toxiproxy)
			if !quiet {
				fmt.Fprintf(os.Stderr, "images ready in %v (built %d)\n", imgs.Took.Round(1e6), len(imgs.Built))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even when the tags exist")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the image references")
	register(cmd)
}
