package route53

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestDNSAuthoritativeAnswers(t *testing.T) {
	f := newFixture(t, Config{})
	f.mustChange(
		change("CREATE", rrs("ddb.us-east-1.amazonaws.com.", "CNAME", 5, "mid.us-east-1.amazonaws.com.")),
		change("CREATE", rrs("mid.us-east-1.amazonaws.com.", "CNAME", 7, "plan.x.us-east-1.amazonaws.com.")),
		change("CREATE", rrs("plan.x.us-east-1.amazonaws.com.", "A", 42, "127.0.1.1", "127.0.1.2")),
		change("CREATE", rrs("dangling.us-east-1.amazonaws.com.", "CNAME", 5, "gone.us-east-1.amazonaws.com.")),
		change("CREATE", rrs("out.us-east-1.amazonaws.com.", "CNAME", 5, "elsewhere.example.org.")),
		change("CREATE", rrs("v6.us-east-1.amazonaws.com.", "AAAA", 9, "::1")),
		change("CREATE", rrs("t.us-east-1.amazonaws.com.", "TXT", 9, `"hello world"`)),
		change("CREATE", rrs(`*.wild.us-east-1.amazonaws.com.`, "A", 9, "127.0.2.1")),
	)
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := f.srv.DNSAddr()
			r := query(t, addr, network, "plan.x.us-east-1.amazonaws.com.", dns.TypeA)
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || !slices.Equal(answerValues(r), []string{"127.0.1.1", "127.0.1.2"}) || r.Answer[0].Header().Ttl != 42 {
				t.Fatalf("A: %v", r)
			}
			r = query(t, addr, network, "DDB.us-east-1.amazonaws.com", dns.TypeA)
			want := []string{"CNAME mid.us-east-1.amazonaws.com.", "CNAME plan.x.us-east-1.amazonaws.com.", "127.0.1.1", "127.0.1.2"}
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || !slices.Equal(answerValues(r), want) {
				t.Fatalf("CNAME chain: %v", r)
			}
			if r.Answer[0].Header().Ttl != 5 || r.Answer[1].Header().Ttl != 7 || r.Answer[2].Header().Ttl != 42 {
				t.Fatalf("chain TTLs: %v", r.Answer)
			}
			r = query(t, addr, network, "ddb.us-east-1.amazonaws.com.", dns.TypeCNAME)
			if !slices.Equal(answerValues(r), []string{"CNAME mid.us-east-1.amazonaws.com."}) {
				t.Fatalf("CNAME query: %v", r)
			}
			// NODATA: the name exists without the type.
			r = query(t, addr, network, "plan.x.us-east-1.amazonaws.com.", dns.TypeAAAA)
			assertNegative(t, r, dns.RcodeSuccess, 0)
			// Empty non-terminal: a name below exists.
			r = query(t, addr, network, "x.us-east-1.amazonaws.com.", dns.TypeA)
			assertNegative(t, r, dns.RcodeSuccess, 0)
			// NXDOMAIN.
			r = query(t, addr, network, "nothing.us-east-1.amazonaws.com.", dns.TypeA)
			assertNegative(t, r, dns.RcodeNameError, 0)
			// RFC 6604: the rcode is the final name's, with the CNAME answered.
			r = query(t, addr, network, "dangling.us-east-1.amazonaws.com.", dns.TypeA)
			assertNegative(t, r, dns.RcodeNameError, 1)
			// A CNAME leaving the served zones: the resolver follows it.
			r = query(t, addr, network, "out.us-east-1.amazonaws.com.", dns.TypeA)
			if r.Rcode != dns.RcodeSuccess || !slices.Equal(answerValues(r), []string{"CNAME elsewhere.example.org."}) || len(r.Ns) != 0 {
				t.Fatalf("CNAME out of zone: %v", r)
			}
			// REFUSED outside every hosted zone, without AA.
			r = query(t, addr, network, "example.org.", dns.TypeA)
			if r.Rcode != dns.RcodeRefused || r.Authoritative || len(r.Answer) != 0 {
				t.Fatalf("out of zone: %v", r)
			}
			r = query(t, addr, network, "v6.us-east-1.amazonaws.com.", dns.TypeAAAA)
			if !slices.Equal(answerValues(r), []string{"::1"}) || r.Answer[0].Header().Ttl != 9 {
				t.Fatalf("AAAA: %v", r)
			}
			r = query(t, addr, network, "t.us-east-1.amazonaws.com.", dns.TypeTXT)
			if len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != "hello world" {
				t.Fatalf("TXT: %v", r)
			}
			r = query(t, addr, network, "a.b.wild.us-east-1.amazonaws.com.", dns.TypeA)
			if !slices.Equal(answerValues(r), []string{"127.0.2.1"}) || r.Answer[0].Header().Name != "a.b.wild.us-east-1.amazonaws.com." {
				t.Fatalf("wildcard: %v", r)
			}
			r = query(t, addr, network, "us-east-1.amazonaws.com.", dns.TypeNS)
			if len(r.Answer) != 4 || !r.Authoritative {
				t.Fatalf("NS: %v", r)
			}
			r = query(t, addr, network, "dynamodb.us-east-1.api.aws.", dns.TypeA)
			assertNegative(t, r, dns.RcodeNameError, 0)
			if r.Ns[0].Header().Name != "api.aws." {
				t.Fatalf("SOA of the wrong zone: %v", r.Ns[0])
			}
		})
	}
}

