package cascadetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cascade-lab/cascade/experiments/use1-2025-10"
	"github.com/cascade-lab/cascade/harness"
	_ "github.com/cascade-lab/cascade/harness/backends" // every backend WithBackend may name
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Region is the stack's only region.
const Region = awsclient.Region

// DefaultLeadTime is how much incident time before the trigger (23:40 PDT)
// a stack's clock starts on embedded: at its default speed (20) it leaves
// the suite (60 - 5) / 20 = 2.75 s of wall time between Start and Replay to
// start its service and seed its data.
const DefaultLeadTime = time.Hour

// ContainersLeadTime is the default lead time on containers and compose:
// the clock starts before the containers do, and starting 16 of them took
// 24 s of wall time on a loaded machine (the orders example at speed 6 met
// its replay at 01:04 with a 1 h lead); 5 h at speed 6 leaves
// (300 - 5) / 6 = 49 s.
const ContainersLeadTime = 5 * time.Hour

// defaultLead is the lead time of backend (or CASCADE_BACKEND, else the
// default backend) when no WithLeadTime is given.
func defaultLead(backend string) time.Duration {
	switch backendOrDefault(backend) {
	case "containers", "compose":
		return ContainersLeadTime
	}
	return DefaultLeadTime
}

// Option configures Start.
type Option func(*options) error

type options struct {
	backend string
	name    string
	speed   kit.Speed
	seed    int64
	fixes   []string
	lead    time.Duration
	timeout time.Duration
	attach  []harness.Attachment
}

// WithBackend chooses the backend ("embedded", the default, or
// "containers"); CASCADE_BACKEND chooses when no option does.
func WithBackend(name string) Option {
	return func(o *options) error { o.backend = name; return nil }
}

// WithName names the stack (default cascade-<random>).
func WithName(name string) Option {
	return func(o *options) error { o.name = name; return nil }
}

// WithSpeed sets incident minutes per wall second (default the replay's
// speed on the backend: 20 embedded, 6 containers).
func WithSpeed(s float64) Option {
	return func(o *options) error {
		sp := kit.Speed(s)
		if err := sp.Validate(); err != nil {
			return err
		}
		o.speed = sp
		return nil
	}
}

// WithSeed seeds every mock service and the replay's workload (default 1).
func WithSeed(seed int64) Option {
	return func(o *options) error { o.seed = seed; return nil }
}

// WithFixes turns on AWS's announced mitigations by name (see Fixes) or
// "all"; the default is the incident as it was.
func WithFixes(names ...string) Option {
	return func(o *options) error {
		for _, n := range names {
			fs, err := harness.ParseFixes(n)
			if err != nil {
				return err
			}
			o.fixes = append(o.fixes, fs...)
		}
		return nil
	}
}

// WithLeadTime sets how much incident time before the trigger (23:40 PDT)
// the stack's clock starts (DefaultLeadTime on embedded, ContainersLeadTime
// on containers and compose): Replay must be called at
// least 5 incident minutes before the trigger, so a suite whose setup takes
// longer than (lead - 5 min) / speed of wall time needs more.
func WithLeadTime(d time.Duration) Option {
	return func(o *options) error {
		if d < use1.TriggerMargin || d > 12*time.Hour {
			return fmt.Errorf("lead time %s: must be between %s and 12h", d, use1.TriggerMargin)
		}
		o.lead = d
		return nil
	}
}

// WithHTTPTimeout bounds each request of the clients AWSConfig and
// HTTPClient return (wall time, default 5 s).
func WithHTTPTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("http timeout %s: must be positive", d)
		}
		o.timeout = d
		return nil
	}
}

// AttachOption configures an attached container (WithAttach).
type AttachOption func(*harness.Attachment)

// AttachName names the attached container: faults and Stack.Endpoints
// (Attached) use the name (default: the image's name without its tag).
func AttachName(name string) AttachOption { return func(a *harness.Attachment) { a.Name = name } }

