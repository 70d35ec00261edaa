package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/ecs"
	"github.com/cascade-lab/cascade/mocks/lambda"
	"github.com/cascade-lab/cascade/mocks/nlb/nlbclient"
	"github.com/cascade-lab/cascade/mocks/sqs"
	"github.com/cascade-lab/cascade/mocks/sts"
)

// Node names of the downstream services (their catalogue instances).
const (
	SQSNode    = catalogue.SQS
	LambdaNode = catalogue.Lambda
	STSNode    = catalogue.STS
	ECSNode    = catalogue.ECS
)

// ProbeResource is the name of the downstream probes' queue, function,
// cluster and service (harness/probes.ProbeName).
const ProbeResource = "cascade-probe"

// codeBelowDesired is what the ECS probe reports while its service runs
// no task (harness/probes' code).
const codeBelowDesired = "ecs-below-desired"

// The downstream services' sim wiring. Each runs its mock's core; the
// server's loop is a Proc (or timed events), its outbound calls go over
// the network: Lambda's and STS's DynamoDB calls through a Pool on the
// regional name (as DWFM's), Lambda's SQS calls over lambda -> sqs, their
// fleet share read from the NLB's core over x -> nlb (nlbclient.Share, as
// the servers read GET /admin/state), ECS's launches through EC2's core
// (runInstances, as the replay's) and its connectivity checks over
// ecs -> netmgr. An API call a client makes is its request leg to the
// service's node, the service's own calls, then the answer (the reply's
// leg back to the client is not modelled, as for EC2).
//
//	probe --> lambda: Prepare* --> pool --> ddb-lb-x (functions table) --> Put
//	lambda loop: Tick --> lease ops --> pool (leases table); poll --> sqs --> Invoke --> sqs
//	probe --> sts: Admit (healthy hosts = round(NLB share x Hosts)) --> pool (principals)
//	ecs loop: Tick --> launches (ec2 --> dwfm-x) / terminates (ec2) / checks (netmgr)
type lambdaService struct {
	st       *Stack
	cfg      lambda.Config
	core     *lambda.Core
	pool     *Pool
	capacity float64
}

type stsService struct {
	st    *Stack
	cfg   sts.Config
	core  *sts.Core
	pool  *Pool
	share float64
}

// Healthy implements sts.Capacity: the NLB's share of the fleet, as last read.
func (t *stsService) Healthy() (int, int) {
	return sts.HealthyHosts(t.share, t.cfg.Hosts), t.cfg.Hosts
}

type ecsService struct {
	st   *Stack
	cfg  ecs.Config
	core *ecs.Core
}

// nlbShare is the NLB's healthy in-service share (GET /admin/state read
// through nlbclient.Share, as Lambda and STS read it).
func (s *Stack) nlbShare() float64 {
	st := s.nlb.State(false)
	return nlbclient.Share(nlbclient.State{InService: st.InService, HealthyCapacity: st.HealthyCapacity, AZsInDNS: st.AZsInDNS})
}

// ddbTable creates a table with a string hash key on DynamoDB's core
// (it may exist).
func (s *Stack) ddbTable(name, key string) error {
	if _, err := s.ddb.core.TableCreate(dynamodb.TableSpec{Name: name, HashKey: key, HashType: "S"}.Input()); err != nil {
		if _, derr := s.ddb.core.TableDescribe(&dynamodb.TableNameInput{TableName: name}); derr != nil {
			return err
		}
	}
	return nil
}

func (s *Stack) buildSQS(cfg *sqs.Config) error {
	core, err := sqs.NewCore(sqs.CoreConfig{AccountID: cfg.AccountID, URLBase: "sim://" + SQSNode}, s.s.Clock(), s.s.Rand())
	if err != nil {
		return err
	}
	s.sqs = core
	s.net.Serve(SQSNode, &Server{Service: apiService})
	return nil
}

