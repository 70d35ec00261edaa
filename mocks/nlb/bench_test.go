package nlb

import (
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// BenchmarkCoreTick measures one 15 s tick of an NLB with 300 targets,
// every check answered.
func BenchmarkCoreTick(b *testing.B) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, _ := NewCore(CoreConfig{CheckCapacity: 400}, clock, nil)
	for i := range 300 {
		_ = c.RegisterTarget(fmt.Sprintf("i-%d", i), c.Config().AZs[i%3])
	}
	b.ResetTimer()
	for i := range b.N {
		clock.Advance(15 * time.Second)
		r := c.Tick(clock.Now())
		for j, ch := range r.Checks {
			c.Result(ch, (i+j)%7 != 0)
		}
	}
}

// BenchmarkScenario replays 2:00-14:30 of the coupled netmgr+nlb scenario.
func BenchmarkScenario(b *testing.B) {
	for range b.N {
		defaultScenario(kit.AsWas).run(b)
	}
}