// AttachEnv adds a variable to the attached container's environment; it
// wins over the stack's AWS environment.
func AttachEnv(key, value string) AttachOption {
	return func(a *harness.Attachment) {
		if a.Env == nil {
			a.Env = map[string]string{}
		}
		a.Env[key] = value
	}
}

// AttachPort is a TCP port the attached container listens on: Start (and a
// restart) waits until it accepts connections, and Endpoints().Attached
// gives its address.
func AttachPort(port int) AttachOption { return func(a *harness.Attachment) { a.Port = port } }

// WithAttach runs the user's image (present locally: nothing is pulled) as
// a container of the stack, on backends "containers" and "compose": it
// joins the stack's network, resolves every name through the stack's DNS,
// gets Env's variables (with the stack's addresses as the container sees
// them), carries the stack's labels, so Close removes it, and is stopped,
// paused and restarted by the same faults as the mocks under its name.
// docs/attach.md.
func WithAttach(image string, opts ...AttachOption) Option {
	return func(o *options) error {
		a := harness.Attachment{Image: image}
		for _, opt := range opts {
			opt(&a)
		}
		if _, err := harness.NewOptions(harness.WithAttach(append(o.attach, a)...)); err != nil {
			return err
		}
		o.attach = append(o.attach, a)
		return nil
	}
}

// Fixes lists the mitigation names WithFixes accepts.
func Fixes() []string { return append([]string(nil), harness.AllFixes...) }

// Stack is a running cascade stack for a user's suite. Close undoes
// everything; it is safe to call more than once and from DeferCleanup.
type Stack struct {
	h       harness.Stack
	seed    int64
	fixes   []string
	timeout time.Duration

	mu       sync.Mutex
	clients  []*http.Client
	replayed bool

	closeOnce sync.Once
	closeErr  error
}

// Start starts every mock service of the incident on the chosen backend,
// with its clock lead time before the trigger. On error nothing is left
// running.
func Start(ctx context.Context, opts ...Option) (*Stack, error) {
	o := options{seed: 1, timeout: 5 * time.Second}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("cascadetest: %w", err)
		}
	}
	if o.speed == 0 {
		o.speed = defaultSpeed(o.backend)
	}
	if o.lead == 0 {
		o.lead = defaultLead(o.backend)
	}
	cfg := use1.Config{Backend: o.backend, Speed: o.speed, Seed: o.seed, Fixes: o.fixes,
		Start: use1.TriggerAt.Add(-o.lead), End: use1.ReplayEnd}
	hopts, err := cfg.StackOptions()
	if err != nil {
		return nil, fmt.Errorf("cascadetest: %w", err)
	}
	if o.backend == "" {
		hopts = append(hopts, harness.WithBackend("")) // CASCADE_BACKEND, else embedded
	}
	if o.name != "" {
		hopts = append(hopts, harness.WithName(o.name))
	}
	if len(o.attach) > 0 {
		hopts = append(hopts, harness.WithAttach(o.attach...))
	}
	h, err := harness.Start(ctx, hopts...)
	if err != nil {
		return nil, fmt.Errorf("cascadetest: %w", err)
	}
	return &Stack{h: h, seed: o.seed, fixes: cfg.FixSet(), timeout: o.timeout}, nil
}

// defaultSpeed is the replay's speed on the backend WithBackend, else
// CASCADE_BACKEND, else the default names: 20 on embedded, 6 where each
// service is a container (kit.ReplaySpeed says why).
func defaultSpeed(backend string) kit.Speed { return kit.ReplaySpeed(backendOrDefault(backend)) }

// backendOrDefault is backend, else CASCADE_BACKEND, else the default
// backend: the one Start will run on.
func backendOrDefault(backend string) string {
	if backend == "" {
		backend = os.Getenv(harness.BackendEnv)
	}
	if backend == "" {
		backend = harness.DefaultBackend
	}
	return backend
}

// Name is the stack's unique name.
func (s *Stack) Name() string { return s.h.Name() }

