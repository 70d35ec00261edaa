// Package netmgrclient is the client of Network Manager's API and its wire
// types, apart from package netmgr so that its callers (EC2, DWFM, the
// harness) do not link Network Manager's server and queue.
package netmgrclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Client talks to a Network Manager API. EC2, DWFM, the NLB and the harness
// use it; errors from the server are *APIError (errors.Is works with
// ErrThrottled, ErrUnknownInstance, ErrInvalid).
type Client struct {
	base  string
	hc    *http.Client
	clock kit.Clock
}

// NewClient returns a client for baseURL (http://host:port). clock (incident
// time) paces PostWorkRetry's backoff; hc may be nil.
func NewClient(baseURL string, clock kit.Clock, hc *http.Client) *Client {
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}
	return &Client{base: baseURL, hc: hc, clock: clock}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("netmgr %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("netmgr %s %s: %w", method, path, err)
	}
	if out != nil && len(data) > 0 {
		_ = json.Unmarshal(data, out)
	}
	if resp.StatusCode >= 300 {
		ae := &APIError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, ae)
		if ae.Type == "" {
			ae.Type, ae.Message = "HTTP", string(data)
		}
		return resp.StatusCode, ae
	}
	return resp.StatusCode, nil
}

// RegisterInstance hands a new instance over (POST /v1/instances).
func (c *Client) RegisterInstance(ctx context.Context, id, az string) (InstanceState, error) {
	var st InstanceState
	_, err := c.do(ctx, http.MethodPost, "/v1/instances", RegisterRequest{InstanceID: id, AZ: az}, &st)
	return st, err
}

// Instance reads an instance's propagation state (GET /v1/instances/{id}).
func (c *Client) Instance(ctx context.Context, id string) (InstanceState, error) {
	var st InstanceState
	_, err := c.do(ctx, http.MethodGet, "/v1/instances/"+url.PathEscape(id), nil, &st)
	return st, err
}

// TerminateInstance reports a termination (DELETE /v1/instances/{id}).
func (c *Client) TerminateInstance(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/instances/"+url.PathEscape(id), nil, nil)
	return err
}

// PostWork posts bulk work once; it returns how many items were admitted.
func (c *Client) PostWork(ctx context.Context, kind string, count int) (int, error) {
	var resp WorkResponse
	_, err := c.do(ctx, http.MethodPost, "/v1/work", WorkRequest{Kind: kind, Count: count}, &resp)
	return resp.Admitted, err
}

// PostWorkRetry posts bulk work and, while admission control refuses part
// of it, retries the rest with exponential backoff (incident time) from
// backoff up to 16x backoff, until everything is admitted or ctx ends.
func (c *Client) PostWorkRetry(ctx context.Context, kind string, count int, backoff time.Duration) error {
	wait := backoff
	for count > 0 {
		n, err := c.PostWork(ctx, kind, count)
		count -= n
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrThrottled) {
			return err
		}
		t := c.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.Chan():
		}
		wait = min(2*wait, 16*backoff)
	}
	return nil
}

// Queue reads the queue's figures (GET /v1/queue).
func (c *Client) Queue(ctx context.Context) (Stats, error) {
	var st Stats
	_, err := c.do(ctx, http.MethodGet, "/v1/queue", nil, &st)
	return st, err
}

// Reachable asks the data plane whether node reaches the instance.
func (c *Client) Reachable(ctx context.Context, id, node string) (bool, error) {
	_, err := c.do(ctx, http.MethodGet, "/dataplane/"+url.PathEscape(id)+"/health?node="+url.QueryEscape(node), nil, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Type == "ConnectionRefused" {
		return false, nil
	}
	return err == nil, err
}

// Errors a Network Manager answer can be compared with (errors.Is on an
// *APIError).
var (
	// ErrUnknownInstance: the instance was never registered or is gone.
	ErrUnknownInstance = errors.New("unknown instance")
	// ErrThrottled: admission control refused the work (HTTP 429).
	ErrThrottled = errors.New("throttled: waiting queue is full")
	// ErrInvalid: the request was malformed.
	ErrInvalid = errors.New("invalid request")
)

// APIError is the error shape of every netmgr API answer (like AWS JSON
// APIs: {"__type": ..., "message": ...}); the client returns it as the error.
type APIError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	Status  int    `json:"-"`
}

func (e *APIError) Error() string {
	return "netmgr: " + e.Type + " (" + strconv.Itoa(e.Status) + "): " + e.Message
}

// Is lets callers compare a wire error with this package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrThrottled:
		return e.Type == "ThrottlingException"
	case ErrUnknownInstance:
		return e.Type == "ResourceNotFoundException"
	case ErrInvalid:
		return e.Type == "ValidationException"
	}
	return false
}

// RegisterRequest is the body of POST /v1/instances.
type RegisterRequest struct {
	InstanceID string `json:"instanceId"`
	AZ         string `json:"az"`
}

// WorkRequest is the body of POST /v1/work.
type WorkRequest struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// WorkResponse answers POST /v1/work (also inside a 429's body).
type WorkResponse struct {
	Type     string `json:"__type,omitempty"`
	Message  string `json:"message,omitempty"`
	Admitted int    `json:"admitted"`
	Rejected int    `json:"rejected"`
}

// InstanceState is what Network Manager knows about one instance, as its
// API answers (GET /v1/instances/{id}).
type InstanceState struct {
	ID           string               `json:"instanceId"`
	AZ           string               `json:"az"`
	Registered   time.Time            `json:"registered"`
	Propagated   bool                 `json:"propagated"`
	PropagatedAt *time.Time           `json:"propagatedAt,omitempty"`
	Reached      map[string]time.Time `json:"reached"`
}

// Stats is the queue's figures as GET /v1/queue answers.
type Stats struct {
	Mode      kit.Mode      `json:"mode"`
	Depth     int           `json:"depth"`
	HeadWait  time.Duration `json:"headWait"`
	Instances int           `json:"instances"`
	Pending   int           `json:"pending"`
	Admitted  int64         `json:"admitted"`
	Rejected  int64         `json:"rejected"`
	Processed int64         `json:"processed"`
}
