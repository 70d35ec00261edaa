package use1

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit/admin"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Components of the replay's timeline, in the order of the cascade.
const (
	CompDynamoDB     = "dynamodb"
	CompDWFM         = "dwfm"
	CompEC2          = "ec2"
	CompNetMgr       = "netmgr"
	CompConnectivity = "connectivity"
	CompNLB          = "nlb"
)

// Probe names the replay adds to the well-known ones of package timeline.
const (
	ProbeDWFMLeases    = "dwfm-leases"    // per host: leases held / droplets >= LeaseFloor
	ProbeNetMgrBacklog = "netmgr-backlog" // the oldest waiting item has waited <= BacklogWait
)

// LeaseFloor is the share of a host's droplets that must hold a lease for
// its sample to pass: a few droplets renew late even in the steady state
// (a check that misses its wall timeout on a loaded machine), the collapse
// leaves next to none.
const LeaseFloor = 0.8

// Components is the replay's probe -> component table.
func Components() []timeline.Component {
	return append([]timeline.Component{
		{Name: CompDynamoDB, Probes: []string{timeline.ProbeDNSResolve, timeline.ProbeDDBGetItem, timeline.ProbeDDBPutItem}},
		{Name: CompDWFM, Probes: []string{ProbeDWFMLeases}},
		{Name: CompEC2, Probes: []string{timeline.ProbeEC2Launch}},
		{Name: CompNetMgr, Probes: []string{ProbeNetMgrBacklog}},
		{Name: CompConnectivity, Probes: []string{timeline.ProbeConnectivity}},
		{Name: CompNLB, Probes: []string{timeline.ProbeNLBHealth, timeline.ProbeNLBCapacity}},
	}, DownstreamComponents()...)
}

var adminHTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}}

// getJSON GETs an admin API's url into out.
func getJSON(ctx context.Context, url string, out any) error {
	return admin.New(url, admin.WithHTTPClient(adminHTTP)).Get(ctx, "", out)
}

// sendJSON sends a JSON body with method to an admin API's url.
func sendJSON(ctx context.Context, method, url string, in any) error {
	return admin.New(url, admin.WithHTTPClient(adminHTTP)).Do(ctx, method, "", in, nil)
}

// dwfmState is the part of a DWFM host's GET /admin/state the replay reads.
type dwfmState struct {
	Droplets    int     `json:"droplets"`
	LeasesHeld  int     `json:"leasesHeld"`
	QueueDepth  int     `json:"queueDepth"`
	Goodput     float64 `json:"goodputPerMinute"`
	Established uint64  `json:"leasesEstablished"`
	TimedOut    uint64  `json:"workTimedOut"`
	// the hand-off of re-lease work to Network Manager
	LeaseWrites    uint64 `json:"leaseWrites"`
	NetWorkOwed    int    `json:"netWorkOwed"`
	NetWorkPosted  uint64 `json:"netWorkPosted"`
	NetWorkRefused uint64 `json:"netWorkRefused"`
	NetWorkDropped uint64 `json:"netWorkDropped"`
}

// leaseProbe samples one DWFM host's leases.
func leaseProbe(w world, instance string) probes.Probe {
	return probes.Func{ProbeName: ProbeDWFMLeases, Fn: func(ctx context.Context) timeline.Sample {
		st, err := w.dwfmState(ctx, instance)
		if err != nil {
			return timeline.Sample{Source: instance, Code: probes.Classify(err), Detail: err.Error()}
		}
		ratio := 0.0
		if st.Droplets > 0 {
			ratio = float64(st.LeasesHeld) / float64(st.Droplets)
		}
		return timeline.Sample{Source: instance, OK: ratio >= LeaseFloor, Value: ratio,
			Detail: fmt.Sprintf("%s held %d/%d queue %d goodput %.1f/min", instance, st.LeasesHeld, st.Droplets, st.QueueDepth, st.Goodput)}
	}}
}

