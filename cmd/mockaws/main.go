// Command mockaws is the one static binary behind every cascade container
// built from source (make images): one subcommand per service (route53,
// dnsplanner, dnsenactor, dynamodb, dwfm, ec2, netmgr, nlb, ...) and the
// reaper, from internal/entrypoints. Flags default from CASCADE_*
// environment variables so docker-compose and the containers backend
// configure it the same way. An installed cascade binary carries the same
// commands (`cascade mockaws ...`) and builds the images from itself.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cascade-lab/cascade/internal/entrypoints"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := entrypoints.MockAWS().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "mockaws:", err)
		os.Exit(2)
	}
}
