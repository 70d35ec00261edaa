package nlbclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestFractionIsTheHealthyInServiceShare reads the NLB's wire shape: a
// third of the in-service targets unreachable is two thirds of the fleet;
// nothing in service is the whole fleet; an NLB that errors is an error,
// never a silent full capacity.
func TestFractionIsTheHealthyInServiceShare(t *testing.T) {
	body := `{"mode":"aswas","inService":6,"healthyCapacity":4,"azsInDNS":["use1-az1","use1-az2"]}`
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/state" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := New(srv.URL, nil)
	f, err := c.Fraction(context.Background())
	if err != nil || f < 0.666 || f > 0.667 {
		t.Errorf("4 of 6: %v, %v", f, err)
	}
	body = `{"inService":0,"healthyCapacity":0}`
	if f, err := c.Fraction(context.Background()); err != nil || f != 1 {
		t.Errorf("none in service: %v, %v", f, err)
	}
	status, body = http.StatusInternalServerError, `{"__type":"InternalError","message":"boom"}`
	if f, err := c.Fraction(context.Background()); err == nil {
		t.Errorf("NLB error read as %v", f)
	}
	if Share(State{InService: 3, HealthyCapacity: 5}) != 1 {
		t.Error("share above 1")
	}
}
