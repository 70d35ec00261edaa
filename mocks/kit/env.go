package kit

import (
	"io"
	"math/rand"

	"github.com/prometheus/client_golang/prometheus"
)

// Env is what a service instance is given besides its Config: its name, the
// incident clock, its event stream, its failpoints, its metrics registry and
// its source of randomness. One Env per instance keeps two instances in one
// process (three enactors, three DWFM hosts) apart.
type Env struct {
	Name       string
	Clock      Clock
	Events     *Events
	Failpoints *Failpoints
	Metrics    *prometheus.Registry
	Rand       *rand.Rand
}

// NewEnv builds an Env for the instance name; events are written to out as
// JSON lines (nil discards them) and randomness comes from seed.
func NewEnv(name string, clock Clock, out io.Writer, seed int64) *Env {
	return &Env{
		Name:       name,
		Clock:      clock,
		Events:     NewEvents(name, clock, out),
		Failpoints: NewFailpoints(clock, rand.New(rand.NewSource(seed))),
		Metrics:    prometheus.NewRegistry(),
		Rand:       rand.New(rand.NewSource(seed + 1)),
	}
}