func assertNegative(t *testing.T, r *dns.Msg, rcode, answers int) {
	t.Helper()
	if r.Rcode != rcode || !r.Authoritative || len(r.Answer) != answers || len(r.Ns) != 1 {
		t.Fatalf("want rcode %s, AA, %d answers and the SOA: %v", dns.RcodeToString[rcode], answers, r)
	}
	soa, ok := r.Ns[0].(*dns.SOA)
	if !ok || soa.Hdr.Ttl != 900 {
		t.Fatalf("authority section: %v", r.Ns)
	}
}

func TestDNSWeightedSelection(t *testing.T) {
	f := newFixture(t, Config{})
	name := "w.us-east-1.amazonaws.com."
	f.mustChange(
		change("CREATE", weighted(name, "A", "lb-a", 1, 5, "127.0.1.1")),
		change("CREATE", weighted(name, "A", "lb-b", 3, 5, "127.0.1.2")),
		change("CREATE", weighted(name, "A", "lb-c", 0, 5, "127.0.1.3")),
	)
	counts := map[string]int{}
	const n = 4000
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	conn, err := c.Dial(f.srv.DNSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range n {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r, _, err := c.ExchangeWithConn(m, conn)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Answer) != 1 {
			t.Fatalf("a weighted answer holds one set, got %v", r.Answer)
		}
		counts[answerValues(r)[0]]++
	}
	if counts["127.0.1.3"] != 0 {
		t.Fatalf("weight 0 chosen %d times", counts["127.0.1.3"])
	}
	if a := float64(counts["127.0.1.1"]) / n; a < 0.22 || a > 0.28 {
		t.Fatalf("weight 1 of 4 chosen %.3f of the time (%v)", a, counts)
	}
	// All weights zero: chosen uniformly.
	f.mustChange(change("UPSERT", weighted(name, "A", "lb-a", 0, 5, "127.0.1.1")), change("UPSERT", weighted(name, "A", "lb-b", 0, 5, "127.0.1.2")))
	counts = map[string]int{}
	for range 600 {
		counts[answerValues(query(t, f.srv.DNSAddr(), "udp", name, dns.TypeA))[0]]++
	}
	for _, v := range []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"} {
		if counts[v] < 150 {
			t.Fatalf("all-zero weights: %v", counts)
		}
	}
}

func TestResolverSeesEmptiedEndpoint(t *testing.T) {
	f := newFixture(t, Config{})
	host := "dynamodb.us-east-1.amazonaws.com"
	target := "regional.g00000001.ddb-plans.us-east-1.amazonaws.com."
	f.mustChange(change("CREATE", rrs(host+".", "CNAME", 5, target)),
		change("CREATE", weighted(target, "A", "ddb-lb-a", 1, 5, "127.0.1.1")))
	res := kit.NewResolver(f.srv.DNSAddr())
	addrs, err := res.LookupHost(ctx(t), host)
	if err != nil || !slices.Equal(addrs, []string{"127.0.1.1"}) {
		t.Fatalf("lookup: %v %v", addrs, err)
	}
	// As-was: the plan's records can be deleted under the endpoint's CNAME.
	f.mustChange(change("DELETE", weighted(target, "A", "ddb-lb-a", 1, 5, "127.0.1.1")))
	_, err = res.LookupHost(ctx(t), host)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("lookup of an emptied endpoint: %v (want no such host)", err)
	}
}

func TestDNSFailpoints(t *testing.T) {
	f := newFixture(t, Config{})
	f.mustChange(change("CREATE", rrs("a.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")),
		change("CREATE", rrs("b.us-east-1.amazonaws.com.", "A", 5, "127.0.0.2")))
	servfail := f.env.Name + "/dns-servfail"
	if err := f.env.Failpoints.Enable(servfail, "return(a.us-east-1.amazonaws.com)"); err != nil {
		t.Fatal(err)
	}
	if r := query(t, f.srv.DNSAddr(), "udp", "a.us-east-1.amazonaws.com.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("suffix match: %v", r)
	}
	if r := query(t, f.srv.DNSAddr(), "udp", "b.us-east-1.amazonaws.com.", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("no suffix match: %v", r)
	}
	_ = f.env.Failpoints.Enable(servfail, "return()")
	if r := query(t, f.srv.DNSAddr(), "tcp", "b.us-east-1.amazonaws.com.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("empty suffix: %v", r)
	}
	_ = f.env.Failpoints.Disable(servfail)

	drop := f.env.Name + "/dns-drop"
	_ = f.env.Failpoints.Enable(drop, "return()")
	m := new(dns.Msg)
	m.SetQuestion("a.us-east-1.amazonaws.com.", dns.TypeA)
	if _, _, err := (&dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}).Exchange(m, f.srv.DNSAddr()); err == nil {
		t.Fatal("dropped query answered")
	}
	_ = f.env.Failpoints.Disable(drop)
	if r := query(t, f.srv.DNSAddr(), "udp", "a.us-east-1.amazonaws.com.", dns.TypeA); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("after drop: %v", r)
	}
}

