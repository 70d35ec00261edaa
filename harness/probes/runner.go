package probes

import (
	"context"
	"sync"
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Runner samples probes on a period of incident time, concurrently, and
// gives every sample to its sink stamped with the incident time at which it
// started.
type Runner struct {
	clock  kit.Clock
	period time.Duration
	probes []Probe
	sink   func(...timeline.Sample)

	mu     sync.Mutex
	recent map[string][]timeline.Sample

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// NewRunner returns a runner of probes every period (incident time) on
// clock; sink may be nil (samples are still kept for Recent and Last).
func NewRunner(clock kit.Clock, period time.Duration, sink func(...timeline.Sample), probes ...Probe) *Runner {
	if period <= 0 {
		period = 10 * time.Second
	}
	return &Runner{clock: clock, period: period, probes: probes, sink: sink, recent: map[string][]timeline.Sample{}}
}

// Start samples at once and then every period until ctx ends or Stop.
func (r *Runner) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		t := r.clock.NewTicker(r.period)
		defer t.Stop()
		for {
			r.SampleOnce(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.Chan():
			}
		}
	}()
}

// Stop ends sampling and waits for the samples in flight.
func (r *Runner) Stop() {
	r.once.Do(func() {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
	})
}

// SampleOnce runs every probe once, concurrently, and returns the samples.
func (r *Runner) SampleOnce(ctx context.Context) []timeline.Sample {
	now := r.clock.Now()
	out := make([]timeline.Sample, len(r.probes))
	var wg sync.WaitGroup
	for i, p := range r.probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
			defer cancel()
			s := p.Sample(pctx)
			s.Time, s.Probe = now, p.Name()
			out[i] = s
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil // samples cut short by the end of the run are not measurements
	}
	r.mu.Lock()
	for _, s := range out {
		h := append(r.recent[s.Probe], s)
		if len(h) > 512 {
			h = h[len(h)-256:]
		}
		r.recent[s.Probe] = h
	}
	r.mu.Unlock()
	if r.sink != nil {
		r.sink(out...)
	}
	return out
}

// Last is the newest sample of probe.
func (r *Runner) Last(probe string) (timeline.Sample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.recent[probe]
	if len(h) == 0 {
		return timeline.Sample{}, false
	}
	return h[len(h)-1], true
}

// Recent returns the retained samples of probe, oldest first.
func (r *Runner) Recent(probe string) []timeline.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]timeline.Sample(nil), r.recent[probe]...)
}
