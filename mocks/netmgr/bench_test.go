package netmgr

import (
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// BenchmarkCoreTick measures one 15 s tick with 1000 instances in flight
// behind a bulk backlog.
func BenchmarkCoreTick(b *testing.B) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, _ := NewCore(CoreConfig{RatePerMinute: 6000}, clock, nil)
	_, _ = c.AddWork("droplet-relet", 100000)
	for i := range 1000 {
		_, _ = c.RegisterInstance(fmt.Sprintf("i-%d", i), "use1-az1")
	}
	b.ResetTimer()
	for range b.N {
		clock.Advance(15 * time.Second)
		c.Tick(clock.Now())
		if c.Stats().Depth < 2000 {
			_, _ = c.AddWork("droplet-relet", 100000)
		}
	}
}
