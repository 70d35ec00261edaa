package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/harness"
)

var adminClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}

// adminDo calls an admin API of a service instance; a non-2xx status is an
// error carrying the service's message.
func adminDo(ctx context.Context, s harness.Stack, instance, method, path string, body any) ([]byte, error) {
	base, err := s.Endpoints().AdminURL(instance)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", instance, method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(out))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return out, fmt.Errorf("%s %s %s: %s: %s", instance, method, path, resp.Status, msg)
	}
	return out, nil
}

// instancesOf lists the stack's instances of a service kind, sorted.
func instancesOf(s harness.Stack, kind string) []string {
	var out []string
	for _, n := range s.Endpoints().Instances() {
		if harness.KindOf(n) == kind {
			out = append(out, n)
		}
	}
	return out
}
