// Package timelinetest builds timelines for tests of the code that reads them
// (matchers, reports, the replay's fidelity table) without running a stack:
// a synthetic as-was incident shaped like the real one of October 2025, and a
// small pattern language for hand-made probe series.
package timelinetest

import (
	"time"

	"github.com/cascade-lab/cascade/harness/timeline"
)

// pdt is the zone the public timeline is written in.
var pdt = time.FixedZone("PDT", -7*3600)

// PDT returns the incident time of a PDT clock reading: hours from 18 on are
// the evening of 19 October, earlier hours are 20 October.
func PDT(hour, minute int) time.Time {
	day := 20
	if hour >= 18 {
		day = 19
	}
	return time.Date(2025, 10, day, hour, minute, 0, 0, pdt).UTC()
}

// Zone is the incident's PDT zone, for reports.
func Zone() *time.Location { return pdt }

// Series returns samples of probe, one every step from start: 'o' passes,
// 'x' fails (Code "error"), 'e' is an empty DNS answer (Code no-such-host),
// any other rune is a step without a sample.
func Series(probe string, start time.Time, step time.Duration, pattern string) []timeline.Sample {
	var out []timeline.Sample
	i := 0
	for _, c := range pattern {
		t := start.Add(time.Duration(i) * step)
		i++
		switch c {
		case 'o':
			out = append(out, timeline.Sample{Time: t, Probe: probe, OK: true, Value: 3})
		case 'x':
			out = append(out, timeline.Sample{Time: t, Probe: probe, Code: "error"})
		case 'e':
			out = append(out, timeline.Sample{Time: t, Probe: probe, Code: timeline.CodeNoSuchHost})
		}
	}
	return out
}

// Between returns samples of probe every step over [from, to), OK as ok says
// and with code on failures.
func Between(probe string, from, to time.Time, step time.Duration, ok bool, code string) []timeline.Sample {
	var out []timeline.Sample
	for t := from; t.Before(to); t = t.Add(step) {
		s := timeline.Sample{Time: t, Probe: probe, OK: ok}
		if ok {
			s.Value = 3
		} else {
			s.Code = code
		}
		out = append(out, s)
	}
	return out
}

// Step is the probe period of the synthetic incident.
const Step = 5 * time.Minute

// Incident returns a timeline shaped like the as-was incident, sampled every
// Step from 23:30 PDT to 14:30 PDT:
//
//	dns-resolve   empty 23:48-02:25
//	ddb-getitem   failing 23:48-02:40
//	ec2-launch    failing 00:30-10:36 (InsufficientInstanceCapacity, then RequestLimitExceeded)
//	connectivity  failing 06:21-13:50
//	nlb-health    flapping 05:30-14:09
//
// with a failpoint on dnsenactor-a, a latency toxic on ddb-lb-a, and the
// operator actions restore-dns 02:25, restart-dwfm 04:14 and
// disable-nlb-failover 09:36, plus a few service events. A flake of
// ec2-launch at 23:35 checks that debouncing ignores it.
func Incident() *timeline.Timeline {
	start, end := PDT(23, 30), PDT(14, 30)
	tl := timeline.MustNew(timeline.WithName("use1-2025-10 synthetic"), timeline.WithSpan(start, end))
	// sp is a stretch of a probe's samples, from the previous stretch's end
	type sp struct {
		to   time.Time
		ok   bool
		code string
	}
	add := func(probe string, spans ...sp) {
		from := start
		for _, s := range spans {
			tl.AddSample(Between(probe, from, s.to, Step, s.ok, s.code)...)
			from = s.to
		}
	}
	add(timeline.ProbeDNSResolve, sp{PDT(23, 48), true, ""}, sp{PDT(2, 25), false, timeline.CodeNoSuchHost}, sp{end.Add(time.Second), true, ""})
	add(timeline.ProbeDDBGetItem, sp{PDT(23, 48), true, ""}, sp{PDT(2, 40), false, "no-such-host"}, sp{end.Add(time.Second), true, ""})
	add(timeline.ProbeEC2Launch, sp{PDT(0, 30), true, ""}, sp{PDT(4, 14), false, "InsufficientInstanceCapacity"},
		sp{PDT(10, 36), false, "RequestLimitExceeded"}, sp{end.Add(time.Second), true, ""})
	add(timeline.ProbeConnectivity, sp{PDT(6, 21), true, ""}, sp{PDT(13, 50), false, "timeout"}, sp{end.Add(time.Second), true, ""})
	// NLB: healthy, then flapping (two failing checks, one passing) until failover is re-enabled
	tl.AddSample(Between(timeline.ProbeNLBHealth, start, PDT(5, 30), Step, true, "")...)
	i := 0
	for t := PDT(5, 30); t.Before(PDT(14, 9)); t = t.Add(Step) {
		tl.AddSample(timeline.Sample{Time: t, Probe: timeline.ProbeNLBHealth, OK: i%3 == 2, Code: map[bool]string{true: "", false: "flapping"}[i%3 == 2]})
		i++
	}
	tl.AddSample(Between(timeline.ProbeNLBHealth, PDT(14, 9), end.Add(time.Second), Step, true, "")...)
	// a flake long before EC2's impact
	tl.AddSample(timeline.Sample{Time: PDT(23, 37), Probe: timeline.ProbeEC2Launch, Code: "flake"})

	tl.AddFault(timeline.Fault{ID: "fp-1", Kind: "failpoint", Name: "dnsenactor-a/before-apply-endpoint", Target: "dnsenactor-a",
		Detail: "sleep(4m)", Start: PDT(23, 40), End: PDT(23, 48)})
	tl.AddFault(timeline.Fault{ID: "tox-1", Kind: "toxic", Name: "latency", Target: "ddb-lb-a", Detail: "latency=800ms",
		Start: PDT(23, 32), End: PDT(23, 47)})
	tl.AddFault(timeline.Fault{ID: "op-1", Kind: "operator", Name: "restore-dns", Target: "dynamodb.us-east-1.amazonaws.com",
		Start: PDT(2, 25), End: PDT(2, 25), Operator: true})
	tl.AddFault(timeline.Fault{ID: "op-2", Kind: "operator", Name: "restart-dwfm", Target: "dwfm", Start: PDT(4, 14), End: PDT(4, 14), Operator: true})
	tl.AddFault(timeline.Fault{ID: "op-3", Kind: "operator", Name: "disable-nlb-failover", Target: "nlb", Start: PDT(9, 36), End: PDT(9, 36), Operator: true})
	tl.AddFault(timeline.Fault{ID: "op-4", Kind: "operator", Name: "enable-nlb-failover", Target: "nlb", Start: PDT(14, 9), End: PDT(14, 9), Operator: true})

	tl.AddEvent(
		timeline.Event{Time: PDT(23, 48), Service: "dnsenactor-b", Kind: "plans-cleaned", Fields: map[string]any{"deleted": 12.0, "active": false}},
		timeline.Event{Time: PDT(23, 48), Service: "route53", Kind: "record-emptied", Fields: map[string]any{"name": "dynamodb.us-east-1.amazonaws.com"}},
		timeline.Event{Time: PDT(0, 20), Service: "dwfm-a", Kind: "lease-expired", Fields: map[string]any{"droplet": "d-17"}},
		timeline.Event{Time: PDT(0, 25), Service: "dwfm-a", Kind: "lease-expired", Fields: map[string]any{"droplet": "d-18"}},
		timeline.Event{Time: PDT(2, 30), Service: "dwfm-a", Kind: "work-requeued", Fields: map[string]any{"queue": 4012.0}},
	)
	return tl
}
