package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
)

// TargetPrefix is the X-Amz-Target prefix of every ECS operation.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// Fleet is the EC2 capacity Fargate runs tasks on.
type Fleet interface {
	// Launch starts one instance for a task.
	Launch(ctx context.Context) (instanceID string, err error)
	// Terminate gives an instance back.
	Terminate(ctx context.Context, instanceID string) error
	// Connected reports whether the instance has network connectivity.
	Connected(ctx context.Context, instanceID string) (bool, error)
}

// EC2Fleet launches through the EC2 Query API (aws-sdk-go-v2 service/ec2)
// and asks Network Manager whether an instance's state has propagated.
type EC2Fleet struct {
	EC2    *ec2sdk.Client
	NetMgr *netmgrclient.Client
	// Zone is the Availability Zone tasks launch in.
	Zone string
}

// Launch implements Fleet with RunInstances.
func (f *EC2Fleet) Launch(ctx context.Context) (string, error) {
	out, err := f.EC2.RunInstances(ctx, &ec2sdk.RunInstancesInput{ImageId: aws.String("ami-0fa4fa6a7e5c0c0de"),
		InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &ec2types.Placement{AvailabilityZone: aws.String(f.Zone)}})
	if err != nil {
		return "", fmt.Errorf("run instance: %w", err)
	}
	if len(out.Instances) != 1 {
		return "", errors.New("run instance: no instance in the reservation")
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

// Terminate implements Fleet with TerminateInstances.
func (f *EC2Fleet) Terminate(ctx context.Context, id string) error {
	_, err := f.EC2.TerminateInstances(ctx, &ec2sdk.TerminateInstancesInput{InstanceIds: []string{id}})
	return err
}

// Connected implements Fleet: the instance's state reached every location.
func (f *EC2Fleet) Connected(ctx context.Context, id string) (bool, error) {
	st, err := f.NetMgr.Instance(ctx, id)
	if err != nil {
		return false, err
	}
	return st.Propagated, nil
}

// Config configures an ECS server. Durations are incident time.
type Config struct {
	// Mode, StartTimeout, RetryBase, RetryMax: see CoreConfig.
	Mode         kit.Mode      `flag:"mode" usage:"aswas, or fixed: an instance whose task timed out is kept for the cluster's next task"`
	StartTimeout time.Duration `flag:"start-timeout" usage:"how long a task waits for connectivity, incident time (default 10m)"`
	RetryBase    time.Duration `flag:"retry-base" usage:"service scheduler's first backoff, incident time (default 1m)"`
	RetryMax     time.Duration `flag:"retry-max" usage:"service scheduler's longest backoff, incident time (default 15m)"`
	// Addr serves the ECS API.
	Addr string `flag:"addr" usage:"ECS JSON API listen address"`
	// EC2URL and NetMgrURL reach EC2's Query API and Network Manager
	// (ignored when Fleet is set).
	EC2URL    string `flag:"ec2" usage:"EC2 Query API URL, usually a link proxy"`
	NetMgrURL string `flag:"netmgr" usage:"Network Manager API URL, usually a link proxy"`
	// Zone is where tasks launch (default us-east-1a).
	Zone string `flag:"zone" usage:"zone tasks launch in (default us-east-1a)"`
	// Fleet replaces the EC2 fleet (tests).
	Fleet Fleet `flag:"-"`
	// TickInterval is the service scheduler's period.
	TickInterval time.Duration `flag:"tick" usage:"service scheduler period, incident time (default 30s)"`
	// CallTimeout bounds one EC2 or Network Manager call (wall time).
	CallTimeout time.Duration `flag:"call-timeout" usage:"EC2 or Network Manager call timeout, wall time (default 2s)"`
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.Zone == "" {
		c.Zone = "us-east-1a"
	}
	if c.TickInterval == 0 {
		c.TickInterval = 30 * time.Second
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 2 * time.Second
	}
	if c.TickInterval < 0 || c.CallTimeout < 0 {
		return fmt.Errorf("tick %v, call timeout %v: must be positive", c.TickInterval, c.CallTimeout)
	}
	if c.Fleet == nil && (c.EC2URL == "" || c.NetMgrURL == "") {
		return errors.New("ecs config: EC2URL and NetMgrURL are required without a Fleet")
	}
	return nil
}

// Server is the ECS transport: the JSON 1.1 API and the scheduler loop
// around a Core, performing its launches against the Fleet.
type Server struct {
	cfg   Config
	env   *kit.Env
	fleet Fleet

	mu   sync.Mutex
	core *Core
	// perform serialises fleet work so a task is launched once.
	perform sync.Mutex

	http     *kit.HTTPServer
	loops    kit.Loop
	requests *prometheus.CounterVec
	stopped  *prometheus.CounterVec
}

// Validated is c with its defaults filled in, or the error New would
// return: the one reading of a Config, for transports other than Server
// (the simulation backend).
func (c Config) Validated() (Config, error) {
	err := c.validate()
	return c, err
}

// CoreConfig is the core configuration of a Validated Config: what New
// builds its Core from.
func (c Config) CoreConfig() CoreConfig {
	return CoreConfig{Mode: c.Mode, StartTimeout: c.StartTimeout, RetryBase: c.RetryBase, RetryMax: c.RetryMax}
}

// New validates cfg and builds a server; Start serves it.
func New(cfg Config, env *kit.Env) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	core, err := NewCore(cfg.CoreConfig(), env.Clock, env.Rand)
	if err != nil {
		return nil, err
	}
	cfg.Mode = core.cfg.Mode
	fleet := cfg.Fleet
	if fleet == nil {
		c, err := awsclient.EC2(cfg.EC2URL, awsclient.WithTimeout(cfg.CallTimeout), awsclient.WithMaxAttempts(1))
		if err != nil {
			return nil, fmt.Errorf("ecs: %w", err)
		}
		fleet = &EC2Fleet{EC2: c, NetMgr: netmgrclient.NewClient(cfg.NetMgrURL, env.Clock, nil), Zone: cfg.Zone}
	}
	s := &Server{cfg: cfg, env: env, fleet: fleet, core: core,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_ecs_requests_total",
			Help: "ECS API requests by operation and outcome (ok or the error type)."}, []string{"operation", "outcome"}),
		stopped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_ecs_tasks_stopped_total",
			Help: "Tasks stopped, by stop code."}, []string{"stop_code"})}
	env.Metrics.MustRegister(s.requests, s.stopped)
	return s, nil
}

