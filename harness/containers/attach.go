package containers

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers/engine"
)

// LabelAttached marks a user's container attached to a stack.
const LabelAttached = "cascade.attached"

// attachHostBase is the first host number of attached containers on a
// stack this package started (the mocks use 2-53; see hostNumbers).
const attachHostBase = 100

// attachAll runs the users' containers as in docs/attach.md: on the stack's
// network under their names, resolving through the mock DNS at dnsIP (the
// engine's resolver in the container forwards every name it does not know
// there), with the stack's AWS environment and labels. ip gives the i-th
// one's address (invalid: the engine picks one). Each is a unit of the
// stack, so Control, the faults and Close act on it.
func (s *Stack) attachAll(ctx context.Context, as []harness.Attachment, dnsIP netip.Addr, ip func(i int) netip.Addr, labels map[string]string) error {
	for i, a := range as {
		if _, err := s.unit(a.Name, false); err == nil {
			return fmt.Errorf("attach %s: %w: name %q is taken", a.Image, harness.ErrBadAttach, a.Name)
		}
		if _, err := s.cli.ImageInspect(ctx, a.Image); err != nil {
			return fmt.Errorf("attach %s: %w: image not present here (nothing is pulled: build or load it first): %v", a.Image, harness.ErrBadAttach, err)
		}
		u := &unit{name: a.Name, kind: "attached", attached: true, port: a.Port, state: harness.Stopped}
		u.sink = &eventSink{instance: a.Name, hub: s.EventHub()}
		s.addUnit(u)
		if err := s.runAttached(ctx, u, a, dnsIP, ip(i), labels); err != nil {
			return err
		}
		as := harness.AttachedService{Name: a.Name, Image: a.Image, IP: u.ip}
		if a.Port != 0 {
			as.Addr = net.JoinHostPort(u.ip, strconv.Itoa(a.Port))
		}
		s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.Attached = append(ep.Attached, as) })
	}
	return nil
}

// attachedEnv is the stack's AWS environment with the attachment's own
// variables over it. It has no CASCADE_DNS: the container's own resolver
// is the mock DNS already (CASCADE_DNS is for a process outside the
// stack's network, which must point its resolver there itself).
func attachedEnv(ep harness.Endpoints, own map[string]string) []string {
	env := map[string]string{}
	for _, kv := range harness.AWSEnv(ep) {
		k, v, _ := strings.Cut(kv, "=")
		if k != harness.DNSEnv {
			env[k] = v
		}
	}
	maps.Copy(env, own)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func (s *Stack) runAttached(ctx context.Context, u *unit, a harness.Attachment, dnsIP, ip netip.Addr, labels map[string]string) error {
	l := maps.Clone(labels)
	l[engine.LabelService] = a.Name
	l[LabelAttached] = "true"
	es := &network.EndpointSettings{Aliases: []string{a.Name}}
	if ip.IsValid() {
		es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
	}
	res, err := s.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   s.Name() + "-" + a.Name,
		Config: &container.Config{Image: a.Image, Env: attachedEnv(s.Endpoints(), a.Env), Labels: l},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode(s.network),
			DNS:         []netip.Addr{dnsIP},
		},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.network: es}},
	})
	if err != nil {
		return fmt.Errorf("attach %s: create: %w", a.Name, err)
	}
	u.id = res.ID
	if _, err := s.cli.ContainerStart(ctx, u.id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("attach %s: start: %w", a.Name, err)
	}
	ins, err := s.cli.ContainerInspect(ctx, u.id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("attach %s: %w", a.Name, err)
	}
	if ins.Container.NetworkSettings != nil {
		if n := ins.Container.NetworkSettings.Networks[s.network]; n != nil && n.IPAddress.IsValid() {
			u.ip = n.IPAddress.String()
		}
	}
	if u.ip == "" {
		return fmt.Errorf("attach %s: no address on network %s", a.Name, s.network)
	}
	s.follow(u, time.Now().Add(-time.Second))
	if err := s.waitAttached(ctx, u); err != nil {
		return err
	}
	u.setState(harness.Running)
	return nil
}

// waitAttached waits until an attached container's port accepts
// connections (nothing to wait for without a port).
func (s *Stack) waitAttached(ctx context.Context, u *unit) error {
	if u.port == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	addr := net.JoinHostPort(u.ip, strconv.Itoa(u.port))
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			if tail := u.sink.Tail(); tail != "" {
				return fmt.Errorf("attach %s: %s does not accept connections: %w; its output: %s", u.name, addr, ctx.Err(), tail)
			}
			return fmt.Errorf("attach %s: %s does not accept connections: %w", u.name, addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dnsAddr is the mock DNS server's address in endpoints.
func dnsAddr(ep harness.Endpoints) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(ep.DNS)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: the stack has no DNS server to point attached containers at (%q)", harness.ErrBadAttach, ep.DNS)
	}
	return netip.ParseAddr(host)
}

// attachCompose attaches the users' containers to a compose stack: labelled
// with a run of their own (so cascade clean removes them if this process
// dies), on the project's network, addresses picked by the engine.
func (s *Stack) attachCompose(ctx context.Context, as []harness.Attachment) error {
	dns, err := dnsAddr(s.Endpoints())
	if err != nil {
		return err
	}
	s.run = engine.NewRunID()
	labels := map[string]string{engine.LabelRun: s.run, engine.LabelOwner: engine.Owner(), "cascade.stack": s.Name()}
	return s.attachAll(ctx, as, dns, func(int) netip.Addr { return netip.Addr{} }, labels)
}
