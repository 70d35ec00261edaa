package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// BackendEnv is the environment variable choosing the backend when no
// WithBackend option is given.
const BackendEnv = "CASCADE_BACKEND"

// DefaultBackend is the backend used when neither WithBackend nor
// CASCADE_BACKEND names one.
const DefaultBackend = "embedded"

// BackendFunc starts a stack. On error it releases whatever it started; it
// may return a non-nil Stack with the error, which Start then closes.
type BackendFunc func(ctx context.Context, o Options) (Stack, error)

var (
	backendsMu sync.Mutex
	backends   = map[string]BackendFunc{}
)

// RegisterBackend makes a backend available by name; backends call it from
// their package's init. Registering a name twice panics (programmer error).
func RegisterBackend(name string, f BackendFunc) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if _, dup := backends[name]; dup {
		panic("harness: backend " + name + " registered twice")
	}
	backends[name] = f
}

// Backends lists the registered backends, sorted.
func Backends() []string {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnknownBackend is returned for a backend name that is not registered.
var ErrUnknownBackend = errors.New("unknown backend")

// Start starts a stack on the backend chosen by WithBackend, else by
// CASCADE_BACKEND, else the embedded one. The backend's package must be
// imported (for its init) by the program. On error nothing is left running.
func Start(ctx context.Context, opts ...Option) (Stack, error) {
	o, err := NewOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("start stack: %w", err)
	}
	if o.Backend == "" {
		o.Backend = os.Getenv(BackendEnv)
	}
	if o.Backend == "" {
		o.Backend = DefaultBackend
	}
	backendsMu.Lock()
	f, ok := backends[o.Backend]
	backendsMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("start stack: %w %q: valid backends are %s (import its package, e.g. harness/%s)",
			ErrUnknownBackend, o.Backend, strings.Join(Backends(), ", "), o.Backend)
	}
	s, err := f(ctx, o)
	if err != nil {
		if s != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("start %s stack: %w", o.Backend, err)
	}
	return s, nil
}