// Now is the stack's incident time.
func (s *Stack) Now() time.Time { return s.h.Clock().Now() }

// Speed is the stack's incident minutes per wall second.
func (s *Stack) Speed() float64 { return float64(s.h.Endpoints().Clock.Speed) }

// Endpoints are every address of the stack (the mock DNS, DynamoDB's port,
// the admin APIs), for a suite that needs more than AWSConfig and Env.
func (s *Stack) Endpoints() harness.Endpoints { return s.h.Endpoints() }

// HTTPClient is an HTTP client that resolves every hostname through the
// stack's DNS on each new connection and keeps connections alive, as an
// SDK's client does: during the empty record new connections fail to
// resolve while pooled ones live until the server ages them out. It never
// uses an HTTP proxy from the environment. Close closes its idle
// connections.
func (s *Stack) HTTPClient() *http.Client {
	c := kit.NewHTTPClient(s.h.Endpoints().DNS, s.timeout)
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c
}

// AWSConfig is an aws.Config for the stack: region us-east-1, static
// credentials the mocks accept, HTTPClient's client, and a config source
// that gives each mocked service's client (DynamoDB, Route 53, EC2, SQS,
// Lambda, STS, ECS) the stack's endpoint (DynamoDB's is its real regional
// hostname, resolved through the stack's DNS). Any
// other AWS hostname also resolves through the stack's DNS, which does not
// know it: a call to a service the stack does not mock fails at once
// instead of reaching AWS. Nothing is read from the environment or the
// shared config files, except that the SDK itself lets AWS_ENDPOINT_URL
// (without a service-specific variable) win over config sources.
func (s *Stack) AWSConfig(ctx context.Context) (aws.Config, error) {
	if err := ctx.Err(); err != nil {
		return aws.Config{}, err
	}
	ep := s.h.Endpoints()
	if ep.DNS == "" {
		return aws.Config{}, fmt.Errorf("cascadetest: aws config: stack %s has no DNS server", s.Name())
	}
	return aws.Config{
		Region:        Region,
		Credentials:   awsclient.Credentials,
		HTTPClient:    s.HTTPClient(),
		ConfigSources: []any{endpointSource(harness.ServiceEndpoints(ep))},
	}, nil
}

// endpointSource gives a service client its base endpoint by the SDK's
// service ID (aws-sdk-go-v2's internal configsources ServiceBaseEndpointProvider).
type endpointSource map[string]string

// GetServiceBaseEndpoint returns the stack's endpoint of the service.
func (e endpointSource) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u, ok := e[sdkID]
	return u, ok && u != "", nil
}

// DNSEnv names the variable Env gives the stack's DNS server in: a process
// started by the suite resolves the endpoints' hostnames through it (a Go
// program with a net.Resolver whose Dial goes there).
const DNSEnv = harness.DNSEnv

// Env is the environment a process the suite starts needs to use the
// stack as AWS: region, static credentials, AWS_ENDPOINT_URL_<SERVICE> of
// every mocked service, and CASCADE_DNS, the DNS server that resolves
// DynamoDB's regional hostname. Sorted KEY=VALUE strings, ready for
// exec.Cmd.Env (append them to os.Environ()).
func (s *Stack) Env() []string { return harness.AWSEnv(s.h.Endpoints()) }

// Close closes the idle connections of every client the stack handed out
// and stops every service, proxy and port of the stack. Later calls return
// the first call's result.
func (s *Stack) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		for _, c := range s.clients {
			closeIdle(c)
		}
		s.clients = nil
		s.mu.Unlock()
		if err := s.h.Close(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, harness.ErrClosed) {
			s.closeErr = fmt.Errorf("cascadetest: close %s: %w", s.Name(), err)
		}
	})
	return s.closeErr
}

// closeIdle closes a client's idle connections, through kit's
// SteadyTransport wrapper.
func closeIdle(c *http.Client) {
	t := c.Transport
	if st, ok := t.(kit.SteadyTransport); ok {
		t = st.Next
	}
	if ci, ok := t.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
