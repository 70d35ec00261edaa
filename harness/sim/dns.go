package sim

import (
	"errors"
	"time"

	"github.com/cascade-lab/cascade/mocks/route53"
)

// ErrNoSuchHost: the name resolved to no address (an authoritative empty
// answer): a client cannot open a new connection.
var ErrNoSuchHost = errors.New("sim: no such host")

// ErrServFail: the DNS server answered SERVFAIL (a resolver's "server
// misbehaving").
var ErrServFail = errors.New("sim: server misbehaving (SERVFAIL)")

// LookupA is the A records a resolver gets for name from the Store, as the
// mock's DNS server answers (CNAME chains followed; one set of a weighted
// group, drawn by weight from the run's random source).
func (r *Route53) LookupA(name string) []string {
	ans := r.Store.Resolve(name, "A", func(n int64) int64 { return r.net.s.rng.Int63n(n) })
	if ans.Rcode != route53.RcodeSuccess {
		return nil
	}
	var ips []string
	for _, rr := range ans.Records {
		if rr.Type == "A" {
			ips = append(ips, rr.Value)
		}
	}
	return ips
}

// Pool is one client's keep-alive connection to a name, as an SDK's HTTP
// client keeps it: a new connection resolves the name first (a DNS query to
// the DNS node), an empty answer is ErrNoSuchHost, and an open connection
// is reused, without asking DNS again, until it is MaxAge old (the
// front end closes it) or a call on it fails.
type Pool struct {
	Net *Network
	R53 *Route53
	// From is the client's node, DNS the node answering queries.
	From, DNS, Name string
	// Addrs maps an address in the answers to the node that serves it.
	Addrs   map[string]string
	MaxAge  time.Duration
	Timeout time.Duration

	conn   string
	opened time.Time
	// id is the open connection's (Network.Dial), server the incarnation
	// of the node it reached: a server's new process has no connection.
	id     uint64
	server int
	// Dials and Lookups count new connections and DNS queries.
	Dials, Lookups int
}

// Call makes one call on the pool's connection, opening one first when
// needed; handle runs on the server the connection reached. p is parked
// until the reply.
func (p *Pool) Call(proc *Proc, handle func(node string) error) error {
	sig := proc.NewSignal()
	var result error
	p.Send(handle, func(err error) { result = err; sig.Fire() })
	sig.Await()
	return result
}

// Send is Call without a process: done runs with the call's outcome, as an
// event of the run (a transport's in-flight request).
func (p *Pool) Send(handle func(node string) error, done func(error)) {
	now := p.Net.s.now
	if p.conn != "" && now.Sub(p.opened) < p.MaxAge && p.Net.Incarnation(p.conn) == p.server {
		p.send(p.conn, handle, done)
		return
	}
	p.conn = ""
	p.Lookups++
	var ips []string
	p.Net.Send(p.From, p.DNS, p.Timeout, func() error {
		if p.R53.DNSFault != nil {
			if err := p.R53.DNSFault(p.Name); err != nil {
				return err
			}
		}
		ips = p.R53.LookupA(p.Name)
		return nil
	}, func(err error) {
		if err != nil {
			done(err)
			return
		}
		if len(ips) == 0 {
			done(ErrNoSuchHost)
			return
		}
		node, ok := p.Addrs[ips[0]]
		if !ok {
			done(ErrRefused) // an address nothing listens on
			return
		}
		p.conn, p.opened = node, p.Net.s.now
		p.id, p.server = p.Net.Dial(), p.Net.Incarnation(node)
		p.Dials++
		p.send(node, handle, done)
	})
}

func (p *Pool) send(node string, handle func(node string) error, done func(error)) {
	p.Net.send(p.id, p.From, node, p.Timeout, func() error { return handle(node) }, func(err error) {
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrReset) || errors.Is(err, ErrRefused) {
			if p.conn == node {
				p.conn = "" // a broken connection is not reused
			}
		}
		done(err)
	})
}
