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
		Long: `images builds cascade/mockaws:<hash> and cascade/toxiproxy:<hash> FROM scratch,
also tagged :local for compose/docker-compose.yml, and prints the two references,
one a line. A static cascade binary (CGO_ENABLED=0) is itself the images' only
file (they run "cascade mockaws" and "cascade toxiproxy"), tagged by its hash:
no checkout or Go toolchain is needed. A cgo binary inside a checkout compiles
cmd/mockaws and toxiproxy's server statically instead, tagged by a hash of
go.mod, go.sum and every .go file cmd/mockaws depends on; outside a checkout it
fails, naming how to install a static one (docs/install.md). Unchanged images
are not rebuilt.`,
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
