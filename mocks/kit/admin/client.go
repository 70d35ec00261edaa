// Package admin is the one client of the admin API every service serves
// (kit.NewAdminMux: /healthz, /metrics, /events, /failpoints, plus each
// service's operator actions under /admin/). The harness, the experiments,
// the suites and the services' own clients (nlb.Probe) call admin ports
// through it, so a status, an error body and a timeout mean the same thing
// everywhere.
package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// DefaultHTTP is the client used unless WithHTTPClient gives one: no proxy
// (admin ports are on loopback or the stack's network), a 10 s timeout.
var DefaultHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}

// streamHTTP follows event streams: no timeout, the context ends them.
var streamHTTP = &http.Client{Transport: &http.Transport{Proxy: nil}}

// Client calls one service instance's admin API. It is safe for concurrent
// use.
type Client struct {
	base string
	name string
	hc   *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (timeouts, transport).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithName names the instance in errors (default: the base URL).
func WithName(name string) Option { return func(c *Client) { c.name = name } }

// New returns a client of the admin API at baseURL (http://host:port).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), hc: DefaultHTTP}
	for _, o := range opts {
		o(c)
	}
	if c.name == "" {
		c.name = c.base
	}
	return c
}

// URL is the admin API's base URL.
func (c *Client) URL() string { return c.base }

// Error is a non-2xx answer. Message is the service's own account: the
// "error" field kit.WriteJSON-style answers carry, else an AWS-style
// "message", else the body's text.
type Error struct {
	Name, Method, Path string
	Status             int
	Type               string // an AWS-style "__type", when the answer has one
	Message            string
	Body               []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s %s: %d %s: %s", e.Name, e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

func newError(name, method, path string, status int, body []byte) *Error {
	e := &Error{Name: name, Method: method, Path: path, Status: status, Body: body, Message: strings.TrimSpace(string(body))}
	var doc struct {
		Error   string `json:"error"`
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Type = doc.Type
		switch {
		case doc.Error != "":
			e.Message = doc.Error
		case doc.Message != "":
			e.Message = doc.Message
		}
	}
	return e
}

// Do sends in with method to path (in: nil for no body, a string as is,
// anything else as JSON) and reads the answer into out: nil discards it, a
// *[]byte takes the raw body, anything else is decoded from JSON. A non-2xx
// answer is an *Error; out is still filled when it can be (POST /admin/run
// answers its summary beside its error).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", c.name, method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if _, isText := in.(string); in != nil && !isText {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", c.name, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", c.name, method, path, err)
	}
	var decodeErr error
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = raw
	default:
		if len(raw) > 0 {
			decodeErr = json.Unmarshal(raw, out)
		}
	}
	if resp.StatusCode/100 != 2 {
		return newError(c.name, method, path, resp.StatusCode, raw)
	}
	if decodeErr != nil {
		return fmt.Errorf("%s %s %s: decode: %w", c.name, method, path, decodeErr)
	}
	return nil
}

// Get reads path into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// Post sends in to path and reads the answer into out.
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	return c.Do(ctx, http.MethodPost, path, in, out)
}

// Delete deletes path.
func (c *Client) Delete(ctx context.Context, path string) error {
	return c.Do(ctx, http.MethodDelete, path, nil, nil)
}

// Healthz is nil when GET /healthz answers 200.
func (c *Client) Healthz(ctx context.Context) error { return c.Get(ctx, "/healthz", nil) }

// State reads the service's GET /admin/state into out.
func (c *Client) State(ctx context.Context, out any) error { return c.Get(ctx, "/admin/state", out) }

// Failpoints lists every failpoint of the service.
func (c *Client) Failpoints(ctx context.Context) ([]kit.FailpointStatus, error) {
	var out []kit.FailpointStatus
	err := c.Get(ctx, "/failpoints", &out)
	return out, err
}

// EnableFailpoint sets failpoint name to terms (kit.Failpoints' syntax).
func (c *Client) EnableFailpoint(ctx context.Context, name, terms string) error {
	return c.Do(ctx, http.MethodPut, "/failpoints/"+name, terms, nil)
}

// DisableFailpoint turns failpoint name off, releasing paused callers.
func (c *Client) DisableFailpoint(ctx context.Context, name string) error {
	return c.Delete(ctx, "/failpoints/"+name)
}

// Metrics reads the Prometheus text exposition of GET /metrics.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var raw []byte
	err := c.Get(ctx, "/metrics", &raw)
	return string(raw), err
}

// Events reads the events the service retains (GET /events).
func (c *Client) Events(ctx context.Context) ([]kit.Event, error) {
	var raw []byte
	if err := c.Get(ctx, "/events", &raw); err != nil {
		return nil, err
	}
	var out []kit.Event
	err := eachEvent(bytes.NewReader(raw), func(ev kit.Event) { out = append(out, ev) })
	return out, err
}

// FollowEvents streams the service's events (GET /events?follow=1) to fn
// until ctx ends or the service closes the stream; lines that are not events
// are skipped.
func (c *Client) FollowEvents(ctx context.Context, fn func(kit.Event)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/events?"+url.Values{"follow": {"1"}}.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := streamHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s follow events: %w", c.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return newError(c.name, http.MethodGet, "/events", resp.StatusCode, raw)
	}
	return eachEvent(resp.Body, fn)
}

func eachEvent(r io.Reader, fn func(kit.Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev kit.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			fn(ev)
		}
	}
	return sc.Err()
}
