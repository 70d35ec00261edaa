package kit

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// NewResolver returns a resolver that asks the DNS server at dnsAddr
// (host:port), whatever the system's resolv.conf says. Go's own resolver is
// used (PreferGo), so no answer is cached: every lookup reaches the mock
// DNS, as a client with an expired cache entry would. It asks over UDP and
// falls back to TCP on a truncated answer, as a stub resolver does; asking
// over TCP every time left one TIME_WAIT socket per lookup, and a replay's
// tens of thousands of lookups ran the host out of ephemeral ports.
func NewResolver(dnsAddr string) *net.Resolver {
	d := net.Dialer{Timeout: 2 * time.Second}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, dnsAddr)
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
	return &http.Client{Transport: SteadyTransport{Next: tr}, Timeout: timeout}
}

// SteadyTransport hands net/http a request body of its own. aws-sdk-go-v2
// closes the request body as soon as the response arrives; when net/http's
// write loop has not yet finished with it, the write fails and the pooled
// connection is dropped (about one request in three on loopback). A client
// would then re-dial, and so re-resolve, all the time, and an emptied record
// would reach it without the server ever retiring the connection. With this
// transport a connection lives until the server retires it (DynamoDB's
// maximum connection age), as it does against the real service.
type SteadyTransport struct{ Next http.RoundTripper }

// RoundTrip buffers the request body, then sends the request on Next.
func (t SteadyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return t.Next.RoundTrip(r)
}
