package nlb

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit/admin"
)

// Probe is the harness's handle on an NLB: its admin API (state, operator
// actions, target registration) and its data-plane listener.
type Probe struct {
	// AdminURL is the NLB's admin base URL (http://host:9090).
	AdminURL string
	// ListenerURL is the data-plane base URL (http://host:8080); optional.
	ListenerURL string
	// HTTP is the client used; nil means a short-timeout client without proxy.
	HTTP *http.Client
}

func (p *Probe) client() *http.Client {
	if p.HTTP != nil {
		return p.HTTP
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	p.HTTP = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return p.HTTP
}

// ProbeError is a non-2xx answer of the NLB (its __type and message).
type ProbeError = admin.Error

func (p *Probe) admin() *admin.Client {
	return admin.New(p.AdminURL, admin.WithName("nlb"), admin.WithHTTPClient(p.client()))
}

// State reads GET /admin/state (with every target when withTargets).
func (p *Probe) State(ctx context.Context, withTargets bool) (State, error) {
	var st State
	path := "/admin/state"
	if withTargets {
		path += "?targets=1"
	}
	err := p.admin().Get(ctx, path, &st)
	return st, err
}

// DisableFailover is the operators' action of 9:36 AM.
func (p *Probe) DisableFailover(ctx context.Context) error {
	return p.admin().Post(ctx, "/admin/failover/disable", nil, nil)
}

// EnableFailover is the operators' action of 2:09 PM.
func (p *Probe) EnableFailover(ctx context.Context) error {
	return p.admin().Post(ctx, "/admin/failover/enable", nil, nil)
}

// RegisterTargets registers targets (POST /admin/targets).
func (p *Probe) RegisterTargets(ctx context.Context, targets ...Target) error {
	return p.admin().Post(ctx, "/admin/targets", RegisterRequest{Targets: targets}, nil)
}

// DeregisterTarget removes a target (DELETE /admin/targets/{id}).
func (p *Probe) DeregisterTarget(ctx context.Context, id string) error {
	return p.admin().Delete(ctx, "/admin/targets/"+url.PathEscape(id))
}

// Request sends one request through the NLB's listener; nil means it was
// served by a reachable target. The listener answers in the admin API's
// error shape, so the same client reads it.
func (p *Probe) Request(ctx context.Context) error {
	return admin.New(p.ListenerURL, admin.WithName("nlb listener"), admin.WithHTTPClient(p.client())).Get(ctx, "/", nil)
}
