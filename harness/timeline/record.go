package timeline

import "time"

// RecordState is the state of the regional endpoint's DNS record as the
// dns-resolve probe saw it.
type RecordState string

// Record states.
const (
	RecordResolving RecordState = "resolving" // the name resolved to at least one address
	RecordEmpty     RecordState = "empty"     // no such host, or an answer without addresses
	RecordUnknown   RecordState = "unknown"   // the probe failed otherwise (timeout, SERVFAIL), or no sample yet
)

// IsEmptyAnswer reports whether a resolve sample saw an empty record: its Code
// is no-such-host, nxdomain or no-addresses.
func IsEmptyAnswer(s Sample) bool {
	switch s.Code {
	case CodeNoSuchHost, CodeNoAddresses, CodeNXDomain:
		return true
	}
	return false
}

// RecordStateOf classifies one resolve sample.
func RecordStateOf(s Sample) RecordState {
	switch {
	case IsEmptyAnswer(s):
		return RecordEmpty
	case s.OK:
		return RecordResolving
	default:
		return RecordUnknown
	}
}

// RecordSpan is a stretch of incident time in one record state: from the
// sample that saw it to the next sample that saw another (or the snapshot's
// end).
type RecordSpan struct {
	State RecordState `json:"state"`
	Start time.Time   `json:"start"`
	End   time.Time   `json:"end"`
}

// RecordStates returns the record state of the dns-resolve probe as spans.
func (s *Snapshot) RecordStates() []RecordSpan { return s.RecordStatesOf(ProbeDNSResolve) }

// RecordStatesOf returns the record state seen by a resolve probe as spans
// covering the snapshot from the probe's first sample to the snapshot's end.
func (s *Snapshot) RecordStatesOf(probe string) []RecordSpan {
	var out []RecordSpan
	for _, x := range s.Probe(probe) {
		st := RecordStateOf(x)
		if n := len(out); n > 0 {
			if out[n-1].State == st {
				continue
			}
			out[n-1].End = x.Time
		}
		out = append(out, RecordSpan{State: st, Start: x.Time})
	}
	if n := len(out); n > 0 {
		out[n-1].End = s.End
		if out[n-1].End.Before(out[n-1].Start) {
			out[n-1].End = out[n-1].Start
		}
	}
	return out
}

// RecordState is the dns-resolve record state at t: the state of the latest
// sample at or before t, RecordUnknown before the first.
func (s *Snapshot) RecordState(t time.Time) RecordState {
	st := RecordUnknown
	for _, x := range s.Samples {
		if x.Time.After(t) {
			break
		}
		if x.Probe == ProbeDNSResolve {
			st = RecordStateOf(x)
		}
	}
	return st
}

// EmptyFor is the total incident time the dns-resolve record was seen empty.
func (s *Snapshot) EmptyFor() time.Duration {
	var d time.Duration
	for _, sp := range s.RecordStates() {
		if sp.State == RecordEmpty {
			d += sp.End.Sub(sp.Start)
		}
	}
	return d
}
