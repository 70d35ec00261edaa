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

	// The toxics that act on bytes. A message is MsgBytes long
	// (DefaultMsgBytes if zero): a call is one request and one reply, and
	// the sim does not model their sizes.
	MsgBytes int64
	// Bandwidth (toxiproxy's bandwidth, KB/s; 0: none) adds
	// MsgBytes/(1000*Bandwidth) seconds to every message.
	Bandwidth int64
	// SliceSize, SliceVariation and SliceDelay (toxiproxy's slicer: average
	// size, variation in bytes, delay between slices) cut a message into
	// slices of SliceSize ± SliceVariation bytes (uniform, drawn from the
	// run's source) and add SliceDelay between two slices.
	SliceSize, SliceVariation int64
	SliceDelay                time.Duration
	// CloseDelay (toxiproxy's slow_close) delays a close: a reset or a
	// refusal reaches the caller CloseDelay later. A reply is not a close
	// (the connection stays open), so calls that succeed are unchanged.
	CloseDelay time.Duration
	// LimitBytes (toxiproxy's limit_data; 0: none) closes the link's
	// connection once LimitBytes bytes went over it: the message that would
	// pass the limit is cut (the caller sees a reset) and the next one
	// opens a new connection, counting from zero. Sent is the count.
	LimitBytes int64
	Sent       int64

	// partial are the toxics on a share of the connections (toxicity
	// below 1), each applied to a message when its connection drew it.
	partial []*partialToxic
}

// partialToxic is a toxic with toxicity below 1. toxiproxy draws, for every
// connection and direction, whether the toxic acts on it (ToxicStub.Run: a
// uniform draw below Toxicity) when the connection starts or the toxic is
// added to it, and keeps that choice for the connection's life. The sim
// draws from the run's source at a connection's first message over the
// link after the toxic was applied, and keeps it by connection; a message
// sent on no connection of its own (every call but a Pool's: one request
// and one reply) draws for itself.
type partialToxic struct {
	toxicity float64
	apply    func(*Link)
	chosen   map[uint64]bool
}

// AddPartial applies the toxic apply on the share toxicity (0 < toxicity <
// 1) of the link's connections and returns its undo.
func (l *Link) AddPartial(toxicity float64, apply func(*Link)) (undo func()) {
	pt := &partialToxic{toxicity: toxicity, apply: apply, chosen: map[uint64]bool{}}
	l.partial = append(l.partial, pt)
	return func() {
		for i, q := range l.partial {
			if q == pt {
				l.partial = append(l.partial[:i:i], l.partial[i+1:]...)
				return
			}
		}
	}
}

// forMessage is the link as a message on connection conn (0: its own)
// meets it: l itself when it has no partial toxic, else a copy with the
// toxics its connection drew applied. write puts back what the message
// changed in the copy (the limit_data count).
func (l *Link) forMessage(rng interface{ Float64() float64 }, conn uint64) (eff *Link, write func()) {
	if len(l.partial) == 0 {
		return l, func() {}
	}
	c := *l
	for _, pt := range l.partial {
		on, seen := pt.chosen[conn]
		if !seen || conn == 0 {
			on = rng.Float64() < pt.toxicity
			if conn != 0 {
				pt.chosen[conn] = on
			}
		}
		if on {
			pt.apply(&c)
		}
	}
	return &c, func() { l.Sent = c.Sent }
}

// DefaultMsgBytes is the size of a message when its Link does not say: a
// small JSON or form request or reply of the mocks' APIs (a few hundred
// bytes to a few kilobytes). Chosen, not fitted.
const DefaultMsgBytes = 1024

// bytesDelay is the delay the byte toxics add to one message of size bytes.
func (l *Link) bytesDelay(rng interface{ Int63n(int64) int64 }, size int64) time.Duration {
	var d time.Duration
	if l.Bandwidth > 0 {
		d += time.Duration(float64(size) / float64(1000*l.Bandwidth) * float64(time.Second))
	}
	if l.SliceSize > 0 && l.SliceDelay > 0 {
		slices := 0
		for left := size; left > 0; slices++ {
			n := l.SliceSize
			if l.SliceVariation > 0 {
				n += rng.Int63n(2*l.SliceVariation+1) - l.SliceVariation
			}
			left -= max(n, 1)
		}
		d += time.Duration(max(slices-1, 0)) * l.SliceDelay
	}
	return d
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
	nodes   map[string]*nodeState
	// Sent, Lost count messages.
	Sent, Lost int
	conns      uint64 // connections opened (Dial)
}