func (s *Stack) buildLambda(cfg *lambda.Config) error {
	v, err := cfg.Validated()
	if err != nil {
		return err
	}
	core, err := lambda.NewCore(v.CoreConfig(), s.s.Clock(), s.s.Rand())
	if err != nil {
		return err
	}
	// the server's ensureTables, done before the stack is ready
	if err := s.ddbTable(v.FunctionsTable, "name"); err != nil {
		return err
	}
	if err := s.ddbTable(v.LeasesTable, "mapping"); err != nil {
		return err
	}
	l := &lambdaService{st: s, cfg: v, core: core, pool: s.ddbPool(LambdaNode, v.OpTimeout), capacity: 1}
	s.lambda = l
	s.net.Serve(LambdaNode, &Server{Service: apiService})
	// lambda.Server.loop: read the fleet's capacity every CapacityRefresh,
	// then step the pollers every TickInterval, each call in flight
	s.s.Go(LambdaNode, func(p *Proc) {
		var lastCap = s.s.Now().Add(-v.CapacityRefresh)
		for last := s.s.Now(); ; {
			if now := s.s.Now(); now.Sub(lastCap) >= v.CapacityRefresh {
				lastCap = now
				l.refreshCapacity()
			}
			for _, op := range l.core.Tick(s.s.Now()) {
				l.perform(op)
			}
			last = nextTick(last, v.TickInterval, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
		}
	})
	return nil
}

// refreshCapacity reads the NLB's share; a failed read keeps the last one.
func (l *lambdaService) refreshCapacity() {
	var f float64
	l.st.net.Send(LambdaNode, NLBNode, l.cfg.OpTimeout, func() error { f = l.st.nlbShare(); return nil }, func(err error) {
		if err != nil || f == l.capacity {
			return
		}
		l.st.ev(LambdaNode).Emit("fleet-capacity", "fraction", f, "was", l.capacity)
		l.capacity = f
	})
}

// perform sends one poller op: a lease op is lambda.LeaseRequest on the
// lease table; a poll receives a batch from SQS, invokes, deletes.
func (l *lambdaService) perform(op lambda.Op) {
	if op.Kind == lambda.OpPoll {
		l.poll(op)
		return
	}
	lc, ok := lambda.LeaseRequest(op)
	if !ok {
		l.done(op, lambda.OpResult{Err: fmt.Errorf("unknown op %q", op.Kind)})
		return
	}
	l.pool.Send(func(string) error {
		return l.st.ddb.update(l.cfg.LeasesTable, "mapping", lc.Mapping, lc.Update, lc.Condition, lc.Names, lc.Strings, lc.Numbers)
	},
		func(err error) {
			var de *dynamodb.Error
			if errors.As(err, &de) && de.Code == dynamodb.CodeConditionalCheckFailed {
				l.done(op, lambda.OpResult{Conflict: true})
				return
			}
			l.done(op, lambda.OpResult{Err: err})
		})
}

func (l *lambdaService) done(op lambda.Op, res lambda.OpResult) {
	if kind := l.core.Done(op, res); kind != "" {
		kv := []any{"mapping", op.Mapping, "worker", op.Worker}
		if res.Err != nil {
			kv = append(kv, "error", res.Err.Error())
		}
		l.st.ev(LambdaNode).Emit(kind, kv...)
	}
}

// poll is lambda.Server.poll: receive a batch, invoke the function with
// it, delete the messages only after a successful invocation.
func (l *lambdaService) poll(op lambda.Op) {
	st := l.st
	var msgs []sqs.Message
	var url string
	st.net.Send(LambdaNode, SQSNode, l.cfg.OpTimeout, func() error {
		u, err := st.sqs.QueueURL(op.Queue[lastColon(op.Queue)+1:])
		if err != nil {
			return err
		}
		url = u
		msgs, err = st.sqs.Receive(sqs.ReceiveRequest{QueueURL: u, Max: op.Batch})
		return err
	}, func(err error) {
		if err != nil || len(msgs) == 0 {
			l.done(op, lambda.OpResult{Err: err})
			return
		}
		bodies := make([]string, len(msgs))
		for i, m := range msgs {
			bodies[i] = m.Body
		}
		payload, _ := json.Marshal(map[string]any{"Records": bodies})
		res, ierr := l.core.Invoke(op.Function, payload, l.capacity)
		if ierr == nil && res.FunctionError != "" {
			ierr = fmt.Errorf("function error: %s", res.FunctionError)
		}
		if ierr != nil {
			l.done(op, lambda.OpResult{Err: ierr})
			return
		}
		n := 0
		st.net.Send(LambdaNode, SQSNode, l.cfg.OpTimeout, func() error {
			for _, m := range msgs {
				if st.sqs.DeleteMessage(url, m.ReceiptHandle) == nil {
					n++
				}
			}
			return nil
		}, func(err error) { l.done(op, lambda.OpResult{Processed: n, Err: err}) })
	})
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}

// update is one UpdateItem on the core (the server's failpoints first).
func (d *ddbService) update(table, key, id, update, cond string, names, strs map[string]string, nums map[string]int64) error {
	in := &dynamodb.UpdateItemInput{TableName: table, Key: expr.Item{key: expr.S(id)}, UpdateExpression: update, ConditionExpression: cond}
	in.ExpressionAttributeNames = names
	if len(strs)+len(nums) > 0 {
		in.ExpressionAttributeValues = map[string]expr.Value{}
	}
	for k, v := range strs {
		in.ExpressionAttributeValues[k] = expr.S(v)
	}
	for k, v := range nums {
		n, err := expr.N(strconv.FormatInt(v, 10))
		if err != nil {
			return err
		}
		in.ExpressionAttributeValues[k] = n
	}
	if err := d.fail("UpdateItem"); err != nil {
		return err
	}
	_, err := d.core.ItemUpdate(in)
	return err
}

// putFunction is lambda.Server.putFunction: the record written to the
// functions table under cond; a refused condition is onCondition, any
// other failure Lambda's ServiceException.
func (l *lambdaService) putFunction(p *Proc, f lambda.Function, cond string, onCondition error) error {
	doc, _ := json.Marshal(f)
	err := l.pool.Call(p, func(string) error {
		if err := l.st.ddb.fail("PutItem"); err != nil {
			return err
		}
		in := &dynamodb.PutItemInput{TableName: l.cfg.FunctionsTable,
			Item: expr.Item{"name": expr.S(f.FunctionName), "config": expr.S(string(doc))}, ConditionExpression: cond}
		in.ExpressionAttributeNames = map[string]string{"#n": "name"}
		_, err := l.st.ddb.core.ItemPut(in)
		return err
	})
	var de *dynamodb.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de) && de.Code == dynamodb.CodeConditionalCheckFailed:
		return onCondition
	}
	return fmt.Errorf("%w: metadata store: %v", lambda.ErrService, err)
}

