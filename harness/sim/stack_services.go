package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
	"github.com/cascade-lab/cascade/mocks/nlb"
	"github.com/cascade-lab/cascade/mocks/sqs"
)

// Node names of the stack's services besides the race's.
const (
	DNSNode    = "route53-dns" // the authoritative DNS answering resolvers (the Store's Resolve)
	NetMgrNode = "netmgr"
	EC2Node    = "ec2"
	NLBNode    = "nlb"
	ProbeNode  = "probe" // the experiment's clients
)

// ddbCall runs one DynamoDB request on the core, as the LB node the
// connection reached serves it (the LBs pass requests to DynamoDB's
// fleet: the core is the one behind all three).
type ddbService struct {
	core *dynamodb.Core
	fps  *Failpoints
	// MaxConnAge closes a client connection this old (the server's
	// MaxConnAge): clients re-resolve the name then.
	maxAge time.Duration
}

// dwfmHost is one DWFM host: its core, its pooled DynamoDB connection
// through the regional name, its loop (dwfm.Server.loop's sequence).
type dwfmHost struct {
	st        *Stack
	name, az  string
	cfg       dwfm.Config
	core      *dwfm.Core
	pool      *Pool
	table     string
	pending   bool // a round is scheduled at this instant
	netFlight bool
	opFailed  map[string]int
	// inflight counts the calls the host's performers are making; waiting
	// holds the ops sent while all OpConcurrency of them were busy
	// (dwfm.Server's ops channel: its OpConcurrency performers take them in
	// order, one call each at a time).
	inflight int
	waiting  []dwfm.Op
}

// round is one pass of the host's loop: Tick the core, send the calls it
// asks for, post the work it owes Network Manager.
func (h *dwfmHost) round() {
	h.pending = false
	if !h.st.net.Running(h.name) {
		return // paused or stopped: its loop runs again at resume or start (kick)
	}
	ops := h.core.Tick()
	for _, op := range ops {
		h.perform(op)
	}
	if n := h.core.TakeNetWork(); n > 0 {
		admitted := 0
		h.st.net.Send(h.name, NetMgrNode, h.cfg.OpTimeout, func() error {
			var err error
			admitted, err = h.st.nm.AddWork(dwfm.NetWorkKind, n)
			if err != nil && !errors.Is(err, netmgr.ErrThrottled) {
				return err
			}
			return nil
		}, func(err error) {
			if err != nil {
				admitted = 0
			}
			h.core.NetWorkDone(admitted)
			h.kick()
		})
	}
}

// kick schedules a round at this instant (the loop wakes on a result).
func (h *dwfmHost) kick() {
	if h.pending {
		return
	}
	h.pending = true
	h.st.s.After(0, h.round)
}

// perform hands op to a performer: at once when one of the host's
// OpConcurrency performers is free, else after the ops sent before it
// (dwfm.Server.perform: a performer makes one call at a time).
func (h *dwfmHost) perform(op dwfm.Op) {
	if h.inflight >= h.cfg.OpConcurrency {
		h.waiting = append(h.waiting, op)
		return
	}
	h.inflight++
	h.call(op)
}

// performed frees the performer of a call that ended: it takes the next
// waiting op, if any.
func (h *dwfmHost) performed() {
	if len(h.waiting) == 0 {
		h.inflight--
		return
	}
	op := h.waiting[0]
	h.waiting = h.waiting[1:]
	h.call(op)
}

// call sends op through the pool: the request dwfm.LeaseRequest maps it
// to, run on DynamoDB's core when it reaches the server.
func (h *dwfmHost) call(op dwfm.Op) {
	id := op.ID
	lc := dwfm.LeaseRequest(op)
	// the server's <name>/ddb failpoint: a return fails the call
	h.st.race.fps.Gate(h.name+"/ddb", func(fperr error) {
		if fperr != nil {
			h.core.OpDone(id, dwfm.Result{Outcome: dwfm.Failed})
			h.performed()
			h.kick()
			return
		}
		h.send(id, lc)
	})
}

func (h *dwfmHost) send(id uint64, lc dwfm.LeaseCall) {
	var res dwfm.Result
	h.pool.Send(func(string) error {
		var err error
		res, err = h.st.ddb.lease(h.table, lc)
		return err
	}, func(err error) {
		if err != nil {
			var de *dynamodb.Error
			if errors.As(err, &de) && de.Code == dynamodb.CodeConditionalCheckFailed {
				res = dwfm.Result{Outcome: dwfm.Conflict}
			} else {
				res = dwfm.Result{Outcome: dwfm.Failed}
				h.opFailed[probeCode(err)]++
			}
		}
		h.core.OpDone(id, res)
		h.performed()
		h.kick()
	})
}

