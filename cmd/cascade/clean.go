package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/harness/containers/engine"
)

func init() {
	var all, dryRun, images bool
	var runs []string
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "remove the containers and networks that earlier runs left behind (label cascade.run)",
		Long: `clean removes every container and network labelled cascade.run whose owning
process is gone and whose reaper is not running (the second line: a killed run's
own reaper removes it a grace period after its process died, unless the reaper was
off or killed too). --all removes those of live processes and of running reapers too. Game-day stacks started with docker compose are not touched:
stop them with docker-compose down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, r := range runs {
				if r == "" {
					return usagef("clean: --run needs a run id")
				}
			}
			ctx := cmd.Context()
			cli, err := engine.Connect(ctx)
			if err != nil {
				return err
			}
			defer cli.Close()
			out := cmd.OutOrStdout()
			if dryRun {
				left, err := engine.List(ctx, cli, "")
				if err != nil {
					return err
				}
				for _, l := range left {
					fmt.Fprintf(out, "%s %s run=%s owner=%s\n", l.Kind, l.Name, l.Run, l.Owner)
				}
				return nil
			}
			opts := engine.ReapOptions{All: all}
			if len(runs) > 0 {
				opts.Runs = runs
			}
			reaped, err := engine.Reap(ctx, cli, opts)
			for _, c := range reaped.Containers {
				fmt.Fprintln(out, "removed container", c)
			}
			for _, n := range reaped.Networks {
				fmt.Fprintln(out, "removed network", n)
			}
			fmt.Fprintln(out, "removed", reaped)
			if err != nil || !images {
				return err
			}
			imgs, err := engine.EnsureImages(ctx, cli)
			if err != nil {
				return err
			}
			keep := []string{imgs.MockAWS, imgs.Toxiproxy, engine.MockAWSRepo + ":" + engine.LocalTag, engine.ToxiproxyRepo + ":" + engine.LocalTag}
			removed, err := engine.PruneImages(ctx, cli, keep)
			for _, t := range removed {
				fmt.Fprintln(out, "removed image", t)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also remove the stacks of processes that are still running, and runs whose reaper still runs")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "list the labelled containers and networks, remove nothing")
	cmd.Flags().StringSliceVar(&runs, "run", nil, "remove only these run ids")
	cmd.Flags().BoolVar(&images, "images", false, "also remove cascade images built for older code (not the current hash or :local)")
	register(cmd)
}
