package nlb

import (
	"fmt"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
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

// TestCoreImportsOnlyStdlibAndKit keeps the mechanism free of I/O packages.
func TestCoreImportsOnlyStdlibAndKit(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "core.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if (strings.Contains(p, ".") && p != "github.com/cascade-lab/cascade/mocks/kit") || p == "net" || p == "net/http" || p == "os" {
			t.Errorf("core.go imports %s", p)
		}
	}
}
