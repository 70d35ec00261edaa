package route53

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// dnsHandler is the miekg/dns handler of both the UDP and the TCP server.
type dnsHandler struct{ s *Server }

// ServeDNS implements dns.Handler.
func (h dnsHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := h.s.answer(context.Background(), req)
	if resp == nil {
		return // dropped: the client times out, as with a lost packet
	}
	if _, udp := w.LocalAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	_ = w.WriteMsg(resp)
}

// answer builds the response to req, or nil when a failpoint drops it. It is
// the one place lookup outcomes become DNS rcodes.
func (s *Server) answer(ctx context.Context, req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = false
	resp.RecursionAvailable = false
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(4096, false)
	}
	if req.Opcode != dns.OpcodeQuery {
		resp.Rcode = dns.RcodeNotImplemented
		s.countQuery(resp.Rcode)
		return resp
	}
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		s.countQuery(resp.Rcode)
		return resp
	}
	q := req.Question[0]
	qname, err := canonicalDNS(q.Name)
	if err != nil {
		resp.Rcode = dns.RcodeFormatError
		s.countQuery(resp.Rcode)
		return resp
	}
	if _, drop := s.fpDrop.Eval(ctx); drop {
		s.countQuery(-1)
		return nil
	}
	if suffix, fail := s.fpServfail.Eval(ctx); fail && MatchesSuffix(qname, suffix) {
		resp.Rcode = dns.RcodeServerFailure
		s.countQuery(resp.Rcode)
		return resp
	}
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		resp.Rcode = dns.RcodeRefused
		s.countQuery(resp.Rcode)
		return resp
	}
	qtype := dns.TypeToString[q.Qtype]
	if q.Qtype == dns.TypeANY {
		qtype = "ANY"
	}
	s.mu.RLock()
	ans := s.store.Resolve(qname, qtype, s.pick)
	s.mu.RUnlock()
	switch ans.Rcode {
	case RcodeRefused:
		resp.Rcode = dns.RcodeRefused
		s.countQuery(resp.Rcode)
		return resp
	case RcodeServFail:
		resp.Rcode = dns.RcodeServerFailure
		s.countQuery(resp.Rcode)
		return resp
	case RcodeNXDomain:
		resp.Rcode = dns.RcodeNameError
	}
	resp.Authoritative = true
	for _, r := range ans.Records {
		if rr := toRR(r); rr != nil {
			resp.Answer = append(resp.Answer, rr)
		}
	}
	if ans.SOA != nil {
		if rr := toRR(*ans.SOA); rr != nil {
			resp.Ns = append(resp.Ns, rr)
		}
	}
	s.countQuery(resp.Rcode)
	return resp
}

// pick draws uniformly in [0, n) from the injected randomness.
func (s *Server) pick(n int64) int64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.env.Rand.Int63n(n)
}

// MatchesSuffix reports whether the route53/dns-servfail failpoint's value
// suffix covers qname (an empty suffix covers every name).
func MatchesSuffix(qname, suffix string) bool {
	suffix = strings.TrimSpace(suffix)
	if suffix == "" {
		return true
	}
	cs, err := CanonicalName(suffix)
	if err != nil {
		return false
	}
	return inZone(qname, cs)
}

// toRR builds a miekg/dns record; the common types are built directly
// (no text parsing on the hot path), the rest through dns.NewRR.
func toRR(r RR) dns.RR {
	owner := dnsPresentation(r.Name)
	hdr := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: r.TTL}
	switch r.Type {
	case "A":
		hdr.Rrtype = dns.TypeA
		rr := &dns.A{Hdr: hdr, A: net.ParseIP(r.Value)}
		if rr.A == nil || rr.A.To4() == nil {
			return nil
		}
		return rr
	case "AAAA":
		hdr.Rrtype = dns.TypeAAAA
		rr := &dns.AAAA{Hdr: hdr, AAAA: net.ParseIP(r.Value)}
		if rr.AAAA == nil {
			return nil
		}
		return rr
	case "CNAME":
		hdr.Rrtype = dns.TypeCNAME
		t, err := CanonicalName(r.Value)
		if err != nil {
			return nil
		}
		return &dns.CNAME{Hdr: hdr, Target: dnsPresentation(t)}
	}
	rr, err := dns.NewRR(owner + " " + strconv.FormatUint(uint64(r.TTL), 10) + " IN " + r.Type + " " + r.Value)
	if err != nil || rr == nil {
		return nil
	}
	return rr
}
