// Package dwfmclient is the client of a DWFM host's allocation API, apart
// from package dwfm so that EC2 (its caller) does not link the host's
// server, its DynamoDB client and its queue.
package dwfmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrNoCapacity is returned by Allocate when no droplet holds a valid lease.
var ErrNoCapacity = errors.New("no droplet with a valid lease")

// AllocateRequest is the body of POST /v1/allocate.
type AllocateRequest struct {
	AZ string `json:"az"`
}

// AllocateResponse is a successful allocation.
type AllocateResponse struct {
	Droplet string `json:"droplet"`
	AZ      string `json:"az"`
}

// Capacity is the body of GET /v1/capacity.
type Capacity struct {
	AZ         string `json:"az"`
	Zone       string `json:"zone,omitempty"`
	Droplets   int    `json:"droplets"`
	LeasesHeld int    `json:"leasesHeld"`
}

// Client calls a DWFM host's allocation API (EC2 uses it).
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// Allocate asks for a droplet with a valid lease in az; ErrNoCapacity when
// the host has none.
func (c *Client) Allocate(ctx context.Context, az string) (AllocateResponse, error) {
	var out AllocateResponse
	body, _ := json.Marshal(AllocateRequest{AZ: az})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/v1/allocate", bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("allocate: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return out, fmt.Errorf("allocate: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(data, &out); err != nil {
			return out, fmt.Errorf("allocate: %w", err)
		}
		return out, nil
	case http.StatusConflict:
		return out, ErrNoCapacity
	}
	return out, fmt.Errorf("allocate: %s: %s", resp.Status, bytes.TrimSpace(data))
}

// Capacity reads the host's fleet and leases held.
func (c *Client) Capacity(ctx context.Context) (Capacity, error) {
	var out Capacity
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/v1/capacity", nil)
	if err != nil {
		return out, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return out, fmt.Errorf("capacity: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("capacity: %s", resp.Status)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