// lambdaCall runs a Lambda API call made by a client: the request leg to
// Lambda's node, then fn in Lambda (which may call DynamoDB); the code is
// Lambda's x-amzn-ErrorType ("" when it succeeded).
func (s *Stack) lambdaCall(fn func(p *Proc) error) string {
	return s.procCode(func(p *Proc) error {
		if err := s.net.Call(p, ProbeNode, LambdaNode, probeTimeout, func() error { return nil }); err != nil {
			return err
		}
		return answeredBy(fn(p), lambda.ErrorType)
	})
}

// procCode runs fn as a client's call (a process of the run) and returns
// its probe code.
func (s *Stack) procCode(fn func(p *Proc) error) string {
	var err error
	if !s.proc(func(p *Proc) { err = fn(p) }) {
		return probeCode(ErrTimeout)
	}
	return probeCode(err)
}

// answered is an error a service answered a call with; code is the
// service's error code for it (what the SDK probes classify).
type answered struct {
	error
	code func(error) string
}

func (e answered) Unwrap() error { return e.error }

// answeredBy wraps a service's error (nil stays nil).
func answeredBy(err error, code func(error) string) error {
	if err == nil {
		return nil
	}
	return answered{err, code}
}

// LambdaCreateFunction is CreateFunction of name (handler echo, or
// "fail"); its probe code (a Lambda error type, or the transport's code).
func (s *Stack) LambdaCreateFunction(name, handler string) string {
	l := s.lambda
	return s.lambdaCall(func(p *Proc) error {
		role := "arn:aws:iam::123456789012:role/cascade-app"
		f, err := l.core.PrepareCreate(lambda.FunctionSpec{FunctionName: name, Role: &role, Handler: &handler, ZipFile: []byte("PK")})
		if err != nil {
			return err
		}
		if err := l.putFunction(p, f, lambda.CreateCondition, fmt.Errorf("%w: Function already exist: %s", lambda.ErrConflict, name)); err != nil {
			return err
		}
		l.core.Put(f)
		s.ev(LambdaNode).Emit("function-created", "function", name)
		return nil
	})
}

// LambdaUpdateFunction is UpdateFunctionConfiguration of name (a new
// description); its probe code.
func (s *Stack) LambdaUpdateFunction(name, description string) string {
	l := s.lambda
	return s.lambdaCall(func(p *Proc) error {
		f, err := l.core.PrepareUpdate(lambda.FunctionSpec{FunctionName: name, Description: &description})
		if err != nil {
			return err
		}
		if err := l.putFunction(p, f, lambda.UpdateCondition, fmt.Errorf("%w: Function not found: %s", lambda.ErrNotFound, f.FunctionArn)); err != nil {
			return err
		}
		l.core.Put(f)
		return nil
	})
}

