package reaper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// port is the reaper's port inside its container.
const port = 8080

// Option configures Start.
type Option func(*options) error

type options struct {
	name           string
	labels         map[string]string
	grace          time.Duration
	connectTimeout time.Duration
	socket         string
	readyTimeout   time.Duration
}

func defaultOptions() options {
	return options{
		grace:          DefaultGrace,
		connectTimeout: DefaultConnectTimeout,
		socket:         "/var/run/docker.sock",
		readyTimeout:   60 * time.Second,
	}
}

// WithName names the reaper's container.
func WithName(name string) Option {
	return func(o *options) error { o.name = name; return nil }
}

// WithLabels adds labels to the reaper's container (the run's labels, so
// `cascade clean` and a later run's start find a reaper that was left).
func WithLabels(labels map[string]string) Option {
	return func(o *options) error {
		o.labels = labels
		return nil
	}
}

// WithGrace sets how long the run may be without its owner before it is
// reaped (default DefaultGrace).
func WithGrace(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("reaper grace %v: want > 0", d)
		}
		o.grace = d
		return nil
	}
}

// WithConnectTimeout sets how long the reaper waits for its first owner
// (default DefaultConnectTimeout).
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("reaper connect timeout %v: want > 0", d)
		}
		o.connectTimeout = d
		return nil
	}
}

// WithDockerSocket names the engine's socket on the engine's host, which
// is mounted into the reaper (default /var/run/docker.sock).
func WithDockerSocket(path string) Option {
	return func(o *options) error { o.socket = path; return nil }
}

// Reaper is the owner's side of a reaper: its container and the connection
// the owner holds to it. Close lets go of it.
type Reaper struct {
	// ID is the reaper container's id ("" if it was never created).
	ID string
	// Addr is the reaper's published address on 127.0.0.1.
	Addr  string
	label string
	grace time.Duration

	mu     sync.Mutex
	conn   net.Conn
	closed bool
	drops  int
	stop   chan struct{}
	done   chan struct{}
}

// Start starts a reaper for label ("key=value") from image (cascade's
// mockaws image: `mockaws reaper`), with the engine's socket mounted and
// its port published on 127.0.0.1, and connects to it. From then on the
// run is reaped once this process has been disconnected for the grace
// period; Reaper keeps reconnecting until Close. On error it returns the
// Reaper with the container's id when the container was created, so the
// caller can remove it.
func Start(ctx context.Context, cli client.APIClient, image, label string, opts ...Option) (*Reaper, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := (&Config{Label: label}).validate(); err != nil {
		return nil, err
	}
	labels := map[string]string{SelfLabel: "true"}
	for k, v := range o.labels {
		labels[k] = v
	}
	p := network.MustParsePort(strconv.Itoa(port) + "/tcp")
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: o.name,
		Config: &container.Config{
			Image: image,
			Cmd: []string{"reaper", "--label", label, "--listen", ":" + strconv.Itoa(port),
				"--grace", o.grace.String(), "--connect-timeout", o.connectTimeout.String()},
			Labels:       labels,
			ExposedPorts: network.PortSet{p: {}},
		},
		HostConfig: &container.HostConfig{
			AutoRemove:   true,
			Binds:        []string{o.socket + ":/var/run/docker.sock"},
			PortBindings: network.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1")}}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create reaper: %w", err)
	}
	r := &Reaper{ID: created.ID, label: label, grace: o.grace, stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := cli.ContainerStart(ctx, r.ID, client.ContainerStartOptions{}); err != nil {
		return r, fmt.Errorf("start reaper: %w", err)
	}
	ins, err := cli.ContainerInspect(ctx, r.ID, client.ContainerInspectOptions{})
	if err != nil {
		return r, fmt.Errorf("inspect reaper: %w", err)
	}
	if ins.Container.NetworkSettings != nil {
		for _, b := range ins.Container.NetworkSettings.Ports[p] {
			if b.HostIP.Is4() {
				r.Addr = net.JoinHostPort(b.HostIP.String(), b.HostPort)
			}
		}
	}
	if r.Addr == "" {
		return r, errors.New("start reaper: its port is not published")
	}
	// The engine's proxy accepts before the reaper listens: retry until
	// the reaper itself answers.
	rctx, cancel := context.WithTimeout(ctx, o.readyTimeout)
	defer cancel()
	conn, err := r.dialUntil(rctx)
	if err != nil {
		return r, fmt.Errorf("connect reaper %s: %w", r.Addr, err)
	}
	r.conn = conn
	go r.hold(conn)
	return r, nil
}

// dial connects and says hello once.
func (r *Reaper) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := Hello(c, r.label); err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// dialUntil dials until the reaper acknowledges, ctx ends or the reaper
// refuses (it reaps another run, or is already reaping).
func (r *Reaper) dialUntil(ctx context.Context) (net.Conn, error) {
	for {
		c, err := r.dial(ctx)
		if err == nil || errors.Is(err, ErrRefused) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-r.stop:
			return nil, errors.New("closed")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// hold keeps a connection to the reaper: it waits for the current one to
// end and dials again, until Close. A reconnection within the grace period
// keeps the run; after it, the reaper is gone and the dials fail.
func (r *Reaper) hold(conn net.Conn) {
	defer close(r.done)
	for {
		buf := make([]byte, 1)
		_, _ = conn.Read(buf) // the reaper never writes after its ACK
		_ = conn.Close()
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		r.drops++
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), r.grace)
		c, err := r.dialUntil(ctx)
		cancel()
		if err != nil {
			return // the run is being reaped, or Close was called
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			_ = c.Close()
			return
		}
		r.conn = c
		r.mu.Unlock()
		conn = c
	}
}

// Drops is how many times the connection to the reaper dropped (and was
// dialled again).
func (r *Reaper) Drops() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drops
}

// Close lets go of the reaper: it closes the connection and stops
// reconnecting. The run is then reaped after the grace period unless the
// caller removes it first (the containers backend's Close does, reaper
// container included).
func (r *Reaper) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	conn := r.conn
	r.mu.Unlock()
	close(r.stop)
	if conn != nil {
		_ = conn.Close()
		<-r.done
	}
}
