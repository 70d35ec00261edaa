package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/cascade-lab/cascade/harness/containers/reaper"
)

// ReapOptions selects what Reap removes.
type ReapOptions struct {
	// All removes every labelled container and network, also those of live
	// processes and of runs whose reaper is still running (`cascade clean
	// --all`). Without it only runs whose owner process is gone and whose
	// reaper is not running are removed, and the caller's own process is
	// spared.
	All bool
	// Runs restricts the removal to these run ids (nil: any run).
	Runs []string
	// Except spares these run ids (a run's start spares itself).
	Except []string
}

// Reaped lists what Reap removed.
type Reaped struct {
	Runs       []string
	Containers []string // names
	Networks   []string // names
}

// Empty reports whether nothing was removed.
func (r Reaped) Empty() bool { return len(r.Containers) == 0 && len(r.Networks) == 0 }

func (r Reaped) String() string {
	return fmt.Sprintf("%d containers and %d networks of %d runs", len(r.Containers), len(r.Networks), len(r.Runs))
}

// Leftover is one labelled container or network.
type Leftover struct {
	Kind  string // "container" or "network"
	ID    string
	Name  string
	Run   string
	Owner string
	// Reaper: a running reaper container (label reaper.SelfLabel). Its run
	// is the reaper's to remove, a grace period after its last owner left.
	Reaper bool
}

// List returns every container (running or not) and network that carries
// the cascade.run label, optionally of run only.
func List(ctx context.Context, cli client.APIClient, run string) ([]Leftover, error) {
	f := make(client.Filters)
	if run == "" {
		f.Add("label", LabelRun)
	} else {
		f.Add("label", LabelRun+"="+run)
	}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Leftover
	for _, c := range cs.Items {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = trimSlash(c.Names[0])
		}
		_, self := c.Labels[reaper.SelfLabel]
		out = append(out, Leftover{Kind: "container", ID: c.ID, Name: name, Run: c.Labels[LabelRun], Owner: c.Labels[LabelOwner],
			Reaper: self && c.State == container.StateRunning})
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		out = append(out, Leftover{Kind: "network", ID: n.ID, Name: n.Name, Run: n.Labels[LabelRun], Owner: n.Labels[LabelOwner]})
	}
	return out, nil
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

// Reap removes leftovers of earlier runs: containers first (forced, so
// running and paused ones go too), then their networks, which can only be
// removed once empty.
func Reap(ctx context.Context, cli client.APIClient, opts ReapOptions) (Reaped, error) {
	all, err := List(ctx, cli, "")
	if err != nil {
		return Reaped{}, err
	}
	want := reapable(all, Owner(), opts, ownerAlive)
	var out Reaped
	var errs []error
	runs := map[string]bool{}
	// Each container is taken off its run's networks before it is removed
	// (see reaper.RemoveContainer).
	nets := map[string][]string{}
	for _, l := range all {
		if l.Kind == "network" {
			nets[l.Run] = append(nets[l.Run], l.ID)
		}
	}
	for _, l := range all {
		if l.Kind != "container" || !want(l) {
			continue
		}
		if err := reaper.RemoveContainer(ctx, cli, l.ID, nets[l.Run]...); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", l.Name, err))
			continue
		}
		out.Containers = append(out.Containers, l.Name)
		runs[l.Run] = true
	}
	for _, l := range all {
		if l.Kind != "network" || !want(l) {
			continue
		}
		if err := reaper.RemoveNetwork(ctx, cli, l.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", l.Name, err))
			continue
		}
		out.Networks = append(out.Networks, l.Name)
		runs[l.Run] = true
	}
	for r := range runs {
		out.Runs = append(out.Runs, r)
	}
	sort.Strings(out.Runs)
	return out, errors.Join(errs...)
}

// reapable says which of all Reap removes for opts, self being the
// caller's owner label and alive telling whether an owner's process runs.
// Without opts.All, a run is removed only when its owner is gone and it has
// no running reaper: a running reaper knows whether an owner is still
// connected (the owner's pid, read from /proc, is only a guess: another PID
// namespace on the same host looks dead) and removes the run itself once
// none has been for its grace period. A run's start or `cascade clean` that
// removed it first, as soon as its owner died, would cut that grace short:
// "the run is kept while its owner could still reconnect" would hold only
// while no other run started on the engine.
func reapable(all []Leftover, self string, opts ReapOptions, alive func(owner string) bool) func(Leftover) bool {
	watched := map[string]bool{}
	for _, l := range all {
		if l.Reaper {
			watched[l.Run] = true
		}
	}
	return func(l Leftover) bool {
		if contains(opts.Except, l.Run) {
			return false
		}
		if opts.Runs != nil && !contains(opts.Runs, l.Run) {
			return false
		}
		if opts.All {
			return true
		}
		return !watched[l.Run] && l.Owner != self && !alive(l.Owner)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PhantomNetwork reports whether a network the engine will not remove is
// held by the engine's own defect: no container is attached to it, yet its
// removal fails with "has active endpoints" (a phantom endpoint, which only an
// engine restart clears; Stack.Close reports it as a network-not-removed
// event). Any other outcome is false, with the reason.
func PhantomNetwork(ctx context.Context, cli client.APIClient, id string) (bool, string) {
	nw, err := cli.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
	if err != nil {
		return false, fmt.Sprintf("inspect: %v", err)
	}
	if n := len(nw.Network.Containers); n > 0 {
		return false, fmt.Sprintf("%d container(s) still attached", n)
	}
	err = reaper.RemoveNetwork(ctx, cli, id)
	switch {
	case err == nil:
		return false, "removed now: it was not a phantom, Close should have removed it"
	case strings.Contains(err.Error(), "active endpoints"):
		return true, err.Error()
	default:
		return false, err.Error()
	}
}
