package containers

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestEventSinkParsesLinesAndDropsReplays(t *testing.T) {
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, 30)
	hub := kit.NewEvents("stack", clock, nil)
	ch, stop := hub.Subscribe(16)
	defer stop()
	sink := &eventSink{instance: "dwfm-a", hub: hub}
	line := func(min int, kind string) string {
		return fmt.Sprintf(`{"time":"%s","service":"dwfm-a","kind":"%s"}`+"\n", kit.IncidentStart.Add(time.Duration(min)*time.Minute).Format(time.RFC3339Nano), kind)
	}
	// A line split across writes, a non-event line, then a restart's replay.
	l1 := line(1, "started")
	_, _ = sink.Write([]byte(l1[:10]))
	_, _ = sink.Write([]byte(l1[10:] + "mockaws: boom\n" + line(2, "lease-expired")))
	_, _ = sink.Write([]byte(line(1, "started") + line(2, "lease-expired") + line(3, "started")))
	var kinds []string
	for len(ch) > 0 {
		kinds = append(kinds, (<-ch).Kind)
	}
	if want := []string{"started", "lease-expired", "started"}; !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	if sink.Tail() != "mockaws: boom" {
		t.Fatalf("tail %q", sink.Tail())
	}
}

func TestParseEventRejectsNonEvents(t *testing.T) {
	for _, in := range []string{"", "plain text", `{"kind":"x"}`, `{"time":"2025-10-20T06:30:00Z","service":"a"}`, `{broken`} {
		if _, ok := ParseEvent([]byte(in)); ok {
			t.Errorf("ParseEvent(%q) accepted", in)
		}
	}
}

// TestToxiRouterMergesServers serves the router over two real toxiproxy
// API servers: the links' one and a load balancer's.
func TestToxiRouterMergesServers(t *testing.T) {
	newServer := func() (*toxiproxy.ApiServer, *httptest.Server) {
		s := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
		return s, httptest.NewServer(s.Routes())
	}
	mainAPI, mainHTTP := newServer()
	defer mainHTTP.Close()
	lbAPI, lbHTTP := newServer()
	defer lbHTTP.Close()
	if err := mainAPI.Collection.Add(toxiproxy.NewProxy(mainAPI, "a__b", "127.0.0.1:0", "127.0.0.1:1"), true); err != nil {
		t.Fatal(err)
	}
	defer mainAPI.Collection.Clear()
	if err := lbAPI.Collection.Add(toxiproxy.NewProxy(lbAPI, "ddb-lb-a", "127.0.0.1:0", "127.0.0.1:1"), true); err != nil {
		t.Fatal(err)
	}
	defer lbAPI.Collection.Clear()
	r, err := newToxiRouter(mainHTTP.URL, map[string]string{"ddb-lb-a": lbHTTP.URL})
	if err != nil {
		t.Fatal(err)
	}
	router := httptest.NewServer(r)
	defer router.Close()
	c := toxiclient.NewClient(router.URL)
	ps, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps["a__b"] == nil || ps["ddb-lb-a"] == nil {
		t.Fatalf("merged proxies %v", ps)
	}
	if _, err := c.AddToxic(&toxiclient.ToxicOptions{ProxyName: "ddb-lb-a", ToxicName: "slow", ToxicType: "latency", Stream: "downstream", Toxicity: 1, Attributes: toxiclient.Attributes{"latency": 100}}); err != nil {
		t.Fatal(err)
	}
	if got := lbAPI.Collection.Proxies()["ddb-lb-a"].Toxics.GetToxicArray(); len(got) != 1 {
		t.Fatalf("the toxic did not reach the load balancer's server: %v", got)
	}
	if err := c.ResetState(); err != nil {
		t.Fatal(err)
	}
	if got := lbAPI.Collection.Proxies()["ddb-lb-a"].Toxics.GetToxicArray(); len(got) != 0 {
		t.Fatalf("reset did not reach the load balancer's server: %v", got)
	}
}