// Start serves the API and runs the scheduler.
func (s *Server) Start(ctx context.Context) error {
	h, err := kit.StartHTTP(s.cfg.Addr, s.Handler())
	if err != nil {
		return fmt.Errorf("start ecs: %w", err)
	}
	s.http = h
	s.loops.Start(ctx, s.loop)
	s.env.Events.Emit("ecs-started", "addr", h.Addr(), "mode", string(s.cfg.Mode))
	return nil
}

// URL is http://addr (after Start).
func (s *Server) URL() string { return s.http.URL() }

// Close stops the loop and the listener; it may be called more than once.
func (s *Server) Close() error {
	s.loops.Close()
	return s.http.Close()
}

func (s *Server) loop(ctx context.Context) {
	t := s.env.Clock.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		s.Tick(ctx)
	}
}

// Tick runs the scheduler once and performs what it asks (the loop's body;
// tests on a fake clock call it directly).
func (s *Server) Tick(ctx context.Context) {
	s.mu.Lock()
	r := s.core.Tick()
	s.mu.Unlock()
	s.do(ctx, r)
}

// do performs a Ready: launches, terminations, connectivity checks, and
// again for the terminations those checks caused.
func (s *Server) do(ctx context.Context, r Ready) {
	s.perform.Lock()
	defer s.perform.Unlock()
	for len(r.Launches)+len(r.Terminates)+len(r.Check) > 0 {
		for _, l := range r.Launches {
			id, err := s.fleet.Launch(ctx)
			s.mu.Lock()
			t, _ := s.core.Launched(l.TaskARN, id, err)
			s.mu.Unlock()
			s.observeTask(t, err)
		}
		for _, id := range r.Terminates {
			if err := s.fleet.Terminate(ctx, id); err != nil {
				s.env.Events.Emit("ecs-terminate-failed", "instance", id, "error", err.Error())
			}
		}
		for _, a := range r.Check {
			ok, err := s.fleet.Connected(ctx, a2i(s, a))
			s.mu.Lock()
			s.core.Connectivity(a, ok && err == nil)
			t := *s.core.tasks[a]
			s.mu.Unlock()
			s.observeTask(t, nil)
		}
		s.mu.Lock()
		r = s.core.Ready()
		s.mu.Unlock()
	}
}

func a2i(s *Server, taskARN string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _ := s.core.Task(taskARN)
	return t.InstanceID
}