// NewNetwork returns an empty network on s.
func NewNetwork(s *Sim) *Network {
	return &Network{s: s, links: map[[2]string]*Link{}, servers: map[string]*Server{}, nodes: map[string]*nodeState{}}
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

// Dial opens a connection: its id, which a Pool passes with its calls so
// a toxic on a share of connections (toxicity) acts on all of the
// connection's messages or none.
func (n *Network) Dial() uint64 {
	n.conns++
	return n.conns
}

// deliver sends one message over from -> to on connection conn (0: the
// message's own): fn runs when it arrives, or never (lost); fail runs
// instead when the link resets or refuses it.
func (n *Network) deliver(conn uint64, from, to string, fn func(), fail func(error)) {
	n.Sent++
	l, write := n.Link(from, to).forMessage(n.s.rng, conn)
	defer write()
	switch {
	case l.Refuse:
		n.s.After(l.CloseDelay, func() { fail(ErrRefused) })
		return
	case l.Down || l.Hold || (l.Loss > 0 && n.s.rng.Float64() < l.Loss):
		n.Lost++
		return
	case l.Reset:
		n.s.After(l.ResetAfter+l.CloseDelay, func() { fail(ErrReset) })
		return
	}
	size := l.MsgBytes
	if size <= 0 {
		size = DefaultMsgBytes
	}
	if l.LimitBytes > 0 {
		if l.Sent+size > l.LimitBytes {
			l.Sent = 0 // closed: the next message opens a new connection
			n.s.After(l.CloseDelay, func() { fail(ErrReset) })
			return
		}
		l.Sent += size
	}
	d := l.Latency
	if l.Jitter > 0 {
		d += time.Duration(n.s.rng.Int63n(int64(2*l.Jitter)+1)) - l.Jitter
	}
	d = max(d, 0) + l.bytesDelay(n.s.rng, size)
	n.s.After(d, fn)
}

// Send is one request from the node from to the server to, answered by
// handle, which runs on the server when the call's service time ends (the
// moment the request takes effect there). done runs once, with handle's
// error when the reply arrives, or ErrTimeout when none came within timeout
// (the request may still have taken effect), or ErrReset or ErrRefused.
func (n *Network) Send(from, to string, timeout time.Duration, handle func() error, done func(error)) {
	n.send(0, from, to, timeout, handle, done)
}

// send is Send on connection conn (0: a connection of the call's own).
func (n *Network) send(conn uint64, from, to string, timeout time.Duration, handle func() error, done func(error)) {
	srv := n.servers[to]
	if srv == nil {
		done(fmt.Errorf("sim: call %s -> %s: no such server", from, to))
		return
	}
	finished := false
	caller := n.Incarnation(from)
	reply := func(err error) {
		if !finished {
			finished = true
			// the caller's process gets the outcome when it runs: held
			// while it is paused, never when it was stopped, nor when it
			// is a new process since (the call's connection died with the
			// old one)
			n.atNode(from, func() {
				if n.Incarnation(from) == caller {
					done(err)
				}
			})
		}
	}
	n.s.After(timeout, func() { reply(ErrTimeout) })
	arrive := func() {
		server := n.Incarnation(to)
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
			// the request takes effect when the server's process runs
			n.atNode(to, func() {
				if n.Incarnation(to) != server {
					return // received by a process that is gone: dropped with it
				}
				srv.Calls++
				err := handle()
				if errors.Is(err, ErrNoReply) {
					return
				}
				n.deliver(conn, to, from, func() { reply(err) }, reply)
			})
		})
	}
	n.deliver(conn, from, to, func() {
		if st := n.nodes[to]; st != nil && st.stopped {
			n.s.After(n.Link(to, from).CloseDelay, func() { reply(ErrRefused) }) // nothing listens
			return
		}
		n.atNode(to, arrive)
	}, reply)
}

// nodeState is a node's process: running, paused (frozen: what reaches it
// waits, held, until it resumes) or stopped (gone: what reaches it is
// dropped, and new calls to it are refused).
type nodeState struct {
	paused, stopped bool
	held            []func()
	// incarnation counts the node's processes: Start after Stop is a new one.
	incarnation int
}

// Incarnation is how many times node was started again after a stop: a
// call's reply reaches the process that sent it only, and a request
// reaches only the process that received it.
func (n *Network) Incarnation(node string) int {
	if st := n.nodes[node]; st != nil {
		return st.incarnation
	}
	return 0
}

// atNode runs fn as node's process: at once when it runs, when it resumes
// if it is paused, never if it is stopped.
func (n *Network) atNode(node string, fn func()) {
	st := n.nodes[node]
	switch {
	case st == nil || (!st.paused && !st.stopped):
		fn()
	case st.stopped:
	default:
		st.held = append(st.held, fn)
	}
}

func (n *Network) state(node string) *nodeState {
	st := n.nodes[node]
	if st == nil {
		st = &nodeState{}
		n.nodes[node] = st
	}
	return st
}

// Pause freezes node's process (SIGSTOP, docker pause): its processes
// (the Procs named node) do not run, requests reaching it and replies
// coming back to it wait until Resume; its callers' timeouts run on.
func (n *Network) Pause(node string) {
	n.state(node).paused = true
	n.s.freeze(node, true)
}

// Resume lets a paused node run again: what it holds runs now, in the
// order it arrived.
func (n *Network) Resume(node string) {
	st := n.state(node)
	st.paused = false
	if st.stopped {
		return
	}
	held := st.held
	st.held = nil
	for _, fn := range held {
		n.s.At(n.s.now, fn)
	}
	n.s.freeze(node, false)
}

// Stop ends node's process: its processes stop running, what it held or
// has in flight is dropped, and calls to it are refused until Start.
func (n *Network) Stop(node string) {
	st := n.state(node)
	st.stopped, st.held = true, nil
	n.s.freeze(node, true)
}

// Start lets a stopped node run again, as a new process (a new
// incarnation: what the old one sent or received is not answered): its
// Procs continue from where they were parked unless the caller ends them
// (Sim.Kill) and starts new ones, as Stack.Control does per kind. Start of
// a node that is not stopped changes nothing.
func (n *Network) Start(node string) {
	st := n.state(node)
	if !st.stopped {
		return
	}
	st.stopped = false
	st.incarnation++
	if !st.paused {
		n.s.freeze(node, false)
	}
}

// Running reports whether node is neither paused nor stopped.
func (n *Network) Running(node string) bool {
	st := n.nodes[node]
	return st == nil || (!st.paused && !st.stopped)
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
