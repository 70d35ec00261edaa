package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Toxic applies the sim counterpart of a toxiproxy toxic (harness/faults'
// Toxic: its Link, Type, Stream and Attributes) and returns its undo. link
// is a proxy's name as on the other backends: a catalogue link
// "from__to", or a DynamoDB load balancer "ddb-lb-x" (the proxy every
// client reaches it through). The downstream stream is the replies
// (to -> from), the upstream the requests. Durations in the attributes are
// milliseconds, as toxiproxy takes them:
//
//	latency     latency, jitter   Link.Latency, Link.Jitter added
//	timeout     timeout           Link.Hold (the close after the timeout is not modelled)
//	reset_peer  timeout           Link.Reset after ResetAfter
//
//	bandwidth   rate (KB/s)       Link.Bandwidth: MsgBytes/rate more per message
//	slicer      average_size, size_variation, delay (µs)
//	                              Link.SliceSize, SliceVariation, SliceDelay
//	slow_close  delay             Link.CloseDelay: resets and refusals arrive later
//	limit_data  bytes             Link.LimitBytes: the message passing it is reset
//
// A message is Link.MsgBytes long (DefaultMsgBytes): the sim has no sizes.
func (s *Stack) Toxic(link, typ, stream string, attrs map[string]any) (undo func(), err error) {
	return s.PartialToxic(link, typ, stream, 1, attrs)
}

// PartialToxic is Toxic on the share toxicity of the link's connections
// (toxiproxy's toxicity, 0 to 1; 0 is 1, as harness/faults applies it):
// each connection draws once from the run's source whether the toxic acts
// on it (Link.AddPartial). The sim's connections are a Pool's (DynamoDB's
// clients); every other call is one request and one reply on no connection
// of its own, so each of its messages draws for itself.
func (s *Stack) PartialToxic(link, typ, stream string, toxicity float64, attrs map[string]any) (undo func(), err error) {
	if toxicity < 0 || toxicity > 1 {
		return nil, fmt.Errorf("sim stack: toxic %s on %s: toxicity %g: valid are 0 (every connection) to 1", typ, link, toxicity)
	}
	links, err := s.proxyLinks(link, stream != "upstream")
	if err != nil {
		return nil, err
	}
	num := func(k string) time.Duration {
		switch v := attrs[k].(type) {
		case int64:
			return time.Duration(v) * time.Millisecond
		case int:
			return time.Duration(v) * time.Millisecond
		case float64:
			return time.Duration(v * float64(time.Millisecond))
		}
		return 0
	}
	var apply func(l *Link)
	switch typ {
	case "latency":
		lat, jit := num("latency"), num("jitter")
		apply = func(l *Link) { l.Latency += lat; l.Jitter += jit }
	case "timeout":
		apply = func(l *Link) { l.Hold = true }
	case "reset_peer":
		after := num("timeout")
		apply = func(l *Link) { l.Reset, l.ResetAfter = true, after }
	case "bandwidth":
		rate := count(attrs["rate"])
		apply = func(l *Link) { l.Bandwidth = rate }
	case "slicer":
		size, variation := count(attrs["average_size"]), count(attrs["size_variation"])
		delay := time.Duration(count(attrs["delay"])) * time.Microsecond // toxiproxy's slicer delay is in µs
		apply = func(l *Link) { l.SliceSize, l.SliceVariation, l.SliceDelay = size, variation, delay }
	case "slow_close":
		delay := num("delay")
		apply = func(l *Link) { l.CloseDelay = delay }
	case "limit_data":
		limit := count(attrs["bytes"])
		apply = func(l *Link) { l.LimitBytes = limit }
	default:
		return nil, fmt.Errorf("sim stack: unknown toxic %q on %s: valid are latency, timeout, reset_peer, bandwidth, slicer, slow_close, limit_data", typ, link)
	}
	if toxicity == 0 || toxicity == 1 {
		return s.change(links, func(l *Link) {
			apply(l)
			if typ == "limit_data" {
				l.Sent = 0 // a new limit counts from zero
			}
		}), nil
	}
	undos := make([]func(), len(links))
	for i, l := range links {
		if typ == "limit_data" {
			l.Sent = 0
		}
		undos[i] = l.AddPartial(toxicity, apply)
	}
	return func() {
		for _, u := range undos {
			u()
		}
	}, nil
}

// LinkDown disables a proxy (toxiproxy's enabled=false): calls over it are
// refused at once, both ways. It returns the undo.
func (s *Stack) LinkDown(link string) (undo func(), err error) {
	req, err := s.proxyLinks(link, false)
	if err != nil {
		return nil, err
	}
	rep, _ := s.proxyLinks(link, true)
	return s.change(append(req, rep...), func(l *Link) { l.Refuse = true }), nil
}

// change applies f to links and returns the undo restoring what they were.
func (s *Stack) change(links []*Link, f func(*Link)) func() {
	saved := make([]Link, len(links))
	for i, l := range links {
		saved[i] = *l
		f(l)
	}
	return func() {
		for i, l := range links {
			*l = saved[i]
		}
	}
}

// proxyLinks are the sim links a proxy named link stands for: its replies
// (down) or its requests.
func (s *Stack) proxyLinks(link string, down bool) ([]*Link, error) {
	if from, to, ok := strings.Cut(link, "__"); ok {
		if err := s.checkLink(from, to); err != nil {
			return nil, err
		}
		if down {
			return []*Link{s.net.Link(to, from)}, nil
		}
		return []*Link{s.net.Link(from, to)}, nil
	}
	for _, lb := range LBs {
		if lb.Name != link {
			continue
		}
		var out []*Link
		for _, k := range s.linkKeys() {
			switch {
			case down && k[0] == link:
				out = append(out, s.net.links[k])
			case !down && k[1] == link:
				out = append(out, s.net.links[k])
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("sim stack: unknown link %q: want from__to (catalogue instances) or ddb-lb-a..c", link)
}

// count is an integer attribute (toxiproxy takes integers; JSON gives
// float64); 0 when absent.
func count(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// linkKeys are the network's links in a fixed order (never map order).
func (s *Stack) linkKeys() [][2]string {
	keys := make([][2]string, 0, len(s.net.links))
	for k := range s.net.links {
		keys = append(keys, k)
	}
	slicesSortKeys(keys)
	return keys
}

func slicesSortKeys(keys [][2]string) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
}