func (s *Server) observeTask(t Task, launchErr error) {
	switch t.LastStatus {
	case StatusStopped:
		s.stopped.WithLabelValues(t.StopCode).Inc()
		kv := []any{"task", t.ARN, "group", t.Group, "reason", t.StoppedReason}
		if launchErr != nil {
			kv = append(kv, "error", launchErr.Error())
		}
		s.env.Events.Emit("ecs-task-stopped", kv...)
	case StatusRunning:
		s.env.Events.Emit("ecs-task-running", "task", t.ARN, "group", t.Group, "instance", t.InstanceID)
	}
}

// Handler is the ECS JSON 1.1 API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// maxBody bounds a request body.
const maxBody = 1 << 20

// decode reads the operation name of a request.
func decode(r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", apiErr(TypeUnknownOperation, "ECS operations are POSTed")
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if !ok || op == "" {
		return "", apiErr(TypeUnknownOperation, "missing or unknown X-Amz-Target")
	}
	return op, nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, err := decode(r)
	var out any
	if err == nil {
		var body []byte
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
		if err != nil {
			err = apiErr(TypeSerialization, "could not read the request body")
		} else {
			out, err = s.dispatch(r.Context(), op, body)
		}
	}
	outcome := "ok"
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err != nil {
		ae := toAPIError(err)
		outcome = ae.Type
		w.WriteHeader(ae.Status())
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.Type, "message": ae.Message})
	} else {
		_ = json.NewEncoder(w).Encode(out)
	}
	if _, known := handlers[op]; !known {
		op = "other"
	}
	s.requests.WithLabelValues(op, outcome).Inc()
}

type handler func(s *Server, ctx context.Context, body []byte) (any, error)

var handlers = map[string]handler{
	"CreateCluster":    (*Server).ClusterCreate,
	"RunTask":          (*Server).TaskRun,
	"DescribeTasks":    (*Server).TasksDescribe,
	"CreateService":    (*Server).ServiceCreate,
	"UpdateService":    (*Server).ServiceUpdate,
	"DescribeServices": (*Server).ServicesDescribe,
}

func (s *Server) dispatch(ctx context.Context, op string, body []byte) (any, error) {
	h, ok := handlers[op]
	if !ok {
		return nil, apiErr(TypeUnknownOperation, "operation %s is not supported", op)
	}
	return h(s, ctx, body)
}

func unmarshal(body []byte, in any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, in); err != nil {
		return apiErr(TypeSerialization, "could not parse the request: %v", err)
	}
	return nil
}

// ClusterCreate answers CreateCluster.
func (s *Server) ClusterCreate(_ context.Context, body []byte) (any, error) {
	var in struct {
		ClusterName string `json:"clusterName"`
	}
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, err := s.core.CreateCluster(in.ClusterName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"cluster": s.jsonCluster(cl)}, nil
}

