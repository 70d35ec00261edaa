package route53

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
)

func TestZoneCreateListGet(t *testing.T) {
	f := newFixture(t, Config{})
	out, err := f.client.CreateHostedZone(ctx(t), &r53.CreateHostedZoneInput{Name: aws.String("Example.COM"), CallerReference: aws.String("ref-1"),
		HostedZoneConfig: &types.HostedZoneConfig{Comment: aws.String("test zone")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.HostedZone.Name); got != "example.com." {
		t.Errorf("name %q, want example.com.", got)
	}
	if !strings.HasPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/Z") || out.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Errorf("zone %q change %v", aws.ToString(out.HostedZone.Id), out.ChangeInfo.Status)
	}
	if out.Location == nil || len(out.DelegationSet.NameServers) != 4 {
		t.Errorf("location %v name servers %v", out.Location, out.DelegationSet.NameServers)
	}
	if _, err := f.client.CreateHostedZone(ctx(t), &r53.CreateHostedZoneInput{Name: aws.String("other.com"), CallerReference: aws.String("ref-1")}); apiCode(err) != "HostedZoneAlreadyExists" {
		t.Errorf("reused caller reference: %v", err)
	}
	if _, err := f.client.CreateHostedZone(ctx(t), &r53.CreateHostedZoneInput{Name: aws.String("bad..name"), CallerReference: aws.String("ref-2")}); apiCode(err) != "InvalidDomainName" {
		t.Errorf("bad name: %v", err)
	}

	list, err := f.client.ListHostedZones(ctx(t), &r53.ListHostedZonesInput{MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.HostedZones) != 2 || !list.IsTruncated || list.NextMarker == nil {
		t.Fatalf("first page %d zones truncated=%v", len(list.HostedZones), list.IsTruncated)
	}
	rest, err := f.client.ListHostedZones(ctx(t), &r53.ListHostedZonesInput{Marker: list.NextMarker})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.HostedZones) != 1 || rest.IsTruncated || aws.ToString(rest.HostedZones[0].Name) != "example.com." {
		t.Fatalf("second page %+v", rest.HostedZones)
	}

	got, err := f.client.GetHostedZone(ctx(t), &r53.GetHostedZoneInput{Id: out.HostedZone.Id})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(got.HostedZone.ResourceRecordSetCount) != 2 || aws.ToString(got.HostedZone.Config.Comment) != "test zone" {
		t.Errorf("get zone: count %d comment %q", aws.ToInt64(got.HostedZone.ResourceRecordSetCount), aws.ToString(got.HostedZone.Config.Comment))
	}
	if _, err := f.client.GetHostedZone(ctx(t), &r53.GetHostedZoneInput{Id: aws.String("ZNOPE")}); apiCode(err) != "NoSuchHostedZone" {
		t.Errorf("unknown zone: %v", err)
	}

	byName, err := f.client.ListHostedZonesByName(ctx(t), &r53.ListHostedZonesByNameInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, z := range byName.HostedZones {
		names = append(names, aws.ToString(z.Name))
	}
	// Sorted by name with labels reversed: aws.api, com.amazonaws.us-east-1, com.example.
	if want := []string{"api.aws.", "us-east-1.amazonaws.com.", "example.com."}; !slices.Equal(names, want) {
		t.Errorf("by name %v, want %v", names, want)
	}
	// From a name between two zones, one a page: the next zone, then the last.
	page, err := f.client.ListHostedZonesByName(ctx(t), &r53.ListHostedZonesByNameInput{DNSName: aws.String("b.aws"), MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.HostedZones) != 1 || aws.ToString(page.HostedZones[0].Name) != "us-east-1.amazonaws.com." ||
		!page.IsTruncated || aws.ToString(page.NextDNSName) != "example.com." || page.NextHostedZoneId == nil {
		t.Errorf("page from b.aws: %d zones (%v), truncated %v, next %q", len(page.HostedZones), page.HostedZones, page.IsTruncated, aws.ToString(page.NextDNSName))
	}
	last, err := f.client.ListHostedZonesByName(ctx(t), &r53.ListHostedZonesByNameInput{DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId, MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(last.HostedZones) != 1 || aws.ToString(last.HostedZones[0].Name) != "example.com." || last.IsTruncated {
		t.Errorf("last page: %d zones, truncated %v", len(last.HostedZones), last.IsTruncated)
	}
}

func TestChangeCreateUpsertDelete(t *testing.T) {
	f := newFixture(t, Config{})
	name := "svc.us-east-1.amazonaws.com."
	out := f.mustChange(change("CREATE", rrs(name, "A", 60, "10.0.0.1", "10.0.0.2")))
	if out.ChangeInfo.Status != types.ChangeStatusInsync || !strings.HasPrefix(aws.ToString(out.ChangeInfo.Id), "/change/") {
		t.Fatalf("change info %+v", out.ChangeInfo)
	}
	if got := answerValues(query(t, f.srv.DNSAddr(), "udp", name, dns.TypeA)); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("after CREATE: %v", got)
	}
	if _, err := f.change(change("CREATE", rrs(name, "A", 60, "10.0.0.9"))); apiCode(err) != "InvalidChangeBatch" {
		t.Fatalf("CREATE of an existing set: %v", err)
	} else {
		var icb *types.InvalidChangeBatch
		if !errors.As(err, &icb) || !slices.Equal(icb.Messages, []string{"Tried to create resource record set [name='svc.us-east-1.amazonaws.com.', type='A'] but it already exists"}) {
			t.Fatalf("messages: %#v", icb)
		}
	}
	f.mustChange(change("UPSERT", rrs(name, "A", 30, "10.0.0.3")))
	r := query(t, f.srv.DNSAddr(), "tcp", name, dns.TypeA)
	if got := answerValues(r); !slices.Equal(got, []string{"10.0.0.3"}) || r.Answer[0].Header().Ttl != 30 {
		t.Fatalf("after UPSERT: %v", r.Answer)
	}
	f.mustChange(change("DELETE", rrs(name, "A", 30, "10.0.0.3")))
	if r := query(t, f.srv.DNSAddr(), "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("after DELETE: %v", r)
	}
	if sets := f.srv.Lookup(name, ""); len(sets) != 0 {
		t.Fatalf("after DELETE the store holds %v", sets)
	}
}

func TestDeleteMismatchFailsWholeBatch(t *testing.T) {
	f := newFixture(t, Config{})
	ep := "x.us-east-1.amazonaws.com."
	f.mustChange(change("CREATE", rrs(ep, "CNAME", 5, "plan-1.us-east-1.amazonaws.com.")),
		change("CREATE", rrs("plan-1.us-east-1.amazonaws.com.", "A", 5, "127.0.1.1")))

	cases := []struct {
		name string
		del  *types.ResourceRecordSet
		msg  string
	}{
		{"wrong TTL", rrs(ep, "CNAME", 60, "plan-1.us-east-1.amazonaws.com."),
			"Tried to delete resource record set [name='x.us-east-1.amazonaws.com.', type='CNAME'] but the values provided do not match the current values"},
		{"wrong value", rrs(ep, "CNAME", 5, "plan-0.us-east-1.amazonaws.com."),
			"Tried to delete resource record set [name='x.us-east-1.amazonaws.com.', type='CNAME'] but the values provided do not match the current values"},
		{"wrong type", rrs(ep, "A", 5, "127.0.0.1"),
			"Tried to delete resource record set [name='x.us-east-1.amazonaws.com.', type='A'] but it was not found"},
		{"set identifier", weighted(ep, "CNAME", "a", 1, 5, "plan-1.us-east-1.amazonaws.com."),
			"Tried to delete resource record set [name='x.us-east-1.amazonaws.com.', type='CNAME', set-identifier='a'] but it was not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.change(
				change("CREATE", rrs("new.us-east-1.amazonaws.com.", "A", 5, "127.0.1.2")),
				change("DELETE", tc.del),
				change("CREATE", rrs(ep+"", "TXT", 5, `"never"`)),
			)
			var icb *types.InvalidChangeBatch
			if !errors.As(err, &icb) {
				t.Fatalf("want InvalidChangeBatch, got %v", err)
			}
			if !slices.Contains(icb.Messages, tc.msg) {
				t.Fatalf("messages %q do not hold %q", icb.Messages, tc.msg)
			}
			if !strings.Contains(aws.ToString(icb.Message), tc.msg) {
				t.Errorf("message %q", aws.ToString(icb.Message))
			}
			// Nothing applied: not in the listing, not in DNS.
			for _, rs := range f.listAll(100) {
				if aws.ToString(rs.Name) == "new.us-east-1.amazonaws.com." || rs.Type == "TXT" {
					t.Fatalf("part of a failed batch applied: %s %s", aws.ToString(rs.Name), rs.Type)
				}
			}
			if r := query(t, f.srv.DNSAddr(), "udp", "new.us-east-1.amazonaws.com.", dns.TypeA); r.Rcode != dns.RcodeNameError {
				t.Fatalf("DNS answers a name of a failed batch: %v", r)
			}
			if got := answerValues(query(t, f.srv.DNSAddr(), "udp", ep, dns.TypeA)); !slices.Equal(got, []string{"CNAME plan-1.us-east-1.amazonaws.com.", "127.0.1.1"}) {
				t.Fatalf("endpoint changed: %v", got)
			}
		})
	}
	// The exact DELETE in the same batch as its replacement is Route53's swap.
	f.mustChange(change("DELETE", rrs(ep, "CNAME", 5, "plan-1.us-east-1.amazonaws.com.")),
		change("CREATE", rrs(ep, "CNAME", 5, "plan-2.us-east-1.amazonaws.com.")))
	if got := f.srv.Lookup(ep, "CNAME"); len(got) != 1 || got[0].Values[0] != "plan-2.us-east-1.amazonaws.com." {
		t.Fatalf("swap: %+v", got)
	}
}

func TestListPagingToTheEnd(t *testing.T) {
	f := newFixture(t, Config{})
	var changes []types.Change
	for i := range 40 {
		name := strings.Repeat("n", 1+i%5) + "-" + string(rune('a'+i%26)) + ".plans.us-east-1.amazonaws.com."
		changes = append(changes, change("UPSERT", weighted(name, "A", "lb-"+string(rune('a'+i/26)), 1, 5, "127.0.1.1")))
	}
	changes = append(changes,
		change("CREATE", rrs("plans-x.us-east-1.amazonaws.com.", "TXT", 5, `"x"`)),
		change("CREATE", rrs("plans.us-east-1.amazonaws.com.", "TXT", 5, `"y"`)),
		change("CREATE", rrs("plans.us-east-1.amazonaws.com.", "MX", 5, "10 mail.example.com.")),
	)
	f.mustChange(changes...)
	all := f.listAll(300)
	for _, max := range []int32{1, 3, 7} {
		paged := f.listAll(max)
		if len(paged) != len(all) {
			t.Fatalf("max %d: %d sets, want %d", max, len(paged), len(all))
		}
		for i := range paged {
			if aws.ToString(paged[i].Name) != aws.ToString(all[i].Name) || paged[i].Type != all[i].Type || aws.ToString(paged[i].SetIdentifier) != aws.ToString(all[i].SetIdentifier) {
				t.Fatalf("max %d: set %d differs", max, i)
			}
		}
	}
	if len(all) != 2+40+3 {
		t.Fatalf("%d sets, want 45", len(all))
	}
	// Route53's order: name with labels reversed (trailing dot included),
	// then type, then set identifier.
	key := func(rs types.ResourceRecordSet) string {
		return sortKey(aws.ToString(rs.Name)) + "\x00" + string(rs.Type) + "\x00" + aws.ToString(rs.SetIdentifier)
	}
	if !slices.IsSortedFunc(all, func(a, b types.ResourceRecordSet) int { return strings.Compare(key(a), key(b)) }) {
		t.Fatal("listing not in Route53's order")
	}
	// "plans-x" sorts before "plans" and its children: '-' is below '.'.
	idx := func(name string) int {
		return slices.IndexFunc(all, func(rs types.ResourceRecordSet) bool { return aws.ToString(rs.Name) == name })
	}
	if !(idx("plans-x.us-east-1.amazonaws.com.") < idx("plans.us-east-1.amazonaws.com.") && idx("plans.us-east-1.amazonaws.com.") < idx("n-a.plans.us-east-1.amazonaws.com.")) {
		t.Fatal("trailing-dot order not kept")
	}
	// The SDK's paginator reads the same Next* fields.
	p := r53.NewListResourceRecordSetsPaginator(f.client, &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(f.zoneID), MaxItems: aws.Int32(4)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.ResourceRecordSets)
	}
	if n != len(all) {
		t.Fatalf("paginator saw %d sets, want %d", n, len(all))
	}
	// Starting in the middle of a weighted group.
	out, err := f.client.ListResourceRecordSets(ctx(t), &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(f.zoneID),
		StartRecordName: all[10].Name, StartRecordType: all[10].Type, StartRecordIdentifier: all[10].SetIdentifier, MaxItems: aws.Int32(1)})
	if err != nil || key(out.ResourceRecordSets[0]) != key(all[10]) || key(types.ResourceRecordSet{Name: out.NextRecordName, Type: out.NextRecordType, SetIdentifier: out.NextRecordIdentifier}) != key(all[11]) {
		t.Fatalf("start in the middle: %v %+v", err, out)
	}
}