// fail evaluates the server's failpoints of one request (dynamodb/any,
// then dynamodb/<Operation>; return only: a call has no process to hold),
// as the error the server answers with.
func (d *ddbService) fail(op string) error {
	for _, name := range []string{catalogue.DynamoDB + "/any", catalogue.DynamoDB + "/" + op} {
		if a := d.fps.Register(name).Decide(); a.Kind == "return" {
			return dynamodb.FailpointError(a.Value)
		}
	}
	return nil
}

// lease performs a dwfm.LeaseCall on the core.
func (d *ddbService) lease(table string, lc dwfm.LeaseCall) (dwfm.Result, error) {
	key := expr.Item{dwfm.LeaseKey: expr.S(lc.Droplet)}
	if lc.Get {
		if err := d.fail("GetItem"); err != nil {
			return dwfm.Result{}, err
		}
		out, err := d.core.ItemGet(&dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: true})
		if err != nil {
			return dwfm.Result{}, err
		}
		epoch := ""
		if v, ok := out.Item["epoch"]; ok {
			epoch = v.Number()
		}
		return dwfm.ReadResult(out.Item != nil, epoch), nil
	}
	err := d.update(table, dwfm.LeaseKey, lc.Droplet, lc.Update, lc.Condition, lc.Names, lc.Strings, lc.Numbers)
	return dwfm.Result{Outcome: dwfm.OK}, err
}

// probeCode is the code harness/probes.Classify gives the real backends'
// error of the same kind.
func probeCode(err error) string {
	var de *dynamodb.Error
	var ee *ec2.APIError
	var ae answered
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.code(ae.error)
	case errors.Is(err, ErrNoSuchHost):
		return "no-such-host"
	case errors.Is(err, ErrServFail):
		return "dns-error"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrRefused):
		return "connection-refused"
	case errors.Is(err, ErrReset):
		return "connection-reset"
	case errors.As(err, &de):
		return string(de.Code)
	case errors.As(err, &ee):
		return ee.Code
	case errors.Is(err, sqs.ErrQueueDoesNotExist):
		return "QueueDoesNotExist"
	}
	return "error"
}