func TestDNSTruncatesOverUDP(t *testing.T) {
	f := newFixture(t, Config{})
	var values []string
	for i := range 60 {
		values = append(values, "10.0.0."+strconv.Itoa(i+1))
	}
	f.mustChange(change("CREATE", rrs("big.us-east-1.amazonaws.com.", "A", 5, values...)))
	r := query(t, f.srv.DNSAddr(), "udp", "big.us-east-1.amazonaws.com.", dns.TypeA)
	if !r.Truncated {
		t.Fatalf("60 A records over UDP without EDNS: TC not set (%d answers)", len(r.Answer))
	}
	r = query(t, f.srv.DNSAddr(), "tcp", "big.us-east-1.amazonaws.com.", dns.TypeA)
	if r.Truncated || len(r.Answer) != 60 {
		t.Fatalf("TCP: truncated=%v answers=%d", r.Truncated, len(r.Answer))
	}
}

func TestFixedModeRefusesDanglingCNAME(t *testing.T) {
	target := "regional.g00000001.ddb-plans.us-east-1.amazonaws.com."
	ep := "dynamodb.us-east-1.amazonaws.com."
	setup := []types.Change{change("CREATE", rrs(ep, "CNAME", 5, target)), change("CREATE", weighted(target, "A", "ddb-lb-a", 1, 5, "127.0.1.1"))}
	cleanup := change("DELETE", weighted(target, "A", "ddb-lb-a", 1, 5, "127.0.1.1"))
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			f := newFixture(t, Config{Mode: mode})
			f.mustChange(setup...)
			_, err := f.change(cleanup)
			if mode == kit.AsWas {
				if err != nil {
					t.Fatalf("as-was refused the clean-up: %v", err)
				}
				if r := query(t, f.srv.DNSAddr(), "udp", ep, dns.TypeA); r.Rcode != dns.RcodeNameError {
					t.Fatalf("as-was: endpoint should be dangling: %v", r)
				}
				// And a CNAME to an empty name is accepted as-was.
				if _, err := f.change(change("CREATE", rrs("other.us-east-1.amazonaws.com.", "CNAME", 5, "nothing.us-east-1.amazonaws.com."))); err != nil {
					t.Fatal(err)
				}
				return
			}
			var icb *types.InvalidChangeBatch
			if !errors.As(err, &icb) || len(icb.Messages) != 1 || !contains(icb.Messages[0], ep, target) {
				t.Fatalf("fixed: want InvalidChangeBatch naming %s and %s, got %v", ep, target, err)
			}
			if got := answerValues(query(t, f.srv.DNSAddr(), "udp", ep, dns.TypeA)); !slices.Equal(got, []string{"CNAME " + target, "127.0.1.1"}) {
				t.Fatalf("fixed: endpoint changed: %v", got)
			}
			if _, err := f.change(change("CREATE", rrs("other.us-east-1.amazonaws.com.", "CNAME", 5, "nothing.us-east-1.amazonaws.com."))); apiCode(err) != "InvalidChangeBatch" || !contains(err.Error(), "other.us-east-1.amazonaws.com.") {
				t.Fatalf("fixed: CNAME to an empty name: %v", err)
			}
			// Repointing the endpoint then deleting the old plan in one batch is fine.
			next := "regional.g00000002.ddb-plans.us-east-1.amazonaws.com."
			f.mustChange(change("CREATE", weighted(next, "A", "ddb-lb-b", 1, 5, "127.0.1.2")),
				change("UPSERT", rrs(ep, "CNAME", 5, next)), cleanup)
			// A CNAME out of the served zones is not judged.
			f.mustChange(change("CREATE", rrs("ext.us-east-1.amazonaws.com.", "CNAME", 5, "x.example.org.")))
			// Deleting the endpoint itself leaves nothing pointing anywhere.
			f.mustChange(change("DELETE", rrs(ep, "CNAME", 5, next)))
		})
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestStartCloseReleasesPorts(t *testing.T) {
	f := newFixture(t, Config{})
	dnsAddr, apiAddr := f.srv.DNSAddr(), f.srv.APIAddr()
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	for _, a := range []struct{ network, addr string }{{"tcp", dnsAddr}, {"tcp", apiAddr}} {
		ln, err := net.Listen(a.network, a.addr)
		if err != nil {
			t.Fatalf("%s %s still bound: %v", a.network, a.addr, err)
		}
		ln.Close()
	}
	pc, err := net.ListenPacket("udp", dnsAddr)
	if err != nil {
		t.Fatalf("udp %s still bound: %v", dnsAddr, err)
	}
	pc.Close()
	// Start with a cancelled context stops the server.
	env := kit.NewEnv("r2", f.env.Clock, nil, 1)
	s2, err := New(Config{}, env)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	if err := s2.Start(c); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s2.APIAddr(), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still serving after its context ended")
		}
		<-time.After(10 * time.Millisecond)
	}
}
