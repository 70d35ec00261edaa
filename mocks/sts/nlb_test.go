package sts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// nopStore never reads: the test is about the fleet, not the principals.
type nopStore struct{}

func (nopStore) Get(context.Context, string) (Record, bool, error) { return Record{}, false, nil }
func (nopStore) Put(context.Context, Record) error                 { return nil }

// TestFleetFollowsTheNLBsHealthyShare: with NLBAdmin set, STS's healthy
// hosts are Hosts times the NLB's healthy in-service share, read at start
// and every CapacityRefresh of incident time; a failed read keeps the last
// share (the fleet did not change because STS could not look).
func TestFleetFollowsTheNLBsHealthyShare(t *testing.T) {
	var healthy atomic.Int64
	healthy.Store(6)
	var fail atomic.Bool
	var refused atomic.Int64 // reads answered with an error
	nlb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			refused.Add(1)
			http.Error(w, `{"__type":"InternalError","message":"down"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"inService":6,"healthyCapacity":` + strconv.FormatInt(healthy.Load(), 10) + `}`))
	}))
	defer nlb.Close()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	s, err := New(Config{Store: nopStore{}, NLBAdmin: nlb.URL, Hosts: 6}, kit.NewEnv("sts", clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := gomega.NewWithT(t)
	waitHealthy := func(want int) {
		t.Helper()
		// Each poll moves incident time by one refresh: the watcher reads
		// the NLB at its next tick.
		g.Eventually(func() []int {
			clock.Advance(10 * time.Second)
			h, total := s.nlb.Healthy()
			return []int{h, total}
		}).WithTimeout(5 * time.Second).WithPolling(5 * time.Millisecond).Should(gomega.Equal([]int{want, 6}))
	}
	waitHealthy(6)
	healthy.Store(2) // a third of the NLB's targets reachable
	waitHealthy(2)
	fail.Store(true)
	g.Eventually(func() int64 {
		clock.Advance(10 * time.Second)
		return refused.Load()
	}).WithTimeout(5 * time.Second).WithPolling(5 * time.Millisecond).Should(gomega.BeNumerically(">=", 2))
	if h, _ := s.nlb.Healthy(); h != 2 {
		t.Errorf("an unreadable NLB changed the fleet to %d", h)
	}
	fail.Store(false)
	healthy.Store(0)
	waitHealthy(0)
	if err := s.core.Admit(); err == nil {
		t.Error("no healthy host admitted a request")
	}
}
