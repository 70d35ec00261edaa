package route53

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/jonboulle/clockwork"
	"github.com/miekg/dns"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

func TestSmoke(t *testing.T) {
	env := kit.NewEnv("route53", clockwork.NewFakeClockAt(kit.IncidentStart), nil, 1)
	s, err := New(Config{Zones: DefaultZones}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := awsclient.Route53(s.APIURL())
	ctx := context.Background()
	zs, err := c.ListHostedZones(ctx, &r53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", zs.HostedZones[0])
	id := *zs.HostedZones[0].Id
	out, err := c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: &id, ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
		{Action: "CREATE", ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("dynamodb.us-east-1.amazonaws.com"), Type: "CNAME", TTL: aws.Int64(5), ResourceRecords: []types.ResourceRecord{{Value: aws.String("p1.us-east-1.amazonaws.com")}}}},
		{Action: "CREATE", ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("p1.us-east-1.amazonaws.com"), Type: "A", TTL: aws.Int64(5), SetIdentifier: aws.String("a"), Weight: aws.Int64(1), ResourceRecords: []types.ResourceRecord{{Value: aws.String("127.0.1.1")}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *out.ChangeInfo)
	_, err = c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: &id, ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
		{Action: "DELETE", ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("x.us-east-1.amazonaws.com"), Type: "CNAME", TTL: aws.Int64(5), ResourceRecords: []types.ResourceRecord{{Value: aws.String("p1.us-east-1.amazonaws.com")}}}},
	}}})
	t.Logf("err %v", err)
	l, err := c.ListResourceRecordSets(ctx, &r53.ListResourceRecordSetsInput{HostedZoneId: &id})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range l.ResourceRecordSets {
		t.Logf("%s %s %v", *rs.Name, rs.Type, rs.ResourceRecords)
	}
	for _, n := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("dynamodb.us-east-1.amazonaws.com.", dns.TypeA)
		r, _, err := (&dns.Client{Net: n}).Exchange(m, s.DNSAddr())
		if err != nil {
			t.Fatal(err)
		}
		t.Log(r)
	}
}