// netmgrLoop is Network Manager's worker (netmgr.Server's ticker): every
// tick the core completes what its rate allows.
func (s *Stack) netmgrLoop(tick time.Duration) {
	s.s.Go(NetMgrNode, func(p *Proc) {
		// a paused or sleeping netmgr/tick stalls the worker: the queue grows
		fpTick := s.race.fps.Hook(p, NetMgrNode+"/tick")
		for last := s.s.Now(); ; {
			last = nextTick(last, tick, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
			_ = fpTick(p.Context())
			r := s.nm.Tick(s.s.Now())
			for _, pr := range r.Propagated {
				s.ev(NetMgrNode).Emit("propagated", "instanceId", pr.ID, "delay", pr.Delay.String())
			}
		}
	})
}

// ec2Loop is EC2's hand-off loop (ec2.Server.handoffLoop): one NetRound
// with Network Manager, then the setup work the newly connected instances
// owe, on every HandoffRetry tick and whenever a launch wakes it (the
// server's wake channel): a new instance is handed off at once, not up to
// a HandoffRetry later. A wake does not move the ticker's phase.
func (s *Stack) ec2Loop(cfg ec2.Config) {
	s.s.Go(EC2Node, func(p *Proc) {
		for last := s.s.Now(); ; {
			if !s.ec2Woken {
				tick := nextTick(last, cfg.HandoffRetry, s.s.Now())
				sig := p.NewSignal()
				s.ec2Wake = sig
				s.s.At(tick, sig.Fire)
				sig.Await()
				s.ec2Wake = nil
				if !s.s.Now().Before(tick) {
					last = tick // the tick was consumed (a wake leaves it pending)
				}
			}
			s.ec2Woken = false
			s.ec2Round(p, cfg)
		}
	})
}

// wakeEC2 wakes EC2's hand-off loop after a launch: at once when it waits,
// after its round when it is in one (a wake is remembered, once).
func (s *Stack) wakeEC2() {
	s.ec2Woken = true
	if s.ec2Wake != nil {
		s.ec2Wake.Fire()
	}
}

func (s *Stack) ec2Round(p *Proc, cfg ec2.Config) {
	res := s.ec2Exchange(p, cfg, s.ec2.NetRound())
	for _, c := range s.ec2.NetRoundDone(res) {
		s.ev(EC2Node).Emit("instance-connected", "instanceId", c.ID, "az", c.ZoneID, "after", c.After.String())
	}
	if n := s.ec2.TakeSetup(); n > 0 {
		admitted := 0
		if err := s.net.Call(p, EC2Node, NetMgrNode, cfg.CallTimeout, func() error {
			var err error
			admitted, err = s.nm.AddWork(ec2.SetupWorkKind, n)
			if errors.Is(err, netmgr.ErrThrottled) {
				return nil
			}
			return err
		}); err != nil {
			admitted = 0
		}
		s.ec2.SetupDone(admitted)
	}
}

// ec2Exchange performs a round's calls as ec2.Server.exchange does: one
// call to Network Manager per registration, poll and termination, one after
// the other over the same link, each with its own CallTimeout; a call that
// failed leaves only its own instance for the next round.
func (s *Stack) ec2Exchange(p *Proc, cfg ec2.Config, round ec2.NetRound) ec2.NetResult {
	var res ec2.NetResult
	call := func(handle func() error) bool {
		return s.net.Call(p, EC2Node, NetMgrNode, cfg.CallTimeout, handle) == nil
	}
	for _, in := range round.Register {
		if call(func() error { _, err := s.nm.RegisterInstance(in.ID, in.ZoneID); return err }) {
			res.Registered = append(res.Registered, in.ID)
		}
	}
	for _, in := range round.Poll {
		var prop bool
		if call(func() error {
			st, err := s.nm.Instance(in.ID)
			prop = err == nil && st.Propagated
			return err
		}) && prop {
			res.Propagated = append(res.Propagated, in.ID)
		}
	}
	for _, id := range round.Delete {
		if !call(func() error {
			if err := s.nm.TerminateInstance(id); err != nil && !errors.Is(err, netmgr.ErrUnknownInstance) {
				return err
			}
			return nil
		}) {
			res.Undelivered = append(res.Undelivered, id)
		}
	}
	return res
}

// nlbLoop is the NLB's loop (nlb.Server.loop): every tick the core
// schedules checks; each check is a call from the NLB to Network
// Manager's data plane (the target's health as seen from a node), whose
// result comes back to the core.
func (s *Stack) nlbLoop(cfg nlb.Config, core nlb.CoreConfig) {
	timeout := core.CheckTimeout
	nc := s.nlb
	s.s.Go(NLBNode, func(p *Proc) {
		for last := s.s.Now(); ; {
			last = nextTick(last, cfg.TickInterval, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
			r := s.nlb.Tick(s.s.Now())
			s.nlbPublish(r)
			s.nlbDNSTick(r)
			for _, ch := range r.Checks {
				s.nlbCheck(ch, timeout)
			}
			for _, id := range r.NeedPropagation {
				var prop bool
				s.net.Send(NLBNode, NetMgrNode, timeout, func() error {
					st, err := s.nm.Instance(id)
					prop = err == nil && st.Propagated
					return nil
				}, func(err error) {
					if err == nil && prop {
						_ = nc.MarkPropagated(id)
					}
				})
			}
		}
	})
}

// nlbCheck is one health check: the NLB's nlb/health-check failpoint, then
// a call to Network Manager's data plane (its netmgr/dataplane failpoint
// answers as an unreachable target), answered by Reachable.
func (s *Stack) nlbCheck(ch nlb.Check, timeout time.Duration) {
	core := s.nlb // the result goes to the process that asked (not a later one)
	s.race.fps.Gate(NLBNode+"/health-check", func(fperr error) {
		if fperr != nil {
			core.Result(ch, false)
			return
		}
		var ok bool
		s.net.Send(NLBNode, NetMgrNode, timeout, func() error {
			if a := s.race.fps.Register(NetMgrNode + "/dataplane").Decide(); a.Kind == "return" {
				return &kit.FailpointError{Name: NetMgrNode + "/dataplane", Value: a.Value}
			}
			var err error
			ok, err = s.nm.Reachable(ch.Target, ch.Node)
			return err
		}, func(err error) { core.Result(ch, err == nil && ok) })
	})
}

func (s *Stack) nlbPublish(r nlb.Ready) {
	ev := s.ev(NLBNode)
	for _, id := range r.Entered {
		ev.Emit("target-in-service", "target", id)
	}
	for _, f := range r.Flaps {
		ev.Emit("target-flap", "target", f.Target, "az", f.AZ, "healthy", f.Healthy, "flaps", f.Flaps)
	}
	for _, f := range r.Failovers {
		action := "restored"
		if f.Removed {
			action = "removed"
		}
		ev.Emit("az-failover", "az", f.AZ, "action", action, "unhealthyShare", f.UnhealthyShare, "reason", f.Reason)
	}
}

// ev is service's event stream: its events go to the Trace (when set)
// and to the OnEvent hook (when set), in the run's thread.
func (s *Stack) ev(service string) *kit.Events {
	e, ok := s.events[service]
	if !ok {
		e = kit.NewEvents(service, s.s.Clock(), s.cfg.Trace)
		e.SetHook(func(ev kit.Event) {
			if s.onEvent != nil {
				s.onEvent(ev)
			}
		})
		s.events[service] = e
	}
	return e
}

func errUnknown(kind, name string, valid []string) error {
	return fmt.Errorf("sim stack: unknown %s %q: valid are %v", kind, name, valid)
}
