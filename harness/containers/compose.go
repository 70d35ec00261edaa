package containers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Compose labels docker compose puts on the containers of a project.
const (
	composeProjectLabel = "com.docker.compose.project"
	composeServiceLabel = "com.docker.compose.service"
)

// AttachCompose attaches to a stack that docker compose started from
// compose/docker-compose.yml (a game-day): it finds the project's
// containers by the compose project label, reads their addresses, the
// shared incident clock (CASCADE_EPOCH, CASCADE_SPEED) and the toxiproxy
// proxies, and follows the services' logs from now on. Control acts on the
// containers; Close lets go of the stack without stopping it (docker
// compose down does that).
func AttachCompose(ctx context.Context, project string) (*Stack, error) {
	cli, err := engine.Connect(ctx)
	if err != nil {
		return nil, err
	}
	f := make(client.Filters).Add("label", composeProjectLabel+"="+project)
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("attach compose project %s: %w", project, err)
	}
	if len(list.Items) == 0 {
		_ = cli.Close()
		return nil, fmt.Errorf("attach compose project %s: %w: no containers (start it with docker-compose -f compose/docker-compose.yml -p %s up -d)", project, harness.ErrUnknownService, project)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		return list.Items[i].Labels[composeServiceLabel] < list.Items[j].Labels[composeServiceLabel]
	})

	// The clock: every service of the project shares CASCADE_EPOCH and
	// CASCADE_SPEED through the compose file's environment.
	var clockInfo harness.ClockInfo
	clockInfo.Speed = harness.DefaultSpeed
	clockInfo.IncidentStart = kit.IncidentStart
	for _, c := range list.Items {
		if c.Labels[composeServiceLabel] != "route53" {
			continue
		}
		ins, err := cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("attach compose project %s: %w", project, err)
		}
		clockInfo = clockFromEnv(ins.Container)
	}
	clock := clockInfo.Clock()
	s := newStack(project, ComposeName, cli, clock, kit.NewEvents(project, clock, nil))
	s.UpdateEndpoints(func(ep *harness.Endpoints) {
		*ep = harness.Endpoints{
			Name: project, Backend: ComposeName, DynamoDBHost: awsclient.DynamoDBHost,
			Admin: map[string]string{}, Clock: clockInfo,
		}
	})
	var toxiIP string
	owners := map[string]string{}
	attached := time.Now()
	for _, c := range list.Items {
		name := c.Labels[composeServiceLabel]
		ip := ""
		if c.NetworkSettings != nil {
			for netName, n := range c.NetworkSettings.Networks {
				if n != nil && n.IPAddress.IsValid() {
					ip = n.IPAddress.String()
					s.network = netName
					break
				}
			}
		}
		kind := harness.KindOf(name)
		isProxy := name == "toxiproxy" || strings.HasPrefix(name, "ddb-lb-")
		if isProxy {
			kind = "toxiproxy"
		}
		u := &unit{name: name, kind: kind, id: c.ID, ip: ip, service: !isProxy, state: stateOf(c.State)}
		u.sink = &eventSink{instance: name, hub: s.EventHub()}
		s.addUnit(u)
		switch {
		case name == "toxiproxy":
			toxiIP = ip
		case strings.HasPrefix(name, "ddb-lb-"):
			owners[name] = fmt.Sprintf("http://%s:%d", ip, toxiproxyPort)
			s.UpdateEndpoints(func(ep *harness.Endpoints) {
				ep.LoadBalancers = append(ep.LoadBalancers, harness.LoadBalancer{
					Name: name, IP: ip, Addr: ip + ":" + strconv.Itoa(dynamoDBPort), AZ: strings.TrimPrefix(name, "ddb-lb-")})
			})
		default:
			if addr, err := netip.ParseAddr(ip); err == nil {
				s.UpdateEndpoints(func(ep *harness.Endpoints) { fillEndpoint(ep, name, kind, addr) })
			}
			if u.state == harness.Running || u.state == harness.Paused {
				s.follow(u, attached)
			}
		}
	}
	if toxiIP == "" {
		return s, fmt.Errorf("attach compose project %s: no toxiproxy container", project)
	}
	main := fmt.Sprintf("http://%s:%d", toxiIP, toxiproxyPort)
	if err := s.startRouter(main, owners); err != nil {
		return s, err
	}
	proxies, err := s.Toxiproxy().Proxies()
	if err != nil {
		return s, fmt.Errorf("attach compose project %s: toxiproxy: %w", project, err)
	}
	s.UpdateEndpoints(func(ep *harness.Endpoints) { ep.Links = linksOf(proxies, ep.LoadBalancers, toxiIP) })
	return s, nil
}

