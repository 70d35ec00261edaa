// Package nlbclient reads the NLB's healthy capacity from its admin API
// (GET /admin/state), apart from package nlb so that the services behind
// the NLB (Lambda's invocation fleet, STS's fleet) do not link the NLB's
// server and health checker.
package nlbclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cascade-lab/cascade/mocks/kit/admin"
)

// State is the part of the NLB's GET /admin/state a fleet behind it reads.
type State struct {
	// InService counts targets in service, in every AZ.
	InService int `json:"inService"`
	// HealthyCapacity counts healthy in-service targets in AZs in DNS: what
	// clients reach.
	HealthyCapacity int `json:"healthyCapacity"`
	// AZsInDNS are the AZs whose address is in DNS.
	AZsInDNS []string `json:"azsInDNS"`
}

// Client reads one NLB's state. It is safe for concurrent use.
type Client struct{ admin *admin.Client }

// New is a client of the NLB admin API at adminURL (http://host:port); hc
// may be nil (admin.DefaultHTTP).
func New(adminURL string, hc *http.Client) *Client {
	opts := []admin.Option{admin.WithName("nlb")}
	if hc != nil {
		opts = append(opts, admin.WithHTTPClient(hc))
	}
	return &Client{admin: admin.New(adminURL, opts...)}
}

// State reads GET /admin/state.
func (c *Client) State(ctx context.Context) (State, error) {
	var st State
	if err := c.admin.Get(ctx, "/admin/state", &st); err != nil {
		return State{}, fmt.Errorf("nlb state: %w", err)
	}
	return st, nil
}

// Fraction is the share of the in-service fleet that clients reach
// through the NLB (healthy, in an AZ in DNS), 0..1. An NLB with nothing in
// service has lost no capacity of the fleet behind it: 1. It implements
// lambda.CapacitySource.
func (c *Client) Fraction(ctx context.Context) (float64, error) {
	st, err := c.State(ctx)
	if err != nil {
		return 0, err
	}
	return Share(st), nil
}

// Share is st's healthy share of the in-service fleet (1 with none in
// service), clamped to 0..1.
func Share(st State) float64 {
	if st.InService <= 0 {
		return 1
	}
	f := float64(st.HealthyCapacity) / float64(st.InService)
	return min(max(f, 0), 1)
}
