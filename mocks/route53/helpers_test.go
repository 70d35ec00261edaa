package route53

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"
	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

const testZone = "us-east-1.amazonaws.com."

// fixture is a started server with an SDK client and the regional zone's ID.
type fixture struct {
	t      testing.TB
	srv    *Server
	env    *kit.Env
	client *r53.Client
	zoneID string
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	if cfg.Zones == nil {
		cfg.Zones = DefaultZones
	}
	env := kit.NewEnv("route53", clockwork.NewFakeClockAt(kit.IncidentStart), nil, 7)
	srv, err := New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := awsclient.Route53(srv.APIURL(), awsclient.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	id, ok := srv.ZoneID(testZone)
	if !ok {
		t.Fatalf("zone %s not created", testZone)
	}
	return &fixture{t: t, srv: srv, env: env, client: c, zoneID: id}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// rrs builds a simple record set.
func rrs(name, typ string, ttl int64, values ...string) *types.ResourceRecordSet {
	rs := &types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(typ), TTL: aws.Int64(ttl)}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

// weighted builds a weighted record set.
func weighted(name, typ, id string, weight, ttl int64, values ...string) *types.ResourceRecordSet {
	rs := rrs(name, typ, ttl, values...)
	rs.SetIdentifier, rs.Weight = aws.String(id), aws.Int64(weight)
	return rs
}

func change(action string, rs *types.ResourceRecordSet) types.Change {
	return types.Change{Action: types.ChangeAction(action), ResourceRecordSet: rs}
}

func (f *fixture) change(changes ...types.Change) (*r53.ChangeResourceRecordSetsOutput, error) {
	return f.client.ChangeResourceRecordSets(ctx(f.t), &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(f.zoneID), ChangeBatch: &types.ChangeBatch{Changes: changes},
	})
}

func (f *fixture) mustChange(changes ...types.Change) *r53.ChangeResourceRecordSetsOutput {
	f.t.Helper()
	out, err := f.change(changes...)
	if err != nil {
		f.t.Fatalf("change: %v", err)
	}
	return out
}

// listAll pages through the zone with pages of size max.
func (f *fixture) listAll(max int32) []types.ResourceRecordSet {
	f.t.Helper()
	var all []types.ResourceRecordSet
	in := &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(f.zoneID), MaxItems: aws.Int32(max)}
	for pages := 0; ; pages++ {
		if pages > 100000 {
			f.t.Fatal("listing does not end")
		}
		out, err := f.client.ListResourceRecordSets(ctx(f.t), in)
		if err != nil {
			f.t.Fatalf("list: %v", err)
		}
		if len(out.ResourceRecordSets) > int(max) {
			f.t.Fatalf("page of %d sets, max %d", len(out.ResourceRecordSets), max)
		}
		all = append(all, out.ResourceRecordSets...)
		if !out.IsTruncated {
			return all
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// query asks the server over net ("udp" or "tcp").
func query(t testing.TB, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return r
}

func answerValues(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.CNAME:
			out = append(out, "CNAME "+v.Target)
		default:
			out = append(out, fmt.Sprint(rr))
		}
	}
	return out
}
