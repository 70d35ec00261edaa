package kit

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Event is one thing a service did or saw, written as a JSON line. Time is
// incident time. The same lines reach the timeline from every backend:
// in-process subscribers (embedded), container logs (containers) and
// `docker compose logs` (game-days).
type Event struct {
	Time    time.Time      `json:"time"`
	Service string         `json:"service"`
	Kind    string         `json:"kind"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// Events is a service's event stream: it stamps events with the clock, writes
// them as JSON lines, keeps the most recent ones for /events and fans them out
// to subscribers. Safe for concurrent use.
type Events struct {
	service string
	clock   Clock

	mu      sync.Mutex
	hook    func(Event)
	out     io.Writer
	recent  []Event
	keep    int
	subs    map[chan Event]struct{}
	dropped uint64
}

// NewEvents returns the event stream of service. out may be nil.
func NewEvents(service string, clock Clock, out io.Writer) *Events {
	return &Events{service: service, clock: clock, out: out, keep: 4096, subs: map[chan Event]struct{}{}}
}

// Service is the name events are stamped with.
func (e *Events) Service() string { return e.service }

// Emit records an event of kind with alternating key/value fields.
func (e *Events) Emit(kind string, kv ...any) {
	if e == nil {
		return
	}
	var fields map[string]any
	if len(kv) > 0 {
		fields = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			fields[k] = kv[i+1]
		}
	}
	e.Publish(Event{Time: e.clock.Now(), Service: e.service, Kind: kind, Fields: fields})
}

// Publish records a complete event (used to relay events of another process).
func (e *Events) Publish(ev Event) {
	e.mu.Lock()
	hook := e.hook
	e.publish(ev)
	e.mu.Unlock()
	if hook != nil {
		hook(ev)
	}
}

// SetHook calls fn with every event published from now on, synchronously in
// the publisher's goroutine after the event is recorded (nil: none). The
// simulation backend uses it: there an event is part of the run.
func (e *Events) SetHook(fn func(Event)) {
	e.mu.Lock()
	e.hook = fn
	e.mu.Unlock()
}

func (e *Events) publish(ev Event) {
	if e.out != nil {
		line, err := json.Marshal(ev)
		if err == nil {
			_, _ = e.out.Write(append(line, '\n'))
		}
	}
	e.recent = append(e.recent, ev)
	if len(e.recent) > e.keep {
		e.recent = append(e.recent[:0:0], e.recent[len(e.recent)-e.keep/2:]...)
	}
	for ch := range e.subs {
		select {
		case ch <- ev:
		default:
			e.dropped++ // a slow subscriber loses events rather than stalling the service
		}
	}
}

// Recent returns the retained events, oldest first.
func (e *Events) Recent() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.recent...)
}

// Subscribe returns a channel of events emitted from now on and a function
// that ends the subscription.
func (e *Events) Subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	e.mu.Lock()
	e.subs[ch] = struct{}{}
	e.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			e.mu.Lock()
			delete(e.subs, ch)
			e.mu.Unlock()
			close(ch)
		})
	}
}