// netmgrQueue is Network Manager's GET /v1/queue.
type netmgrQueue struct {
	Depth    int           `json:"depth"`
	HeadWait time.Duration `json:"headWait"`
	Pending  int           `json:"pending"`
	Admitted int64         `json:"admitted"`
	Rejected int64         `json:"rejected"`
}

// backlogProbe samples Network Manager's queue.
func backlogProbe(w world, limit time.Duration) probes.Probe {
	return probes.Func{ProbeName: ProbeNetMgrBacklog, Fn: func(ctx context.Context) timeline.Sample {
		q, err := w.netmgrQueue(ctx)
		if err != nil {
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		s := timeline.Sample{OK: q.HeadWait <= limit, Value: float64(q.Depth),
			Detail: fmt.Sprintf("depth %d head wait %s pending %d", q.Depth, q.HeadWait.Round(time.Minute), q.Pending)}
		if !s.OK {
			s.Code = "propagation-latency"
		}
		return s
	}}
}

// nlbState is the part of the NLB's GET /admin/state the replay reads.
type nlbState struct {
	FailoverEnabled     bool     `json:"failoverEnabled"`
	AZsInDNS            []string `json:"azsInDNS"`
	InService           int      `json:"inService"`
	HealthyCapacity     int      `json:"healthyCapacity"`
	Flaps               int64    `json:"flaps"`
	Removals            int64    `json:"removals"`
	MaxRemovedPerWindow float64  `json:"maxRemovedPerWindow"`
	MaxCapacityRemoved  float64  `json:"maxCapacityRemoved"`
}

// nlbProbes samples the NLB: nlb-health fails when targets flapped since
// the last sample; nlb-capacity fails when an AZ is out of DNS or fewer
// than half the in-service targets are healthy.
func nlbProbes(w world, azs int) []probes.Probe {
	var mu sync.Mutex
	var last int64 = -1
	health := probes.Func{ProbeName: timeline.ProbeNLBHealth, Fn: func(ctx context.Context) timeline.Sample {
		st, err := w.nlbState(ctx)
		if err != nil {
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		mu.Lock()
		d := int64(0)
		if last >= 0 {
			d = st.Flaps - last
		}
		last = st.Flaps
		mu.Unlock()
		s := timeline.Sample{OK: d == 0, Value: float64(d), Detail: fmt.Sprintf("%d flaps since the last sample", d)}
		if d > 0 {
			s.Code = "flapping"
		}
		return s
	}}
	capacity := probes.Func{ProbeName: timeline.ProbeNLBCapacity, Fn: func(ctx context.Context) timeline.Sample {
		st, err := w.nlbState(ctx)
		if err != nil {
			return timeline.Sample{Code: probes.Classify(err), Detail: err.Error()}
		}
		s := timeline.Sample{OK: len(st.AZsInDNS) == azs && 2*st.HealthyCapacity >= st.InService, Value: float64(st.HealthyCapacity),
			Detail: fmt.Sprintf("AZs in DNS %v, healthy %d of %d in service", st.AZsInDNS, st.HealthyCapacity, st.InService)}
		switch {
		case len(st.AZsInDNS) < azs:
			s.Code = "az-removed"
		case !s.OK:
			s.Code = "unhealthy-targets"
		}
		return s
	}}
	return []probes.Probe{health, capacity}
}

// tracker remembers the instances the replay launched until their network
// state propagated: the connectivity probe's subject.
type tracker struct {
	mu      sync.Mutex
	pending map[string]time.Time // instance -> launch (incident)
}

func newTracker() *tracker { return &tracker{pending: map[string]time.Time{}} }

func (t *tracker) add(id string, at time.Time) {
	t.mu.Lock()
	t.pending[id] = at
	t.mu.Unlock()
}

// pendingLaunch is one tracked instance.
type pendingLaunch struct {
	id string
	at time.Time
}

// snapshot lists the tracked instances by launch time, then id: an order
// that no map iteration decides (the sim backend asks about them in it).
func (t *tracker) snapshot() []pendingLaunch {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]pendingLaunch, 0, len(t.pending))
	for k, v := range t.pending {
		out = append(out, pendingLaunch{id: k, at: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].id < out[j].id
	})
	return out
}

