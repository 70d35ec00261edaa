package route53

import (
	"context"
	"math/rand"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/mocks/kit"
)

const seedBatch = `<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Comment>c</Comment><Changes>
<Change><Action>CREATE</Action><ResourceRecordSet><Name>w.example.com</Name><Type>A</Type><SetIdentifier>a</SetIdentifier><Weight>3</Weight><TTL>5</TTL><ResourceRecords><ResourceRecord><Value>10.0.0.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>
<Change><Action>UPSERT</Action><ResourceRecordSet><Name>c.example.com</Name><Type>CNAME</Type><TTL>5</TTL><ResourceRecords><ResourceRecord><Value>w.example.com</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>
<Change><Action>DELETE</Action><ResourceRecordSet><Name>x.example.com</Name><Type>A</Type><AliasTarget><HostedZoneId>Z1</HostedZoneId><DNSName>w.example.com</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change>
</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`

func FuzzChangeBatchDecode(f *testing.F) {
	f.Add([]byte(seedBatch))
	f.Add([]byte(`<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>*.example.com</Name><Type>TXT</Type><TTL>0</TTL><ResourceRecords><ResourceRecord><Value>"a"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`))
	f.Add([]byte(`<ChangeResourceRecordSetsRequest><ChangeBatch>`))
	f.Add([]byte(`<a><b>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		changes, comment, err := DecodeChangeBatch(body)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("decode error %T is not an *Error", err)
			}
			return
		}
		s := NewStore(StoreConfig{Mode: kit.Fixed, Clock: clockwork.NewFakeClockAt(kit.IncidentStart), Rand: rand.New(rand.NewSource(1))})
		z, _, err := s.CreateZone("example.com", "r", "")
		if err != nil {
			t.Fatal(err)
		}
		// Apply twice: the second run meets the first one's records.
		for range 2 {
			before := s.Records()
			_, err := s.ChangeRecordSets(z.ID, changes, comment)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("change error %T is not an *Error", err)
				}
				if s.Records() != before {
					t.Fatalf("a refused batch changed the store: %d -> %d", before, s.Records())
				}
			}
			if z.index.len() != len(z.names) {
				t.Fatalf("index %d names, map %d", z.index.len(), len(z.names))
			}
			for _, ch := range changes {
				if cn, err := CanonicalName(ch.Set.Name); err == nil {
					s.Resolve(cn, ch.Set.Type, func(n int64) int64 { return n - 1 })
					s.Resolve(cn, "ANY", func(n int64) int64 { return 0 })
				}
			}
			if _, err := s.List(z.ID, "", "", "", 2); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzDNSQuery(f *testing.F) {
	env := kit.NewEnv("route53", clockwork.NewFakeClockAt(kit.IncidentStart), nil, 1)
	srv, err := New(Config{Zones: []string{"example.com"}}, env)
	if err != nil {
		f.Fatal(err)
	}
	changes, _, err := DecodeChangeBatch([]byte(seedBatch))
	if err != nil {
		f.Fatal(err)
	}
	z, _ := srv.store.ZoneByName("example.com")
	if _, err := srv.store.ChangeRecordSets(z.ID, changes[:2], ""); err != nil {
		f.Fatal(err)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"c.example.com.", dns.TypeA}, {"w.example.com.", dns.TypeANY}, {"nope.example.com.", dns.TypeA}, {"example.org.", dns.TypeSOA}, {`\042.example.com.`, dns.TypeTXT}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(1232, true)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(raw); err != nil {
			return // miekg/dns's server answers FORMERR before the handler
		}
		resp := srv.answer(context.Background(), req)
		if resp == nil {
			t.Fatal("no failpoint is on, yet the query was dropped")
		}
		resp.Truncate(dns.MinMsgSize)
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("response does not pack: %v\n%v", err, resp)
		}
	})
}
