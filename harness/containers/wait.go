package containers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
)

// httpReady waits until GET http://<container IP>:<port><path> answers 200.
// Scratch images have no shell and the stack publishes no port, so neither
// an exec check nor testcontainers' mapped-port strategies apply; the host
// reaches the container's IP on the bridge directly.
type httpReady struct {
	port    int
	path    string
	timeout time.Duration
}

var _ wait.Strategy = (*httpReady)(nil)

func (s *httpReady) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ip, err := containerIP(ctx, target)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:%d%s", ip, s.port, s.path)
	cl := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		if st, serr := target.State(ctx); serr == nil && st != nil && !st.Running {
			return fmt.Errorf("wait for %s: container exited (code %d)", url, st.ExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %v)", url, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func containerIP(ctx context.Context, target wait.StrategyTarget) (string, error) {
	for {
		ins, err := target.Inspect(ctx)
		if err != nil {
			return "", err
		}
		if ins.NetworkSettings != nil {
			for _, n := range ins.NetworkSettings.Networks {
				if n != nil && n.IPAddress.IsValid() {
					return n.IPAddress.String(), nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("container has no IP: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