// linksOf describes toxiproxy's proxies as links: the load balancers
// first, then the <from>__<to> links sorted by name.
func linksOf(proxies map[string]*toxiclient.Proxy, lbs []harness.LoadBalancer, toxiIP string) []harness.Link {
	var out []harness.Link
	for _, lb := range lbs {
		if p, ok := proxies[lb.Name]; ok {
			out = append(out, harness.Link{Name: lb.Name, From: "clients", To: harness.DynamoDBSvc, Listen: lb.Addr, Upstream: p.Upstream})
		}
	}
	var names []string
	for n := range proxies {
		if strings.Contains(n, "__") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		from, to, _ := strings.Cut(n, "__")
		// toxiproxy reports its bind address ("[::]:10001"); clients dial
		// the container's.
		listen := proxies[n].Listen
		if _, port, err := net.SplitHostPort(listen); err == nil {
			listen = net.JoinHostPort(toxiIP, port)
		}
		out = append(out, harness.Link{Name: n, From: from, To: to, Listen: listen, Upstream: proxies[n].Upstream})
	}
	return out
}

func stateOf(s container.ContainerState) harness.ServiceState {
	switch s {
	case container.StateRunning, container.StateRestarting:
		return harness.Running
	case container.StatePaused:
		return harness.Paused
	default:
		return harness.Stopped
	}
}

// clockFromEnv reads the incident clock a container was started with.
func clockFromEnv(c container.InspectResponse) harness.ClockInfo {
	ci := harness.ClockInfo{Speed: harness.DefaultSpeed, IncidentStart: kit.IncidentStart}
	if c.State != nil {
		if t, err := time.Parse(time.RFC3339Nano, c.State.StartedAt); err == nil {
			ci.Epoch = t
		}
	}
	if c.Config == nil {
		return ci
	}
	for _, kv := range c.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "CASCADE_EPOCH":
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				ci.Epoch = time.UnixMilli(ms)
			} else if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				ci.Epoch = t
			}
		case "CASCADE_SPEED":
			if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
				ci.Speed = kit.Speed(f)
			}
		case "CASCADE_INCIDENT_START":
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				ci.IncidentStart = t
			}
		}
	}
	return ci
}

// fillEndpoint records the addresses of one service instance at ip.
func fillEndpoint(ep *harness.Endpoints, name, kind string, ip netip.Addr) {
	ep.Admin[name] = fmt.Sprintf("http://%s:%d", ip, adminPort)
	switch kind {
	case harness.Route53Svc:
		ep.DNS = hostPort(ip, dnsPort)
		ep.Route53API = "http://" + hostPort(ip, apiPort)
	case harness.DynamoDBSvc:
		ep.DynamoDBDirect = "http://" + hostPort(ip, dynamoDBPort) // as the embedded backend gives it
		ep.DynamoDBPort = dynamoDBPort
	case harness.EC2Svc:
		ep.EC2API = "http://" + hostPort(ip, apiPort)
	case harness.NetMgrSvc:
		ep.NetMgrAPI = "http://" + hostPort(ip, apiPort)
	case harness.NLBSvc:
		ep.NLBAPI = "http://" + hostPort(ip, apiPort)
		ep.NLB = hostPort(ip, apiPort)
	case harness.SQSSvc:
		ep.SQSAPI = "http://" + hostPort(ip, apiPort)
	case harness.LambdaSvc:
		ep.LambdaAPI = "http://" + hostPort(ip, apiPort)
	case harness.STSSvc:
		ep.STSAPI = "http://" + hostPort(ip, apiPort)
	case harness.ECSSvc:
		ep.ECSAPI = "http://" + hostPort(ip, apiPort)
	}
}

// follow streams a container's log into its event sink from since until
// the container stops or the stack is closed (a later start follows again).
func (s *Stack) follow(u *unit, since time.Time) {
	s.followers.Add(1)
	go func() {
		defer s.followers.Done()
		rc, err := s.cli.ContainerLogs(s.followCtx, u.id, client.ContainerLogsOptions{
			ShowStdout: true, ShowStderr: true, Follow: true,
			Since: strconv.FormatInt(since.Unix(), 10),
		})
		if err != nil {
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(u.sink, u.sink, rc)
	}()
}

// waitHTTP polls GET http://ip:port/path until it answers 200.
func waitHTTP(ctx context.Context, ip string, port int, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := fmt.Sprintf("http://%s:%d%s", ip, port, path)
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
