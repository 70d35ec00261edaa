package reaper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// SelfLabel marks the reaper's own container, which Sweep spares: the
// reaper exits after its sweep and the engine removes it (AutoRemove).
const SelfLabel = "cascade.reaper"

// Removed lists what Sweep removed.
type Removed struct {
	Containers []string // names
	Networks   []string // names
}

// disconnectTimeout bounds taking one container off one network.
const disconnectTimeout = 10 * time.Second

// RemoveContainer takes a container off networks and then removes it
// (forced: running and paused ones go too). The endpoints go first, while
// the container still exists: a forced removal that leaves them to the
// engine's teardown sometimes leaves one behind, and its network with it
// ("has active endpoints"). A container already gone, or already being
// removed (an AutoRemove container that just exited), is not an error.
func RemoveContainer(ctx context.Context, cli client.APIClient, id string, networks ...string) error {
	for _, n := range networks {
		dctx, cancel := context.WithTimeout(ctx, disconnectTimeout)
		_, _ = cli.NetworkDisconnect(dctx, n, client.NetworkDisconnectOptions{Container: id, Force: true})
		cancel()
	}
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return err
	}
	return nil
}

// RemoveNetwork removes a network, retrying for up to two seconds: the
// engine may still be detaching the endpoints of containers removed a
// moment ago. A network already gone is not an error.
func RemoveNetwork(ctx context.Context, cli client.APIClient, id string) error {
	var err error
	for i := 0; i < 20; i++ {
		_, err = cli.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}

// Sweep removes every container (running or not) and every network that
// carries label ("key=value"), except containers marked with SelfLabel:
// each container is taken off the label's networks and removed, in
// parallel, then the networks are removed.
func Sweep(ctx context.Context, cli client.APIClient, label string) (Removed, error) {
	f := make(client.Filters).Add("label", label)
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return Removed{}, fmt.Errorf("list networks: %w", err)
	}
	var netIDs []string
	for _, n := range ns.Items {
		netIDs = append(netIDs, n.ID)
	}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return Removed{}, fmt.Errorf("list containers: %w", err)
	}
	var (
		out  Removed
		errs []error
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for _, c := range cs.Items {
		if _, self := c.Labels[SelfLabel]; self {
			continue
		}
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := RemoveContainer(ctx, cli, c.ID, netIDs...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
				return
			}
			out.Containers = append(out.Containers, name)
		}()
	}
	wg.Wait()
	for _, n := range ns.Items {
		if err := RemoveNetwork(ctx, cli, n.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		out.Networks = append(out.Networks, n.Name)
	}
	return out, errors.Join(errs...)
}
