package containers

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// eventSink turns one container's log stream into events of the stack's
// stream: each stdout line that decodes as a kit.Event (the services write
// their events as JSON lines) is published; anything else (a panic, a
// flag error) is kept as the container's last output for error messages.
//
// A restarted container's log stream is read again from its beginning, so
// the sink drops events not newer than the last one it published: the
// containers share one incident clock, whose times only grow.
type eventSink struct {
	instance string
	hub      *kit.Events

	mu      sync.Mutex
	partial []byte
	last    time.Time
	tail    [][]byte // last lines that were not events
}

var _ testcontainers.LogConsumer = (*eventSink)(nil)

// Accept is testcontainers' log consumer callback.
func (s *eventSink) Accept(l testcontainers.Log) { s.Write(l.Content) }

// Write consumes raw log bytes (any split into lines).
func (s *eventSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 1<<20 { // a runaway line without newline
		s.partial = s.partial[:0]
	}
	return len(p), nil
}

func (s *eventSink) line(b []byte) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return
	}
	ev, ok := ParseEvent(b)
	if !ok {
		s.tail = append(s.tail, append([]byte(nil), b...))
		if len(s.tail) > 20 {
			s.tail = s.tail[1:]
		}
		return
	}
	if !ev.Time.After(s.last) {
		return // replayed after a restart
	}
	s.last = ev.Time
	s.hub.Publish(ev)
}

// Tail returns the last non-event lines the container wrote.
func (s *eventSink) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.tail, []byte("\n")))
}

// ParseEvent decodes one JSON event line as the services write them; ok is
// false for anything else.
func ParseEvent(line []byte) (kit.Event, bool) {
	if len(line) == 0 || line[0] != '{' {
		return kit.Event{}, false
	}
	var ev kit.Event
	if err := json.Unmarshal(line, &ev); err != nil || ev.Kind == "" || ev.Service == "" || ev.Time.IsZero() {
		return kit.Event{}, false
	}
	return ev, true
}
