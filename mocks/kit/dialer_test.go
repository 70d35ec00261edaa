package kit

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsServer answers every A question with 192.0.2.1 on UDP and TCP at one
// port; truncateUDP makes its UDP answers truncated (TC, no records), as a
// server does when the answer does not fit.
type dnsServer struct {
	addr           string
	udpQ, tcpQ     atomic.Int64
	truncateUDP    bool
	udpSrv, tcpSrv *dns.Server
}

func startDNS(t *testing.T, truncateUDP bool) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("TCP port of the UDP listener is taken: %v", err)
	}
	s := &dnsServer{addr: pc.LocalAddr().String(), truncateUDP: truncateUDP}
	answer := func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		_, udp := w.RemoteAddr().(*net.UDPAddr)
		if udp {
			s.udpQ.Add(1)
		} else {
			s.tcpQ.Add(1)
		}
		if udp && s.truncateUDP {
			m.Truncated = true
		} else if q := r.Question[0]; q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(192, 0, 2, 1)})
		}
		_ = w.WriteMsg(m)
	}
	s.udpSrv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(answer)}
	s.tcpSrv = &dns.Server{Listener: ln, Handler: dns.HandlerFunc(answer)}
	go func() { _ = s.udpSrv.ActivateAndServe() }()
	go func() { _ = s.tcpSrv.ActivateAndServe() }()
	t.Cleanup(func() { _ = s.udpSrv.Shutdown(); _ = s.tcpSrv.Shutdown() })
	return s
}

func lookup(t *testing.T, addr string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := NewResolver(addr).LookupHost(ctx, "endpoint.example.test")
	if err != nil {
		t.Fatalf("lookup through %s: %v", addr, err)
	}
	return ips
}

// A lookup goes over UDP, not a TCP connection per question (which left a
// TIME_WAIT socket per lookup).
func TestResolverAsksOverUDP(t *testing.T) {
	s := startDNS(t, false)
	if ips := lookup(t, s.addr); len(ips) != 1 || ips[0] != "192.0.2.1" {
		t.Fatalf("addresses %v, want [192.0.2.1]", ips)
	}
	if s.udpQ.Load() == 0 || s.tcpQ.Load() != 0 {
		t.Fatalf("questions: %d over UDP, %d over TCP; want UDP only", s.udpQ.Load(), s.tcpQ.Load())
	}
}

// A truncated UDP answer is asked again over TCP, as a stub resolver does.
func TestResolverFallsBackToTCPOnTruncation(t *testing.T) {
	s := startDNS(t, true)
	if ips := lookup(t, s.addr); len(ips) != 1 || ips[0] != "192.0.2.1" {
		t.Fatalf("addresses %v, want [192.0.2.1]", ips)
	}
	if s.udpQ.Load() == 0 || s.tcpQ.Load() == 0 {
		t.Fatalf("questions: %d over UDP, %d over TCP; want both", s.udpQ.Load(), s.tcpQ.Load())
	}
}
