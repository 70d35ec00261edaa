package harness

import (
	"errors"
	"maps"
	"slices"
	"sync"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// StackBase is the part of a Stack that does not depend on how the services
// run: the name, the incident clock, the merged event stream, the toxiproxy
// client, the endpoints with their links, and the SDK clients built from
// them. A backend embeds a *StackBase, fills the endpoints while it starts
// (UpdateEndpoints, SetToxiproxy) and adds what differs: Services, Control
// and Close. Methods are safe for concurrent use.
type StackBase struct {
	name   string
	clock  *kit.ScaledClock
	events *kit.Events

	mu  sync.Mutex // guards ep and tox
	ep  Endpoints
	tox *toxiclient.Client
}

// NewStackBase returns the base of a stack whose endpoints start as ep (its
// Name is the stack's name), reading clock and merging its services' events
// into events.
func NewStackBase(ep Endpoints, clock *kit.ScaledClock, events *kit.Events) *StackBase {
	return &StackBase{name: ep.Name, clock: clock, events: events, ep: ep}
}

// Name is the stack's name.
func (b *StackBase) Name() string { return b.name }

// Endpoints is every address of the stack: a copy, which the caller may keep
// and change.
func (b *StackBase) Endpoints() Endpoints {
	b.mu.Lock()
	defer b.mu.Unlock()
	ep := b.ep
	ep.Admin = maps.Clone(b.ep.Admin)
	if ep.Admin == nil {
		ep.Admin = map[string]string{}
	}
	ep.Links = slices.Clone(b.ep.Links)
	ep.LoadBalancers = slices.Clone(b.ep.LoadBalancers)
	return ep
}

// UpdateEndpoints changes the endpoints with f, under the lock Endpoints
// takes: a service's address becomes known when it has started.
func (b *StackBase) UpdateEndpoints(f func(ep *Endpoints)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.ep)
}

// Links lists the load balancers, then the internal links.
func (b *StackBase) Links() []Link {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.ep.Links)
}

// Clock is the incident clock every service of the stack reads.
func (b *StackBase) Clock() kit.Clock { return b.clock }

// SetToxiproxy points the stack's toxiproxy client and endpoint at the
// toxiproxy API at url.
func (b *StackBase) SetToxiproxy(url string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tox = toxiclient.NewClient(url)
	b.ep.Toxiproxy = url
}

// Toxiproxy is a client of the toxiproxy API holding the load balancers and
// the links (nil before SetToxiproxy).
func (b *StackBase) Toxiproxy() *toxiclient.Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tox
}

// EventHub is the merged event stream, for what feeds it (a service's own
// stream, a container's log) and for events of the harness's own.
func (b *StackBase) EventHub() *kit.Events { return b.events }

// Events subscribes to the merged event stream of every service.
func (b *StackBase) Events(buffer int) (<-chan kit.Event, func()) { return b.events.Subscribe(buffer) }

// RecentEvents returns the retained events of every service.
func (b *StackBase) RecentEvents() []kit.Event { return b.events.Recent() }

// DynamoDB is an SDK client resolving through the mock DNS.
func (b *StackBase) DynamoDB(opts ...awsclient.Option) (*dynamodb.Client, error) {
	return b.Endpoints().DynamoDB(opts...)
}

// Route53 is an SDK client of the Route53 API.
func (b *StackBase) Route53(opts ...awsclient.Option) (*route53.Client, error) {
	return b.Endpoints().Route53(opts...)
}

// EC2 is an SDK client of the EC2 API.
func (b *StackBase) EC2(opts ...awsclient.Option) (*ec2.Client, error) {
	return b.Endpoints().EC2(opts...)
}

// InParallel calls f on every element of xs at once and waits for all of
// them: a stack closes its services in parallel, because each one's Close
// waits for its own loops and a loop may be in a call to a service closed
// before it. The error joins every call's.
func InParallel[T any](xs []T, f func(T) error) error {
	errs := make([]error, len(xs))
	var wg sync.WaitGroup
	for i, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(x)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
