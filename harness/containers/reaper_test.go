package containers

import (
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness/containers/reaper"
)

func TestReaperGraceReadsTheEnvironment(t *testing.T) {
	t.Setenv(ReaperGraceEnv, "")
	if d, err := reaperGrace(); err != nil || d != reaper.DefaultGrace {
		t.Fatalf("unset: %v, %v; want the default %v", d, err, reaper.DefaultGrace)
	}
	t.Setenv(ReaperGraceEnv, "3s")
	if d, err := reaperGrace(); err != nil || d != 3*time.Second {
		t.Fatalf("3s: %v, %v", d, err)
	}
	for _, bad := range []string{"10", "-1s", "0s", "soon"} {
		t.Setenv(ReaperGraceEnv, bad)
		if _, err := reaperGrace(); err == nil {
			t.Errorf("%s=%q accepted", ReaperGraceEnv, bad)
		}
	}
}
