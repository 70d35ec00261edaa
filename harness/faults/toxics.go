package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
)

// ToxicPrefix starts the name of every toxic the harness adds, so Sweep can
// tell them apart (it removes every toxic, but reports these as ours).
const ToxicPrefix = "cascade-"

// Toxic is a toxiproxy toxic on one link. Toxic durations are wall time:
// they act on the network, which incident time does not scale.
type Toxic struct {
	Link       string
	Type       string // latency, timeout, reset_peer, bandwidth, slicer, slow_close, limit_data
	Stream     string // downstream (default) or upstream
	Toxicity   float32
	Attributes map[string]any

	simUndo func() // the sim's undo while applied there
}

// ToxicName is the toxic's name on its proxy: one toxic per type and stream.
func (t *Toxic) ToxicName() string {
	return ToxicPrefix + t.Type + "-" + t.stream()
}

func (t *Toxic) stream() string {
	if t.Stream == "" {
		return "downstream"
	}
	return t.Stream
}

// Apply adds the toxic.
func (t *Toxic) Apply(ctx context.Context, s harness.Stack) error {
	if _, err := harness.FindLink(s.Links(), t.Link); err != nil {
		return err
	}
	tox := t.Toxicity
	if tox == 0 {
		tox = 1
	}
	_, err := s.Toxiproxy().AddToxic(&toxiclient.ToxicOptions{
		ProxyName: t.Link, ToxicName: t.ToxicName(), ToxicType: t.Type, Stream: t.stream(),
		Toxicity: tox, Attributes: toxiclient.Attributes(t.Attributes),
	})
	if err != nil {
		return fmt.Errorf("toxic %s on %s: %w", t.Type, t.Link, err)
	}
	return nil
}

// Revert removes the toxic; a toxic already gone is not an error.
func (t *Toxic) Revert(ctx context.Context, s harness.Stack) error {
	err := s.Toxiproxy().RemoveToxic(&toxiclient.ToxicOptions{ProxyName: t.Link, ToxicName: t.ToxicName()})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove toxic %s from %s: %w", t.Type, t.Link, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var apiErr *toxiclient.ApiError
	return (errors.As(err, &apiErr) && apiErr.Status == 404) || strings.Contains(err.Error(), "not found")
}