// LambdaGetFunction is GetFunction of name: a consistent read of its
// record in DynamoDB; its probe code.
func (s *Stack) LambdaGetFunction(name string) string {
	l := s.lambda
	return s.lambdaCall(func(p *Proc) error {
		var out *dynamodb.GetItemOutput
		err := l.pool.Call(p, func(string) error {
			if err := s.ddb.fail("GetItem"); err != nil {
				return err
			}
			var err error
			out, err = s.ddb.core.ItemGet(&dynamodb.GetItemInput{TableName: l.cfg.FunctionsTable, ConsistentRead: true,
				Key: expr.Item{"name": expr.S(lambda.FunctionName(name))}})
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: metadata store: %v", lambda.ErrService, err)
		}
		var f lambda.Function
		doc, ok := out.Item["config"]
		if !ok || json.Unmarshal([]byte(doc.Str()), &f) != nil {
			return fmt.Errorf("%w: Function not found: %s", lambda.ErrNotFound, name)
		}
		l.core.Put(f)
		return nil
	})
}

// LambdaInvoke is Invoke of name, admitted by the fleet's capacity as
// last read from the NLB; its probe code (TooManyRequestsException when
// throttled).
func (s *Stack) LambdaInvoke(name string) string {
	l := s.lambda
	return s.lambdaCall(func(*Proc) error {
		res, err := l.core.Invoke(name, []byte(`{"probe":true}`), l.capacity)
		if err == nil && res.FunctionError != "" {
			err = fmt.Errorf("%w: function error %s", lambda.ErrService, res.FunctionError)
		}
		return err
	})
}

// LambdaCreateMapping is CreateEventSourceMapping of function on the SQS
// queue queueName: its lease record written, then its pollers started.
// It returns the mapping's UUID and the probe code.
func (s *Stack) LambdaCreateMapping(function, queueName string) (string, string) {
	l := s.lambda
	var uuid string
	code := s.lambdaCall(func(p *Proc) error {
		m, err := l.core.PrepareMapping(function, "arn:aws:sqs:us-east-1:"+s.sqs.Config().AccountID+":"+queueName, 10, true)
		if err != nil {
			return err
		}
		err = l.pool.Call(p, func(string) error {
			if err := s.ddb.fail("PutItem"); err != nil {
				return err
			}
			n, _ := expr.N("0")
			_, err := s.ddb.core.ItemPut(&dynamodb.PutItemInput{TableName: l.cfg.LeasesTable, Item: expr.Item{"mapping": expr.S(m.UUID), "checkpoint": n}})
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: metadata store: %v", lambda.ErrService, err)
		}
		l.core.AddMapping(m)
		uuid = m.UUID
		s.ev(LambdaNode).Emit("mapping-created", "mapping", m.UUID, "source", m.EventSourceArn, "function", m.FunctionArn)
		return nil
	})
	return uuid, code
}

// LambdaPollers is Lambda's GET /admin/pollers.
func (s *Stack) LambdaPollers() []lambda.PollerState { return s.lambda.core.Pollers() }

// LambdaStats is Lambda's invocation counters and the fleet's capacity as
// last read.
func (s *Stack) LambdaStats() (lambda.Stats, float64) {
	return s.lambda.core.Stats(), s.lambda.capacity
}

// RestartLambdaPollers is the operators' restart-lambda-pollers (POST
// /admin/pollers/restart): every lease record released, every poller
// restarted; it returns the mappings.
func (s *Stack) RestartLambdaPollers() int {
	n := s.lambda.core.RestartPollers()
	s.ev(LambdaNode).Emit("pollers-restarted", "mappings", n)
	return n
}

// SQSCreateQueue creates (or finds) queue name; its probe code.
func (s *Stack) SQSCreateQueue(name string) string {
	return s.nodeCall(SQSNode, func() error { _, err := s.sqs.CreateQueue(name, nil); return err })
}

// SQSSend sends body to queue name; its probe code.
func (s *Stack) SQSSend(name, body string) string {
	return s.nodeCall(SQSNode, func() error {
		url, err := s.sqs.QueueURL(name)
		if err == nil {
			_, err = s.sqs.SendMessage(url, body, nil)
		}
		return err
	})
}

// SQSDepth is queue name's visible and in-flight messages (the admin
// view; -1 for an unknown queue).
func (s *Stack) SQSDepth(name string) int {
	for _, q := range s.sqs.Stats() {
		if q.Name == name {
			return q.Visible + q.InFlight
		}
	}
	return -1
}

// nodeCall is a client's call to node whose handler fn runs there; its
// probe code.
func (s *Stack) nodeCall(node string, fn func() error) string {
	return s.procCode(func(p *Proc) error { return s.net.Call(p, ProbeNode, node, probeTimeout, fn) })
}

func (s *Stack) buildSTS(cfg *sts.Config) error {
	v, err := cfg.Validated()
	if err != nil {
		return err
	}
	t := &stsService{st: s, cfg: v, pool: s.ddbPool(STSNode, probeTimeout), share: 1}
	cc := v.CoreConfig()
	cc.Capacity = t
	if t.core, err = sts.NewCore(cc, s.s.Clock(), s.s.Rand()); err != nil {
		return err
	}
	t.cfg.Hosts = t.core.Config().Hosts
	// the server seeds its principals once the store answers: at start
	if err := s.ddbTable(sts.Table, "key"); err != nil {
		return err
	}
	for _, r := range v.Principals {
		if _, err := s.ddb.core.ItemPut(&dynamodb.PutItemInput{TableName: sts.Table, Item: expr.Item{"key": expr.S(r.Key),
			"account": expr.S(r.Account), "id": expr.S(r.ID), "arn": expr.S(r.ARN)}}); err != nil {
			return err
		}
	}
	s.sts = t
	s.net.Serve(STSNode, &Server{Service: apiService})
	// sts.Server.watchNLB: the NLB's share every CapacityRefresh
	s.s.Go(STSNode, func(p *Proc) {
		for last := s.s.Now(); ; {
			last = nextTick(last, v.CapacityRefresh, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
			var f float64
			s.net.Send(STSNode, NLBNode, probeTimeout, func() error { f = s.nlbShare(); return nil }, func(err error) {
				if err == nil && f != t.share {
					s.ev(STSNode).Emit("fleet-share", "share", f, "was", t.share)
					t.share = f
				}
			})
		}
	})
	return nil
}

// principal is sts.Server.principal: the core's cache, else a read of
// the principals table through the regional name.
func (t *stsService) principal(p *Proc, key string) (sts.Record, error) {
	if rec, ok := t.core.Cached(key); ok {
		return rec, nil
	}
	var out *dynamodb.GetItemOutput
	err := t.pool.Call(p, func(string) error {
		if err := t.st.ddb.fail("GetItem"); err != nil {
			return err
		}
		var err error
		out, err = t.st.ddb.core.ItemGet(&dynamodb.GetItemInput{TableName: sts.Table, ConsistentRead: true, Key: expr.Item{"key": expr.S(key)}})
		return err
	})
	var rec sts.Record
	found := err == nil && out.Item != nil
	if found {
		rec = sts.Record{Key: key, Account: out.Item["account"].Str(), ID: out.Item["id"].Str(), ARN: out.Item["arn"].Str()}
	}
	return t.core.Read(key, rec, found, err)
}

// STSAssumeRole is AssumeRole of the default role (sts.DefaultRole) by
// the default user's key, as the sts-assumerole probe; its probe code
// (an STS error code: InternalFailure when a principal is unreadable,
// ServiceUnavailable with no healthy host, Throttling over capacity).
func (s *Stack) STSAssumeRole() string {
	t := s.sts
	return s.procCode(func(p *Proc) error {
		var admit error
		if err := s.net.Call(p, ProbeNode, STSNode, probeTimeout, func() error { admit = t.core.Admit(); return nil }); err != nil {
			return err
		}
		if admit != nil {
			return answeredBy(admit, sts.Code)
		}
		if _, err := t.principal(p, sts.DefaultUser.Key); err != nil {
			return answeredBy(err, sts.Code)
		}
		role, err := t.principal(p, sts.DefaultRole.Key)
		if err == nil {
			_, err = t.core.AssumeRole(role, ProbeResource, 0)
		}
		return answeredBy(err, sts.Code)
	})
}

// STSHealthyHosts is STS's fleet as the NLB routes to it now.
func (s *Stack) STSHealthyHosts() (int, int) { return s.sts.Healthy() }

func (s *Stack) buildECS(cfg *ecs.Config) error {
	v, err := cfg.Validated()
	if err != nil {
		return err
	}
	core, err := ecs.NewCore(v.CoreConfig(), s.s.Clock(), s.s.Rand())
	if err != nil {
		return err
	}
	e := &ecsService{st: s, cfg: v, core: core}
	s.ecs = e
	s.net.Serve(ECSNode, &Server{Service: apiService})
	// ecs.Server.loop: the scheduler every TickInterval
	s.s.Go(ECSNode, func(p *Proc) {
		for last := s.s.Now(); ; {
			last = nextTick(last, v.TickInterval, s.s.Now())
			p.Sleep(last.Sub(s.s.Now()))
			e.do(p, e.core.Tick())
		}
	})
	return nil
}

// do is ecs.Server.do: launches (EC2 RunInstances), terminations, the
// PENDING tasks' connectivity (Network Manager), until nothing is left.
func (e *ecsService) do(p *Proc, r ecs.Ready) {
	s := e.st
	for len(r.Launches)+len(r.Terminates)+len(r.Check) > 0 {
		for _, l := range r.Launches {
			ins, err := s.runInstances(p, ECSNode, ec2.LaunchSpec{ImageID: "ami-0fa4fa6a7e5c0c0de", InstanceType: "t3.micro",
				Zone: e.cfg.Zone, MinCount: 1, MaxCount: 1})
			id := ""
			if err == nil && len(ins) == 1 {
				id = ins[0].ID
			} else if err == nil {
				err = errors.New("run instance: no instance in the reservation")
			}
			t, _ := e.core.Launched(l.TaskARN, id, err)
			e.observe(t, err)
		}
		for _, id := range r.Terminates {
			if err := s.net.Call(p, ECSNode, EC2Node, probeTimeout, func() error { _, err := s.ec2.Terminate([]string{id}); return err }); err != nil {
				s.ev(ECSNode).Emit("ecs-terminate-failed", "instance", id, "error", err.Error())
			}
		}
		for _, a := range r.Check {
			t, _ := e.core.Task(a)
			var ok bool
			err := s.net.Call(p, ECSNode, NetMgrNode, probeTimeout, func() error {
				st, err := s.nm.Instance(t.InstanceID)
				ok = err == nil && st.Propagated
				return nil
			})
			e.core.Connectivity(a, ok && err == nil)
			t, _ = e.core.Task(a)
			e.observe(t, nil)
		}
		r = e.core.Ready()
	}
}

func (e *ecsService) observe(t ecs.Task, launchErr error) {
	switch t.LastStatus {
	case ecs.StatusStopped:
		kv := []any{"task", t.ARN, "group", t.Group, "reason", t.StoppedReason}
		if launchErr != nil {
			kv = append(kv, "error", launchErr.Error())
		}
		e.st.ev(ECSNode).Emit("ecs-task-stopped", kv...)
	case ecs.StatusRunning:
		e.st.ev(ECSNode).Emit("ecs-task-running", "task", t.ARN, "group", t.Group, "instance", t.InstanceID)
	}
}

// ECSService is the ecs-service probe on service name (cluster name too;
// harness/probes uses ProbeResource): the first call creates the cluster and
// a service of desired count 1; it returns the service's running count and
// the probe code ("ecs-below-desired" while it runs no task).
func (s *Stack) ECSService(name string) (int, string) {
	e := s.ecs
	running := 0
	var err error
	done := s.proc(func(p *Proc) {
		err = s.net.Call(p, ProbeNode, ECSNode, probeTimeout, func() error {
			if !s.ecsCreated[name] {
				if _, err := e.core.CreateCluster(name); err != nil {
					return err
				}
				if _, err := e.core.CreateService(name, name, name+":1", 1); err != nil {
					return err
				}
				s.ecsCreated[name] = true
			}
			_, counts, _, err := e.core.DescribeServices(name, []string{name})
			if err == nil && len(counts) == 1 {
				running = counts[0].Running
			}
			return err
		})
	})
	switch {
	case !done:
		return 0, probeCode(ErrTimeout)
	case err != nil:
		return 0, probeCode(err)
	case running < 1:
		return 0, codeBelowDesired
	}
	return running, ""
}

// ECSScale is UpdateService of service name (in cluster name) to desired
// tasks; its probe code.
func (s *Stack) ECSScale(name string, desired int) string {
	return s.nodeCall(ECSNode, func() error {
		_, err := s.ecs.core.UpdateService(name, name, desired)
		return err
	})
}
