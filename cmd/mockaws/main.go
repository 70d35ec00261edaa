// Command mockaws is the one static binary behind every cascade container:
// one subcommand per service (route53, dnsplanner, dnsenactor, dynamodb, dwfm,
// ec2, netmgr, nlb). Flags default from CASCADE_* environment variables so
// docker-compose and the containers backend configure it the same way.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

var subcommands []*cobra.Command

// register adds a service's subcommand; each service's file calls it from init.
func register(cmd *cobra.Command) { subcommands = append(subcommands, cmd) }

func main() {
	root := &cobra.Command{
		Use:           "mockaws",
		Short:         "cascade's mock AWS services",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(subcommands...)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mockaws:", err)
		os.Exit(2)
	}
}