// Describe is the ledger entry.
func (t *Toxic) Describe() timeline.Fault {
	var attrs []string
	for k, v := range t.Attributes {
		attrs = append(attrs, fmt.Sprintf("%s=%v", k, v))
	}
	return timeline.Fault{Kind: KindToxic, Name: t.Type, Target: t.Link, Detail: strings.Join(append([]string{t.stream()}, attrs...), " ")}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// Latency delays every byte coming back on link by latency ± jitter.
func Latency(link string, latency, jitter time.Duration) *Toxic {
	return &Toxic{Link: link, Type: "latency", Attributes: map[string]any{"latency": ms(latency), "jitter": ms(jitter)}}
}

// Timeout stops all data on link and closes connections after d (0: never
// closes, holds data until reverted).
func Timeout(link string, d time.Duration) *Toxic {
	return &Toxic{Link: link, Type: "timeout", Attributes: map[string]any{"timeout": ms(d)}}
}

// ResetPeer resets connections on link with a TCP RST after d.
func ResetPeer(link string, d time.Duration) *Toxic {
	return &Toxic{Link: link, Type: "reset_peer", Attributes: map[string]any{"timeout": ms(d)}}
}

// Bandwidth limits link to kbps kilobytes per second.
func Bandwidth(link string, kbps int64) *Toxic {
	return &Toxic{Link: link, Type: "bandwidth", Attributes: map[string]any{"rate": kbps}}
}

// Slicer slices data on link into packets of about avgSize bytes (± variation)
// with delay between them.
func Slicer(link string, avgSize, variation int64, delay time.Duration) *Toxic {
	return &Toxic{Link: link, Type: "slicer", Attributes: map[string]any{"average_size": avgSize, "size_variation": variation, "delay": delay.Microseconds()}}
}

// SlowClose delays the close of link's connections by d.
func SlowClose(link string, d time.Duration) *Toxic {
	return &Toxic{Link: link, Type: "slow_close", Attributes: map[string]any{"delay": ms(d)}}
}

// LimitData closes link's connections once bytes bytes went over them.
func LimitData(link string, bytes int64) *Toxic {
	return &Toxic{Link: link, Type: "limit_data", Attributes: map[string]any{"bytes": bytes}}
}

// LinkDown disables a link's proxy: its listener closes and connections are
// refused until Revert enables it again.
type LinkDown struct {
	Link string

	simUndo func() // the sim's undo while applied there
}

// Down returns the fault taking link down.
func Down(link string) *LinkDown { return &LinkDown{Link: link} }

// Apply disables the proxy.
func (l *LinkDown) Apply(ctx context.Context, s harness.Stack) error { return l.set(s, false) }

// Revert enables it.
func (l *LinkDown) Revert(ctx context.Context, s harness.Stack) error { return l.set(s, true) }

func (l *LinkDown) set(s harness.Stack, enabled bool) error {
	if _, err := harness.FindLink(s.Links(), l.Link); err != nil {
		return err
	}
	p, err := s.Toxiproxy().Proxy(l.Link)
	if err != nil {
		return fmt.Errorf("link %s: %w", l.Link, err)
	}
	if p.Enabled == enabled {
		return nil
	}
	if enabled {
		err = p.Enable()
	} else {
		err = p.Disable()
	}
	if err != nil {
		return fmt.Errorf("link %s enabled=%v: %w", l.Link, enabled, err)
	}
	return nil
}

// Describe is the ledger entry.
func (l *LinkDown) Describe() timeline.Fault {
	return timeline.Fault{Kind: KindToxic, Name: "link-down", Target: l.Link}
}

func linkParam() Param {
	return Param{Name: "link", Required: true, Help: "link name: a load balancer (ddb-lb-a) or <from>__<to> (see `cascade inject list`)"}
}

func init() {
	Register(Spec{Name: "latency", Kind: KindToxic, Help: "delay the responses on a link",
		Params: []Param{linkParam(), {Name: "latency", Help: "added delay (wall)", Default: "300ms"}, {Name: "jitter", Help: "± jitter (wall)", Default: "0s"}},
		New: func(a Args) (Fault, error) {
			lat, err := a.Duration("latency", 300*time.Millisecond)
			if err != nil {
				return nil, err
			}
			jit, err := a.Duration("jitter", 0)
			if err != nil {
				return nil, err
			}
			return Latency(a["link"], lat, jit), nil
		}})
	Register(Spec{Name: "jitter", Kind: KindToxic, Help: "latency with jitter on a link",
		Params: []Param{linkParam(), {Name: "latency", Default: "100ms", Help: "mean delay (wall)"}, {Name: "jitter", Default: "100ms", Help: "± jitter (wall)"}},
		New: func(a Args) (Fault, error) {
			lat, err := a.Duration("latency", 100*time.Millisecond)
			if err != nil {
				return nil, err
			}
			jit, err := a.Duration("jitter", 100*time.Millisecond)
			if err != nil {
				return nil, err
			}
			return Latency(a["link"], lat, jit), nil
		}})
	Register(Spec{Name: "timeout", Kind: KindToxic, Help: "hold all data on a link; close connections after a timeout (0: never)",
		Params: []Param{linkParam(), {Name: "timeout", Default: "0s", Help: "close after (wall)"}},
		New: func(a Args) (Fault, error) {
			d, err := a.Duration("timeout", 0)
			if err != nil {
				return nil, err
			}
			return Timeout(a["link"], d), nil
		}})
	Register(Spec{Name: "reset-peer", Kind: KindToxic, Help: "reset connections on a link (TCP RST) after a timeout",
		Params: []Param{linkParam(), {Name: "timeout", Default: "0s", Help: "reset after (wall)"}},
		New: func(a Args) (Fault, error) {
			d, err := a.Duration("timeout", 0)
			if err != nil {
				return nil, err
			}
			return ResetPeer(a["link"], d), nil
		}})
	Register(Spec{Name: "bandwidth", Kind: KindToxic, Help: "limit a link's bandwidth",
		Params: []Param{linkParam(), {Name: "rate", Default: "10", Help: "KB/s"}},
		New: func(a Args) (Fault, error) {
			r, err := a.Float("rate", 10)
			if err != nil || r < 0 {
				return nil, fmt.Errorf("%w rate=%q: want KB/s >= 0", ErrBadArgument, a["rate"])
			}
			return Bandwidth(a["link"], int64(r)), nil
		}})
	Register(Spec{Name: "slicer", Kind: KindToxic, Help: "slice a link's data into small delayed packets",
		Params: []Param{linkParam(), {Name: "size", Default: "64", Help: "average packet bytes"}, {Name: "delay", Default: "10ms", Help: "between packets (wall)"}},
		New: func(a Args) (Fault, error) {
			sz, err := a.Float("size", 64)
			if err != nil || sz < 1 {
				return nil, fmt.Errorf("%w size=%q: want bytes >= 1", ErrBadArgument, a["size"])
			}
			d, err := a.Duration("delay", 10*time.Millisecond)
			if err != nil {
				return nil, err
			}
			return Slicer(a["link"], int64(sz), int64(sz)/4, d), nil
		}})
	Register(Spec{Name: "slow-close", Kind: KindToxic, Help: "delay the close of a link's connections",
		Params: []Param{linkParam(), {Name: "delay", Default: "1s", Help: "close delay (wall)"}},
		New: func(a Args) (Fault, error) {
			d, err := a.Duration("delay", time.Second)
			if err != nil {
				return nil, err
			}
			return SlowClose(a["link"], d), nil
		}})
	Register(Spec{Name: "limit-data", Kind: KindToxic, Help: "close a link's connections after some bytes",
		Params: []Param{linkParam(), {Name: "bytes", Default: "4096", Help: "bytes before the close"}},
		New: func(a Args) (Fault, error) {
			b, err := a.Float("bytes", 4096)
			if err != nil || b < 1 {
				return nil, fmt.Errorf("%w bytes=%q: want bytes >= 1", ErrBadArgument, a["bytes"])
			}
			return LimitData(a["link"], int64(b)), nil
		}})
	Register(Spec{Name: "link-down", Kind: KindToxic, Help: "take a link down (connections refused)",
		Params: []Param{linkParam()},
		New:    func(a Args) (Fault, error) { return Down(a["link"]), nil }})
}
