package harness

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit/admin"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// WaitReady waits until every admin API answers /healthz and, when the
// stack runs its DNS automation, the regional DynamoDB endpoint resolves
// (the first plan generation has been applied). Backends call it before
// returning a stack; it polls every 10 ms until ctx ends.
func WaitReady(ctx context.Context, ep Endpoints, resolve bool) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	pending := map[string]*admin.Client{}
	for name, u := range ep.Admin {
		pending[name] = admin.New(u, admin.WithName(name), admin.WithHTTPClient(hc))
	}
	resolver := ep.Resolver()
	host := ep.DynamoDBHost
	if host == "" {
		host = awsclient.DynamoDBHost
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		for name, c := range pending {
			if err := c.Healthz(ctx); err != nil {
				lastErr = err
				continue
			}
			delete(pending, name)
		}
		if len(pending) == 0 && resolve {
			lctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := resolver.LookupHost(lctx, host)
			cancel()
			if err == nil {
				resolve = false
			} else {
				lastErr = fmt.Errorf("resolve %s: %w", host, err)
			}
		}
		if len(pending) == 0 && !resolve {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stack not ready: %w (last: %v)", ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}
