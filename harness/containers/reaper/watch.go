package reaper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// The protocol, one line each way as Ryuk's: the owner writes the label it
// expects the reaper to reap ("label=cascade.run=<run>\n"), the reaper
// answers "ACK\n" when that is its own label (and it is still watching),
// else "ERR <reason>\n" and closes. After the ACK neither side writes; the
// open connection is the lifeline.
const (
	helloPrefix = "label="
	ackLine     = "ACK\n"
)

// Defaults of Config.
const (
	// DefaultGrace is how long a run may have no owner connected before it
	// is reaped: Ryuk's reconnection timeout (RYUK_RECONNECTION_TIMEOUT).
	DefaultGrace = 10 * time.Second
	// DefaultConnectTimeout is how long the reaper waits for its first
	// owner (the owner died between starting it and connecting): Ryuk's
	// connection timeout (RYUK_CONNECTION_TIMEOUT).
	DefaultConnectTimeout = 60 * time.Second
	// handshakeTimeout bounds reading an owner's hello line.
	handshakeTimeout = 10 * time.Second
)

// Config configures Watch.
type Config struct {
	// Label is the one label ("key=value") this reaper reaps; an owner
	// must name it to be counted.
	Label string
	// Grace: no owner connected for this long ends the watch.
	Grace time.Duration
	// ConnectTimeout: no owner at all within this long ends the watch.
	ConnectTimeout time.Duration
	// Clock times Grace and ConnectTimeout (default: the real clock).
	Clock clockwork.Clock
	// Notify, if set, is told of every change: "waiting", "owner-joined",
	// "owner-refused", "owner-left" and "owner-gone" (the watch ends),
	// with the number of owners connected.
	Notify func(kind string, owners int)
}

func (c *Config) validate() error {
	if k, v, ok := strings.Cut(c.Label, "="); !ok || k == "" || v == "" {
		return fmt.Errorf("reaper label %q: want key=value", c.Label)
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Notify == nil {
		c.Notify = func(string, int) {}
	}
	return nil
}

// join is an owner's request to be counted; ok says whether it was.
type join struct{ ok chan bool }

// Watch accepts owners on ln until no owner has been connected for
// cfg.Grace, or none came within cfg.ConnectTimeout; then it closes ln and
// returns nil, and the caller sweeps. An owner is acknowledged only once it
// is counted, so an owner that saw "ACK" keeps its stack for as long as it
// stays connected (and Grace after). It returns ctx's error, without
// deciding anything, if ctx ends first.
func Watch(ctx context.Context, ln net.Listener, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	done := make(chan struct{})
	joins := make(chan join)
	leaves := make(chan struct{})
	var conns sync.WaitGroup
	defer func() {
		close(done)
		_ = ln.Close()
		conns.Wait()
	}()
	// The accept loop counts in conns itself, so its Adds never race Wait.
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // ln closed
			}
			conns.Add(2)
			go func() {
				defer conns.Done()
				serveOwner(c, cfg.Label, joins, leaves, done)
			}()
			go func() {
				defer conns.Done()
				<-done // the watch is over: let go of every owner
				_ = c.Close()
			}()
		}
	}()

	owners := 0
	timer := cfg.Clock.NewTimer(cfg.ConnectTimeout)
	cfg.Notify("waiting", owners)
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case j := <-joins:
			owners++
			timer.Stop()
			j.ok <- true
			cfg.Notify("owner-joined", owners)
		case <-leaves:
			owners--
			cfg.Notify("owner-left", owners)
			if owners == 0 {
				timer = cfg.Clock.NewTimer(cfg.Grace)
			}
		case <-timer.Chan():
			// A timer stopped just as it fired may still deliver: only an
			// ownerless run is reaped.
			if owners > 0 {
				continue
			}
			cfg.Notify("owner-gone", owners)
			return nil
		}
	}
}

// serveOwner reads an owner's hello, asks Watch to count it, acknowledges,
// and reports its leaving when the connection ends.
func serveOwner(c net.Conn, label string, joins chan<- join, leaves chan<- struct{}, done <-chan struct{}) {
	defer c.Close()
	// A wall-clock deadline in the transport: it only bounds a silent peer.
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	if got := strings.TrimSuffix(line, "\n"); got != helloPrefix+label {
		_, _ = fmt.Fprintf(c, "ERR this reaper reaps %s, not %s\n", label, strings.TrimPrefix(got, helloPrefix))
		return
	}
	j := join{ok: make(chan bool, 1)}
	select {
	case joins <- j:
		<-j.ok
	case <-done:
		_, _ = io.WriteString(c, "ERR reaping\n")
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(c, ackLine); err == nil {
		// The owner never writes again: any read result is the end.
		_, _ = io.Copy(io.Discard, r)
	}
	select {
	case leaves <- struct{}{}:
	case <-done:
	}
}

// ErrRefused is returned by Hello when the reaper refuses the owner.
var ErrRefused = errors.New("reaper refused the owner")

// Hello sends the owner's hello for label on c and waits for the reaper's
// answer (bounded by c's deadline, if any).
func Hello(c net.Conn, label string) error {
	if _, err := io.WriteString(c, helloPrefix+label+"\n"); err != nil {
		return fmt.Errorf("reaper hello: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reaper hello: %w", err)
	}
	if line != ackLine {
		return fmt.Errorf("%w: %s", ErrRefused, strings.TrimSpace(line))
	}
	return nil
}
