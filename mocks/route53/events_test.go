package route53

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
)

func TestEventsAndMetrics(t *testing.T) {
	f := newFixture(t, Config{})
	out := f.mustChange(change("CREATE", rrs("a.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1")), change("CREATE", rrs("b.us-east-1.amazonaws.com.", "A", 5, "127.0.0.2")))
	if _, err := f.change(change("DELETE", rrs("zz.us-east-1.amazonaws.com.", "A", 5, "127.0.0.1"))); err == nil {
		t.Fatal("delete of a missing set accepted")
	}
	query(t, f.srv.DNSAddr(), "udp", "a.us-east-1.amazonaws.com.", dns.TypeA)
	query(t, f.srv.DNSAddr(), "udp", "nope.us-east-1.amazonaws.com.", dns.TypeA)
	query(t, f.srv.DNSAddr(), "udp", "example.org.", dns.TypeA)

	var applied, rejected bool
	for _, ev := range f.env.Events.Recent() {
		switch ev.Kind {
		case "change-applied":
			names, _ := ev.Fields["names"].([]string)
			applied = "/change/"+ev.Fields["change"].(string) == *out.ChangeInfo.Id && ev.Fields["changes"] == 2 && len(names) == 2 && names[0] == "a.us-east-1.amazonaws.com."
		case "change-rejected":
			msg, _ := ev.Fields["message"].(string)
			rejected = ev.Fields["code"] == "InvalidChangeBatch" && strings.Contains(msg, "zz.us-east-1.amazonaws.com.")
		}
	}
	if !applied || !rejected {
		t.Fatalf("events applied=%v rejected=%v: %+v", applied, rejected, f.env.Events.Recent())
	}

	families, err := f.env.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "|" + l.GetValue()
			}
			got[key] = value(m)
		}
	}
	for key, want := range map[string]float64{
		"cascade_route53_dns_queries_total|NOERROR":                                      1,
		"cascade_route53_dns_queries_total|NXDOMAIN":                                     1,
		"cascade_route53_dns_queries_total|REFUSED":                                      1,
		"cascade_route53_api_requests_total|ChangeResourceRecordSets|ok":                 1,
		"cascade_route53_api_requests_total|ChangeResourceRecordSets|InvalidChangeBatch": 1,
		"cascade_route53_record_sets":                                                    2*2 + 2,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}

func value(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}
