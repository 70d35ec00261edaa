package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// DisableRyuk sets TESTCONTAINERS_RYUK_DISABLED=true unless it already says
// so: Ryuk is an image that cannot be pulled on these machines, and
// testcontainers turns it off only for that exact value. Runs are reaped by
// label instead (see Reap). Call it before the first testcontainers call;
// the packages of this module call it from init.
func DisableRyuk() {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") != "true" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

func init() { DisableRyuk() }

// Client is a connection to the Docker engine; Close releases it.
type Client = testcontainers.DockerClient

// Connect returns a client of the engine testcontainers-go would use,
// with the API version negotiated (the engines here speak 1.41).
func Connect(ctx context.Context) (*Client, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect docker: %w", err)
	}
	return cli, nil
}

// ErrNoDocker is returned by Available when no Docker engine answers.
var ErrNoDocker = errors.New("no Docker engine answers")

// Available reports whether a Docker engine answers a ping within a few
// seconds; suites skip (loudly) when it does not.
func Available(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	return nil
}