// TaskRun answers RunTask: it launches the tasks' instances before it
// answers, so a launch EC2 refuses comes back as a failure.
func (s *Server) TaskRun(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Cluster        string `json:"cluster"`
		TaskDefinition string `json:"taskDefinition"`
		Count          *int   `json:"count"`
		LaunchType     string `json:"launchType"`
		Group          string `json:"group"`
		StartedBy      string `json:"startedBy"`
	}
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.LaunchType != "" && in.LaunchType != "FARGATE" {
		return nil, apiErr(TypeInvalidParameter, "launchType %s is not supported: this cluster runs FARGATE tasks only", in.LaunchType)
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	s.mu.Lock()
	tasks, err := s.core.RunTask(in.Cluster, in.TaskDefinition, in.Group, in.StartedBy, count)
	r := s.core.Ready()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.do(ctx, r)
	out := map[string]any{"tasks": []any{}, "failures": []any{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts, fs []any
	for _, t := range tasks {
		t = *s.core.tasks[t.ARN]
		if t.LastStatus == StatusStopped && t.StoppedReason == ReasonCapacity {
			fs = append(fs, map[string]string{"arn": t.ARN, "reason": ReasonCapacity})
			continue
		}
		ts = append(ts, s.jsonTask(t))
	}
	if ts != nil {
		out["tasks"] = ts
	}
	if fs != nil {
		out["failures"] = fs
	}
	return out, nil
}

// TasksDescribe answers DescribeTasks.
func (s *Server) TasksDescribe(_ context.Context, body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tasks, missing, err := s.core.DescribeTasks(in.Cluster, in.Tasks)
	if err != nil {
		return nil, err
	}
	ts, fs := []any{}, []any{}
	for _, t := range tasks {
		ts = append(ts, s.jsonTask(t))
	}
	for _, m := range missing {
		fs = append(fs, map[string]string{"arn": m, "reason": "MISSING"})
	}
	return map[string]any{"tasks": ts, "failures": fs}, nil
}

// ServiceCreate answers CreateService.
func (s *Server) ServiceCreate(_ context.Context, body []byte) (any, error) {
	var in struct {
		Cluster        string `json:"cluster"`
		ServiceName    string `json:"serviceName"`
		TaskDefinition string `json:"taskDefinition"`
		DesiredCount   *int   `json:"desiredCount"`
		LaunchType     string `json:"launchType"`
	}
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.LaunchType != "" && in.LaunchType != "FARGATE" {
		return nil, apiErr(TypeInvalidParameter, "launchType %s is not supported: this cluster runs FARGATE tasks only", in.LaunchType)
	}
	desired := 0
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, err := s.core.CreateService(in.Cluster, in.ServiceName, in.TaskDefinition, desired)
	if err != nil {
		return nil, err
	}
	return map[string]any{"service": s.jsonService(svc, ServiceCounts{})}, nil
}

// ServiceUpdate answers UpdateService (desiredCount).
func (s *Server) ServiceUpdate(_ context.Context, body []byte) (any, error) {
	var in struct {
		Cluster      string `json:"cluster"`
		Service      string `json:"service"`
		DesiredCount *int   `json:"desiredCount"`
	}
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.Service == "" {
		return nil, apiErr(TypeInvalidParameter, "service is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.core.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	desired := cur.DesiredCount
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	svc, err := s.core.UpdateService(in.Cluster, in.Service, desired)
	if err != nil {
		return nil, err
	}
	_, n, _, _ := s.core.DescribeServices(in.Cluster, []string{svc.Name})
	return map[string]any{"service": s.jsonService(svc, n[0])}, nil
}

// ServicesDescribe answers DescribeServices.
func (s *Server) ServicesDescribe(_ context.Context, body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
	}
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	svcs, counts, missing, err := s.core.DescribeServices(in.Cluster, in.Services)
	if err != nil {
		return nil, err
	}
	ss, fs := []any{}, []any{}
	for i, svc := range svcs {
		ss = append(ss, s.jsonService(svc, counts[i]))
	}
	for _, m := range missing {
		fs = append(fs, map[string]string{"arn": m, "reason": "MISSING"})
	}
	return map[string]any{"services": ss, "failures": fs}, nil
}

// epoch renders a timestamp as JSON 1.1 does (seconds, fractional).
func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixMilli()) / 1000
}

func (s *Server) taskDefARN(td string) string {
	if strings.HasPrefix(td, "arn:") {
		return td
	}
	return "arn:aws:ecs:" + s.core.cfg.Region + ":" + s.core.cfg.Account + ":task-definition/" + td
}

func (s *Server) jsonCluster(cl Cluster) map[string]any {
	return map[string]any{"clusterArn": cl.ARN, "clusterName": cl.Name, "status": cl.Status,
		"registeredContainerInstancesCount": 0, "runningTasksCount": 0, "pendingTasksCount": 0, "activeServicesCount": 0}
}

func (s *Server) jsonTask(t Task) map[string]any {
	m := map[string]any{"taskArn": t.ARN, "clusterArn": t.Cluster, "taskDefinitionArn": s.taskDefARN(t.TaskDefinition),
		"lastStatus": t.LastStatus, "desiredStatus": t.DesiredStatus, "launchType": "FARGATE", "platformVersion": "1.4.0",
		"availabilityZone": s.cfg.Zone, "cpu": "256", "memory": "512", "createdAt": epoch(t.CreatedAt)}
	for k, v := range map[string]string{"group": t.Group, "startedBy": t.StartedBy, "stoppedReason": t.StoppedReason, "stopCode": t.StopCode} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range map[string]time.Time{"startedAt": t.StartedAt, "stoppingAt": t.StoppingAt, "stoppedAt": t.StoppedAt} {
		if !v.IsZero() {
			m[k] = epoch(v)
		}
	}
	return m
}

func (s *Server) jsonService(svc Service, n ServiceCounts) map[string]any {
	return map[string]any{"serviceArn": svc.ARN, "serviceName": svc.Name, "clusterArn": s.core.arn("cluster", svc.Cluster),
		"status": svc.Status, "desiredCount": svc.DesiredCount, "runningCount": n.Running, "pendingCount": n.Pending,
		"launchType": "FARGATE", "taskDefinition": s.taskDefARN(svc.TaskDefinition), "createdAt": epoch(svc.CreatedAt)}
}
