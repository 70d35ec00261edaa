package sim

import (
	"errors"
	"fmt"
	"time"
)

// Network errors a caller sees; compare with errors.Is.
var (
	// ErrTimeout: no reply within the caller's timeout (a lost request or
	// reply, a partition, a held connection, or a slow server).
	ErrTimeout = errors.New("sim: i/o timeout")
	// ErrReset: the connection was reset (reset-peer).
	ErrReset = errors.New("sim: connection reset by peer")
	// ErrRefused: nothing listens (a disabled proxy: toxiproxy's link-down).
	ErrRefused = errors.New("sim: connection refused")
	// ErrNoReply, returned by a handler, sends no reply: the server drops
	// the request and the caller times out.
	ErrNoReply = errors.New("sim: no reply")
)

// Link is the one-way path from one node to another, with its faults. The
// zero Link delivers at once.
type Link struct {
	// Latency and Jitter: each message takes Latency ± Jitter (uniform,
	// never below zero), drawn from the run's random source.
	Latency, Jitter time.Duration
	// Loss is the probability that a message is dropped.
	Loss float64
	// Down drops every message (a partition: the caller times out).
	Down bool
	// Refuse answers every message with a refusal at once (toxiproxy's
	// link-down disables the proxy: nothing listens).
	Refuse bool
	// Hold keeps every message and never delivers it (toxiproxy's timeout
	// toxic with no timeout): the caller times out.
	Hold bool
	// Reset answers every message with a reset after ResetAfter
	// (toxiproxy's reset-peer).
	Reset      bool
	ResetAfter time.Duration
}

// Server is a node that serves calls: one at a time, FIFO, each taking a
// service time drawn from [Service-Spread, Service+Spread] (a call takes
// incident time, and calls queue behind each other).
type Server struct {
	Service, Spread time.Duration
	busyUntil       time.Time
	// Calls is how many calls it served.
	Calls int
}

// Network is the simulated network of one run: links between named nodes
// and the servers among them.
type Network struct {
	s       *Sim
	links   map[[2]string]*Link
	servers map[string]*Server
	// Sent, Lost count messages.
	Sent, Lost int
}

// NewNetwork returns an empty network on s.
func NewNetwork(s *Sim) *Network {
	return &Network{s: s, links: map[[2]string]*Link{}, servers: map[string]*Server{}}
}

// Link returns the link from -> to (created with no latency).
func (n *Network) Link(from, to string) *Link {
	k := [2]string{from, to}
	l := n.links[k]
	if l == nil {
		l = &Link{}
		n.links[k] = l
	}
	return l
}

// Both applies f to the links from -> to and to -> from.
func (n *Network) Both(a, b string, f func(*Link)) {
	f(n.Link(a, b))
	f(n.Link(b, a))
}

// Serve makes name a server.
func (n *Network) Serve(name string, srv *Server) { n.servers[name] = srv }

// Server returns the server named name (nil if none).
func (n *Network) Server(name string) *Server { return n.servers[name] }

// deliver sends one message over from -> to: fn runs when it arrives, or
// never (lost); fail runs instead when the link resets or refuses it.
func (n *Network) deliver(from, to string, fn func(), fail func(error)) {
	n.Sent++
	l := n.Link(from, to)
	switch {
	case l.Refuse:
		n.s.After(0, func() { fail(ErrRefused) })
		return
	case l.Down || l.Hold || (l.Loss > 0 && n.s.rng.Float64() < l.Loss):
		n.Lost++
		return
	case l.Reset:
		n.s.After(l.ResetAfter, func() { fail(ErrReset) })
		return
	}
	d := l.Latency
	if l.Jitter > 0 {
		d += time.Duration(n.s.rng.Int63n(int64(2*l.Jitter)+1)) - l.Jitter
	}
	n.s.After(max(d, 0), fn)
}

// Send is one request from the node from to the server to, answered by
// handle, which runs on the server when the call's service time ends (the
// moment the request takes effect there). done runs once, with handle's
// error when the reply arrives, or ErrTimeout when none came within timeout
// (the request may still have taken effect), or ErrReset or ErrRefused.
func (n *Network) Send(from, to string, timeout time.Duration, handle func() error, done func(error)) {
	srv := n.servers[to]
	if srv == nil {
		done(fmt.Errorf("sim: call %s -> %s: no such server", from, to))
		return
	}
	finished := false
	reply := func(err error) {
		if !finished {
			finished = true
			done(err)
		}
	}
	n.s.After(timeout, func() { reply(ErrTimeout) })
	n.deliver(from, to, func() {
		start := n.s.now
		if srv.busyUntil.After(start) {
			start = srv.busyUntil
		}
		d := srv.Service
		if srv.Spread > 0 {
			d += time.Duration(n.s.rng.Int63n(int64(2*srv.Spread)+1)) - srv.Spread
		}
		srv.busyUntil = start.Add(max(d, 0))
		n.s.At(srv.busyUntil, func() {
			srv.Calls++
			err := handle()
			if errors.Is(err, ErrNoReply) {
				return
			}
			n.deliver(to, from, func() { reply(err) }, reply)
		})
	}, reply)
}

// Call is Send from p's node, with p parked until the reply (or the
// timeout): the call takes the incident time its links and its server take.
func (n *Network) Call(p *Proc, from, to string, timeout time.Duration, handle func() error) error {
	sig := p.NewSignal()
	var result error
	n.Send(from, to, timeout, handle, func(err error) { result = err; sig.Fire() })
	sig.Await()
	return result
}