func (t *tracker) done(id string) {
	t.mu.Lock()
	delete(t.pending, id)
	t.mu.Unlock()
}

// connectivityProbe fails while an instance the replay launched has lacked
// connectivity (its network state not at every location) for longer than
// grace. It asks Network Manager, as EC2 does.
func connectivityProbe(w world, tr *tracker, grace time.Duration) probes.Probe {
	clock := w.Clock()
	return probes.Func{ProbeName: timeline.ProbeConnectivity, Fn: func(ctx context.Context) timeline.Sample {
		now := clock.Now()
		var oldest time.Duration
		waiting := 0
		for _, p := range tr.snapshot() {
			id, at := p.id, p.at
			if ok, err := w.propagated(ctx, id); err == nil && ok {
				tr.done(id)
				continue
			}
			waiting++
			oldest = max(oldest, now.Sub(at))
		}
		s := timeline.Sample{OK: oldest <= grace, Value: oldest.Minutes(),
			Detail: fmt.Sprintf("%d new instances without connectivity, oldest %s", waiting, oldest.Round(time.Minute))}
		if !s.OK {
			s.Code = "no-connectivity"
		}
		return s
	}}
}

// launcher launches instances with the SDK (one attempt, no retries: the
// probe and the customer see every refusal).
type launcher struct {
	c     *ec2.Client
	zones []string // zone names, round robin
	mu    sync.Mutex
	next  int
}

func newLauncher(s harness.Stack) (*launcher, error) {
	c, err := s.EC2(awsclient.WithMaxAttempts(1), awsclient.WithTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	return &launcher{c: c, zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"}}, nil
}

// launched is one instance placed.
type launched struct {
	ID     string
	ZoneID string
}

// launch places one instance in the next zone; code is "" on success.
func (l *launcher) launch(ctx context.Context, tag string) (launched, string, error) {
	l.mu.Lock()
	zone := l.zones[l.next%len(l.zones)]
	l.next++
	l.mu.Unlock()
	out, err := l.c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-cascade"), InstanceType: ec2types.InstanceTypeM5Large,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &ec2types.Placement{AvailabilityZone: aws.String(zone)},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: aws.String("cascade"), Value: aws.String(tag)}}}},
	})
	if err != nil {
		return launched{}, probes.Classify(err), err
	}
	if len(out.Instances) == 0 {
		return launched{}, probes.CodeError, fmt.Errorf("RunInstances returned no instance")
	}
	in := out.Instances[0]
	l2 := launched{ID: aws.ToString(in.InstanceId)}
	if in.Placement != nil {
		l2.ZoneID = zoneID(aws.ToString(in.Placement.AvailabilityZone))
	}
	return l2, "", nil
}

func zoneID(name string) string {
	switch name {
	case "us-east-1a":
		return "use1-az1"
	case "us-east-1b":
		return "use1-az2"
	case "us-east-1c":
		return "use1-az3"
	}
	return name
}

// launchProbe is the ec2-launch probe: one RunInstances per sample; a placed
// instance is tracked for connectivity and terminated once connected.
func launchProbe(w world, tr *tracker) probes.Probe {
	clock := w.Clock()
	return probes.Func{ProbeName: timeline.ProbeEC2Launch, Fn: func(ctx context.Context) timeline.Sample {
		at := clock.Now()
		in, code, err := w.launch(ctx, "probe")
		if err != nil {
			return timeline.Sample{Code: code, Detail: err.Error()}
		}
		tr.add(in.ID, at)
		return timeline.Sample{OK: true, Detail: in.ID + " in " + in.ZoneID}
	}}
}
