package nlb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
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

// ProbeError is a non-2xx answer of the NLB.
type ProbeError struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *ProbeError) Error() string {
	return fmt.Sprintf("nlb: %s (%d): %s", e.Type, e.Status, e.Message)
}

func (p *Probe) do(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return fmt.Errorf("nlb %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		pe := &ProbeError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, pe)
		return pe
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// State reads GET /admin/state (with every target when withTargets).
func (p *Probe) State(ctx context.Context, withTargets bool) (State, error) {
	var st State
	u := p.AdminURL + "/admin/state"
	if withTargets {
		u += "?targets=1"
	}
	err := p.do(ctx, http.MethodGet, u, nil, &st)
	return st, err
}

// DisableFailover is the operators' action of 9:36 AM.
func (p *Probe) DisableFailover(ctx context.Context) error {
	return p.do(ctx, http.MethodPost, p.AdminURL+"/admin/failover/disable", nil, nil)
}

// EnableFailover is the operators' action of 2:09 PM.
func (p *Probe) EnableFailover(ctx context.Context) error {
	return p.do(ctx, http.MethodPost, p.AdminURL+"/admin/failover/enable", nil, nil)
}

// RegisterTargets registers targets (POST /admin/targets).
func (p *Probe) RegisterTargets(ctx context.Context, targets ...Target) error {
	return p.do(ctx, http.MethodPost, p.AdminURL+"/admin/targets", RegisterRequest{Targets: targets}, nil)
}

// DeregisterTarget removes a target (DELETE /admin/targets/{id}).
func (p *Probe) DeregisterTarget(ctx context.Context, id string) error {
	return p.do(ctx, http.MethodDelete, p.AdminURL+"/admin/targets/"+url.PathEscape(id), nil, nil)
}

// Request sends one request through the NLB's listener; nil means it was
// served by a reachable target.
func (p *Probe) Request(ctx context.Context) error {
	return p.do(ctx, http.MethodGet, p.ListenerURL+"/", nil, nil)
}
