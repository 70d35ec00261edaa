package kit

import (
	"context"
	"net"
	"net/http"
	"time"
)

// NewResolver returns a resolver that asks the DNS server at dnsAddr
// (host:port) over TCP, whatever the system's resolv.conf says. Go's own
// resolver is used (PreferGo), so no answer is cached: every lookup reaches
// the mock DNS, as a client with an expired cache entry would.
func NewResolver(dnsAddr string) *net.Resolver {
	d := net.Dialer{Timeout: 2 * time.Second}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", dnsAddr)
		},
	}
}

// NewDialer returns a dialer that resolves names through the DNS server at
// dnsAddr on every new connection.
func NewDialer(dnsAddr string, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Resolver: NewResolver(dnsAddr)}
}

// NewHTTPClient returns an HTTP client that resolves through the DNS server
// at dnsAddr, ignores HTTP proxies from the environment, and keeps
// connections alive (so a pooled connection does not look the name up again
// until the server closes it). timeout bounds a whole request; 0 means none.
func NewHTTPClient(dnsAddr string, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = NewDialer(dnsAddr, 2*time.Second).DialContext
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: timeout}
}