func TestGetChange(t *testing.T) {
	f := newFixture(t, Config{})
	out := f.mustChange(change("CREATE", rrs("a.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")))
	got, err := f.client.GetChange(ctx(t), &r53.GetChangeInput{Id: out.ChangeInfo.Id})
	if err != nil {
		t.Fatal(err)
	}
	if got.ChangeInfo.Status != types.ChangeStatusInsync || aws.ToString(got.ChangeInfo.Id) != aws.ToString(out.ChangeInfo.Id) {
		t.Fatalf("%+v", got.ChangeInfo)
	}
	waiter := r53.NewResourceRecordSetsChangedWaiter(f.client)
	if err := waiter.Wait(ctx(t), &r53.GetChangeInput{Id: out.ChangeInfo.Id}, 10e9); err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if _, err := f.client.GetChange(ctx(t), &r53.GetChangeInput{Id: aws.String("CNOSUCH")}); apiCode(err) != "NoSuchChange" {
		t.Fatalf("unknown change: %v", err)
	}
}

func TestInvalidRecordSets(t *testing.T) {
	f := newFixture(t, Config{MaxChangesPerBatch: 3})
	f.mustChange(change("CREATE", rrs("taken.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")),
		change("CREATE", rrs("cn.us-east-1.amazonaws.com.", "CNAME", 5, "taken.us-east-1.amazonaws.com.")),
		change("CREATE", weighted("w.us-east-1.amazonaws.com.", "A", "one", 1, 5, "127.0.0.1")))
	noTTL := rrs("a.us-east-1.amazonaws.com.", "A", 0, "127.0.0.1")
	noTTL.TTL = nil
	alias := &types.ResourceRecordSet{Name: aws.String("al.us-east-1.amazonaws.com."), Type: "A",
		AliasTarget: &types.AliasTarget{DNSName: aws.String("nothing.us-east-1.amazonaws.com."), HostedZoneId: aws.String(f.zoneID)}}
	setNoWeight := rrs("w2.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")
	setNoWeight.SetIdentifier = aws.String("x")
	cases := []struct {
		name    string
		changes []types.Change
		code    string
		msg     string
	}{
		{"outside the zone", []types.Change{change("CREATE", rrs("a.example.com.", "A", 5, "127.0.0.1"))}, "InvalidChangeBatch",
			"RRSet with DNS name a.example.com. is not permitted in zone us-east-1.amazonaws.com."},
		{"CNAME beside A", []types.Change{change("CREATE", rrs("taken.us-east-1.amazonaws.com.", "CNAME", 5, "x.example.com."))}, "InvalidChangeBatch",
			"RRSet of type CNAME with DNS name taken.us-east-1.amazonaws.com. is not permitted as it conflicts with other records with the same DNS name in zone us-east-1.amazonaws.com."},
		{"A beside CNAME", []types.Change{change("CREATE", rrs("cn.us-east-1.amazonaws.com.", "TXT", 5, `"x"`))}, "InvalidChangeBatch",
			"RRSet of type TXT with DNS name cn.us-east-1.amazonaws.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone us-east-1.amazonaws.com."},
		{"CNAME at apex", []types.Change{change("CREATE", rrs(testZone, "CNAME", 5, "x.example.com."))}, "InvalidChangeBatch", "not permitted at apex"},
		{"missing TTL", []types.Change{change("CREATE", noTTL)}, "InvalidInput", "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]"},
		{"TTL below 0", []types.Change{change("CREATE", rrs("a.us-east-1.amazonaws.com.", "A", -1, "127.0.0.1"))}, "InvalidInput", "tTL' failed to satisfy constraint"},
		{"TTL too big", []types.Change{change("CREATE", rrs("a.us-east-1.amazonaws.com.", "A", 1<<31, "127.0.0.1"))}, "InvalidInput", "tTL' failed to satisfy constraint"},
		{"weight above 255", []types.Change{change("CREATE", weighted("w.us-east-1.amazonaws.com.", "A", "two", 256, 5, "127.0.0.2"))}, "InvalidInput", "Member must have value less than or equal to 255"},
		{"weight below 0", []types.Change{change("CREATE", weighted("w.us-east-1.amazonaws.com.", "A", "two", -1, 5, "127.0.0.2"))}, "InvalidInput", "greater than or equal to 0"},
		{"set identifier without weight", []types.Change{change("CREATE", setNoWeight)}, "InvalidInput", "Expected exactly one of [Weight"},
		{"weighted beside simple", []types.Change{change("CREATE", weighted("taken.us-east-1.amazonaws.com.", "A", "x", 1, 5, "127.0.0.2"))}, "InvalidChangeBatch", "cannot be created as a non-weighted set exists"},
		{"simple beside weighted", []types.Change{change("CREATE", rrs("w.us-east-1.amazonaws.com.", "A", 5, "127.0.0.2"))}, "InvalidChangeBatch", "cannot be created as weighted sets exist"},
		{"bad IPv4", []types.Change{change("CREATE", rrs("b.us-east-1.amazonaws.com.", "A", 5, "1.2.3"))}, "InvalidChangeBatch", "ARRDATAIllegalIPv4Address"},
		{"duplicate value", []types.Change{change("CREATE", rrs("b.us-east-1.amazonaws.com.", "A", 5, "1.2.3.4", "1.2.3.4"))}, "InvalidChangeBatch", "Duplicate Resource Record: '1.2.3.4'"},
		{"alias to nothing", []types.Change{change("CREATE", alias)}, "InvalidChangeBatch", "but that target was not found"},
		{"bad name", []types.Change{change("CREATE", rrs("a..us-east-1.amazonaws.com.", "A", 5, "127.0.0.1"))}, "InvalidChangeBatch", "DomainNameInvalid"},
		{"too many changes", []types.Change{
			change("CREATE", rrs("a1.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")), change("CREATE", rrs("a2.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")),
			change("CREATE", rrs("a3.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")), change("CREATE", rrs("a4.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1"))},
			"InvalidChangeBatch", "Number of records limit of 3 exceeded."},
		{"delete apex SOA", []types.Change{change("DELETE", f.srv.sdkSet(testZone, "SOA"))}, "InvalidChangeBatch", "exactly one SOA record"},
	}
	before := f.srv.store.Records()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.change(tc.changes...)
			if apiCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
	if after := f.srv.store.Records(); after != before {
		t.Fatalf("failed batches changed the store: %d -> %d record sets", before, after)
	}
}

