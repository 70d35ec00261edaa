package containers

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/harness/containers/reaper"
)

// Environment variables of the reaper every containers run starts (see
// harness/containers/reaper and docs/cleanup.md).
const (
	// ReaperEnv set to "off" starts runs without a reaper: a killed run's
	// containers then stay until a later run's start or `cascade clean`.
	ReaperEnv = "CASCADE_REAPER"
	// ReaperGraceEnv sets how long a run may be without its owner process
	// before its reaper removes it (a Go duration; default 10s).
	ReaperGraceEnv = "CASCADE_REAPER_GRACE"
)

// reaperService is the cascade.service label of a run's reaper.
const reaperService = "reaper"

// reaperGrace reads CASCADE_REAPER_GRACE.
func reaperGrace() (time.Duration, error) {
	v := os.Getenv(ReaperGraceEnv)
	if v == "" {
		return reaper.DefaultGrace, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive Go duration such as 10s", ReaperGraceEnv, v)
	}
	return d, nil
}

// reaperEvent is what startReaper tells the stack's event stream.
type reaperEvent struct {
	kind   string
	fields map[string]any
}

// startReaper starts the run's reaper (mockaws reaper, labelled with the
// run) and holds this process's connection to it; the stack's Close lets
// go of it. On error it returns the half-started reaper, if any, so the
// caller can remove its container.
func startReaper(ctx context.Context, cli *engine.Client, image, name, run string, labels map[string]string) (*reaper.Reaper, reaperEvent, error) {
	if os.Getenv(ReaperEnv) == "off" {
		return nil, reaperEvent{"reaper-off", map[string]any{"env": ReaperEnv + "=off"}}, nil
	}
	grace, err := reaperGrace()
	if err != nil {
		return nil, reaperEvent{}, err
	}
	l := map[string]string{engine.LabelService: reaperService}
	for k, v := range labels {
		l[k] = v
	}
	r, err := reaper.Start(ctx, cli, image, engine.LabelRun+"="+run,
		reaper.WithName(name+"-reaper"), reaper.WithLabels(l), reaper.WithGrace(grace),
		reaper.WithDockerSocket(testcontainers.MustExtractDockerSocket(ctx)))
	if err != nil {
		return r, reaperEvent{}, fmt.Errorf("%w (%s=off runs without it)", err, ReaperEnv)
	}
	return r, reaperEvent{"reaper-started", map[string]any{"addr": r.Addr, "grace": grace.String()}}, nil
}