// sdkSet returns the stored set at (name, typ) in the SDK's shape.
func (s *Server) sdkSet(name, typ string) *types.ResourceRecordSet {
	sets := s.Lookup(name, typ)
	if len(sets) == 0 {
		return nil
	}
	return rrs(sets[0].Name, sets[0].Type, *sets[0].TTL, sets[0].Values...)
}

// rawCall sends a request with an Authorization header unless noAuth.
func rawCall(t *testing.T, method, url, body string, noAuth bool) (int, xmlErrorResponse) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !noAuth {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20251020/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e xmlErrorResponse
	if err := xml.Unmarshal(raw, &e); err != nil {
		t.Fatalf("%s %s: status %d, body not an ErrorResponse: %v\n%s", method, url, resp.StatusCode, err, raw)
	}
	if e.RequestID == "" || e.Error.Type == "" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("error shape incomplete: %s", raw)
	}
	return resp.StatusCode, e
}

func TestBadInputGetsRoute53Errors(t *testing.T) {
	f := newFixture(t, Config{MaxBodyBytes: 4096})
	base := f.srv.APIURL() + "/2013-04-01/"
	rrset := base + "hostedzone/" + f.zoneID + "/rrset"
	cases := []struct {
		name, method, url, body string
		noAuth                  bool
		status                  int
		code                    string
	}{
		{"no authorization", "GET", base + "hostedzone", "", true, 403, "MissingAuthenticationToken"},
		{"malformed XML", "POST", rrset, "<ChangeResourceRecordSetsRequest><ChangeBatch>", false, 400, "InvalidInput"},
		{"wrong root element", "POST", rrset, "<Hello/>", false, 400, "InvalidInput"},
		{"no changes element", "POST", rrset, "<ChangeResourceRecordSetsRequest><ChangeBatch></ChangeBatch></ChangeResourceRecordSetsRequest>", false, 400, "InvalidInput"},
		{"bad TTL number", "POST", rrset, `<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.us-east-1.amazonaws.com</Name><Type>A</Type><TTL>x</TTL></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`, false, 400, "InvalidInput"},
		{"unknown action", "POST", rrset, `<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>MOVE</Action><ResourceRecordSet><Name>a.us-east-1.amazonaws.com</Name><Type>A</Type><TTL>5</TTL><ResourceRecords><ResourceRecord><Value>1.1.1.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`, false, 400, "InvalidInput"},
		{"unknown type", "POST", rrset, `<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.us-east-1.amazonaws.com</Name><Type>BOGUS</Type><TTL>5</TTL><ResourceRecords><ResourceRecord><Value>1.1.1.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`, false, 400, "InvalidInput"},
		{"oversized body", "POST", rrset, "<ChangeResourceRecordSetsRequest>" + strings.Repeat(" ", 5000), false, 413, "RequestEntityTooLarge"},
		{"unknown path", "GET", base + "healthcheck", "", false, 404, "UnknownOperationException"},
		{"outside the API", "GET", f.srv.APIURL() + "/", "", false, 404, "UnknownOperationException"},
		{"wrong method", "DELETE", rrset, "", false, 405, "MethodNotAllowed"},
		{"unknown zone", "GET", base + "hostedzone/ZNOPE/rrset", "", false, 404, "NoSuchHostedZone"},
		{"bad maxitems", "GET", rrset + "?maxitems=-3", "", false, 400, "InvalidInput"},
		{"type without name", "GET", rrset + "?type=A", "", false, 400, "InvalidInput"},
		{"malformed create zone", "POST", base + "hostedzone", "<CreateHostedZoneRequest><Name>", false, 400, "InvalidInput"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, e := rawCall(t, tc.method, tc.url, tc.body, tc.noAuth)
			if status != tc.status || e.Error.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", status, e.Error.Code, e.Error.Message, tc.status, tc.code)
			}
		})
	}
	// Still serving.
	if _, err := f.client.ListHostedZones(ctx(t), &r53.ListHostedZonesInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestAPIErrorFailpoint(t *testing.T) {
	f := newFixture(t, Config{})
	fp := f.env.Name + "/api-error"
	for _, tc := range []struct{ value, code string }{{"Throttling", "Throttling"}, {"boom", "InternalError"}, {"PriorRequestNotComplete", "PriorRequestNotComplete"}} {
		if err := f.env.Failpoints.Enable(fp, "1*return("+tc.value+")"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.change(change("UPSERT", rrs("a.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1"))); apiCode(err) != tc.code {
			t.Fatalf("return(%s): %v", tc.value, err)
		}
	}
	if _, err := f.change(change("UPSERT", rrs("a.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1"))); err != nil {
		t.Fatalf("after the failpoint's count ran out: %v", err)
	}
}
