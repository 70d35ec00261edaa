package ecs

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Errors the core returns; the transport maps them to ECS's __type in one place.
var (
	// ErrClusterNotFound: no such cluster.
	ErrClusterNotFound = errors.New("cluster not found")
	// ErrServiceNotFound: no such service.
	ErrServiceNotFound = errors.New("service not found")
	// ErrServiceExists: CreateService with the name of an active service.
	ErrServiceExists = errors.New("creation of service was not idempotent")
	// ErrInvalid: malformed input.
	ErrInvalid = errors.New("invalid parameter")
)

// Task states (lastStatus).
const (
	StatusProvisioning = "PROVISIONING"
	StatusPending      = "PENDING"
	StatusRunning      = "RUNNING"
	StatusStopped      = "STOPPED"
)

// Stopped reasons, as ECS words them.
const (
	// ReasonCapacity is RunTask's failure reason when Fargate cannot get
	// capacity (ECS's "API failure reasons").
	ReasonCapacity = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
	// ReasonENITimeout is a task's stoppedReason when its network interface
	// never became usable.
	ReasonENITimeout = "Timeout waiting for network interface provisioning to complete."
	// ReasonScaling is the stoppedReason of a task a service scaled in.
	ReasonScaling = "Scaling activity initiated by (deployment ecs-svc)"
	// StopCodeFailedToStart is the stopCode of a task that never ran.
	StopCodeFailedToStart = "TaskFailedToStart"
	// StopCodeServiceScheduler is the stopCode of a task a service stopped.
	StopCodeServiceScheduler = "ServiceSchedulerInitiated"
)

// CoreConfig parameterises the Fargate mechanism.
type CoreConfig struct {
	// Mode: as-was a task that fails to start gives its instance back
	// (terminate) and the next attempt launches a new one; fixed keeps the
	// instance and retries the task on it (see docs/sts-ecs.md).
	Mode kit.Mode
	// Account and Region build ARNs.
	Account, Region string
	// StartTimeout is how long a task waits in PENDING for its instance's
	// network connectivity before it stops with ReasonENITimeout.
	StartTimeout time.Duration
	// RetryBase and RetryMax bound the service scheduler's backoff between
	// attempts after failed launches (doubling from RetryBase).
	RetryBase, RetryMax time.Duration
}

func (c *CoreConfig) validate() error {
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.Account == "" {
		c.Account = "123456789012"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 10 * time.Minute
	}
	if c.RetryBase == 0 {
		c.RetryBase = time.Minute
	}
	if c.RetryMax == 0 {
		c.RetryMax = 15 * time.Minute
	}
	if c.StartTimeout < 0 || c.RetryBase < 0 || c.RetryMax < c.RetryBase {
		return fmt.Errorf("start timeout %v, retry %v..%v: must be positive and ordered", c.StartTimeout, c.RetryBase, c.RetryMax)
	}
	return nil
}

// Task is one Fargate task.
type Task struct {
	ARN, Cluster, TaskDefinition, Group, StartedBy string
	LastStatus, DesiredStatus                      string
	StoppedReason, StopCode                        string
	InstanceID                                     string
	CreatedAt, StartedAt, StoppingAt, StoppedAt    time.Time
}

// Service keeps DesiredCount tasks of its task definition running.
type Service struct {
	Name, ARN, Cluster, TaskDefinition string
	DesiredCount                       int
	Status                             string
	CreatedAt                          time.Time
	// failures counts consecutive failed launches (backoff), next is when
	// the scheduler tries again.
	failures int
	next     time.Time
}

// Cluster is an ECS cluster.
type Cluster struct {
	Name, ARN, Status string
}

// Launch asks the transport for one instance for a task (EC2 RunInstances).
type Launch struct{ TaskARN string }

// Ready is what the core wants done: instances to launch for tasks, to
// terminate, and to ask connectivity of (tasks waiting in PENDING).
type Ready struct {
	Launches   []Launch
	Terminates []string
	Check      []string
}

// Core is the Fargate mechanism. It is not safe for concurrent use: the
// transport serialises calls. Time comes from the clock, randomness from rng.
type Core struct {
	cfg   CoreConfig
	clock kit.Clock
	rng   *rand.Rand

	clusters map[string]*Cluster
	services map[string]*Service // cluster/name
	tasks    map[string]*Task
	order    []string // task ARNs in creation order
	spare    []string // fixed: instances kept from tasks that failed to start
	ready    Ready
}

// NewCore validates cfg and returns a core.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ecs core: %w", err)
	}
	if clock == nil || rng == nil {
		panic("ecs: NewCore needs a clock and a rand")
	}
	return &Core{cfg: cfg, clock: clock, rng: rng, clusters: map[string]*Cluster{}, services: map[string]*Service{}, tasks: map[string]*Task{}}, nil
}

// Config is the validated configuration.
func (c *Core) Config() CoreConfig { return c.cfg }

func (c *Core) arn(kind, rest string) string {
	return "arn:aws:ecs:" + c.cfg.Region + ":" + c.cfg.Account + ":" + kind + "/" + rest
}

func (c *Core) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[c.rng.Intn(16)]
	}
	return string(b)
}

// CreateCluster creates (or returns) the cluster name ("default" when empty).
func (c *Core) CreateCluster(name string) (Cluster, error) {
	if name == "" {
		name = "default"
	}
	if len(name) > 255 || !validName(name) {
		return Cluster{}, fmt.Errorf("%w: cluster name %q: up to 255 letters, numbers, hyphens and underscores", ErrInvalid, name)
	}
	if cl, ok := c.clusters[name]; ok {
		return *cl, nil
	}
	cl := &Cluster{Name: name, ARN: c.arn("cluster", name), Status: "ACTIVE"}
	c.clusters[name] = cl
	return *cl, nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

// cluster resolves a cluster name or ARN ("default" when empty).
func (c *Core) cluster(ref string) (*Cluster, error) {
	if ref == "" {
		ref = "default"
	}
	for _, cl := range c.clusters {
		if cl.Name == ref || cl.ARN == ref {
			return cl, nil
		}
	}
	return nil, ErrClusterNotFound
}

// RunTask creates count tasks in PROVISIONING and asks for an instance for
// each (Ready().Launches). The transport reports each launch with Launched.
func (c *Core) RunTask(cluster, taskDef, group, startedBy string, count int) ([]Task, error) {
	cl, err := c.cluster(cluster)
	if err != nil {
		return nil, err
	}
	if taskDef == "" {
		return nil, fmt.Errorf("%w: taskDefinition is required", ErrInvalid)
	}
	if count < 1 || count > 10 {
		return nil, fmt.Errorf("%w: count must be between 1 and 10", ErrInvalid)
	}
	var out []Task
	for range count {
		out = append(out, *c.newTask(cl, taskDef, group, startedBy))
	}
	return out, nil
}

func (c *Core) newTask(cl *Cluster, taskDef, group, startedBy string) *Task {
	t := &Task{ARN: c.arn("task", cl.Name+"/"+c.hex(32)), Cluster: cl.ARN, TaskDefinition: taskDef, Group: group, StartedBy: startedBy,
		LastStatus: StatusProvisioning, DesiredStatus: StatusRunning, CreatedAt: c.clock.Now()}
	c.tasks[t.ARN] = t
	c.order = append(c.order, t.ARN)
	if n := len(c.spare); n > 0 { // fixed: an instance kept from a failed start
		t.InstanceID, c.spare = c.spare[n-1], c.spare[:n-1]
		t.LastStatus = StatusPending
		return t
	}
	c.ready.Launches = append(c.ready.Launches, Launch{TaskARN: t.ARN})
	return t
}

// Launched reports the outcome of a task's instance launch: the instance, or
// the launch's error. A failed launch stops the task before it ever ran
// (ReasonCapacity) and returns it, so RunTask can answer with a failure.
func (c *Core) Launched(taskARN, instanceID string, launchErr error) (Task, error) {
	t, ok := c.tasks[taskARN]
	if !ok || t.LastStatus != StatusProvisioning {
		return Task{}, fmt.Errorf("%w: task %s is not provisioning", ErrInvalid, taskARN)
	}
	if launchErr != nil {
		c.stop(t, ReasonCapacity, StopCodeFailedToStart)
		c.failed(t.Group)
		return *t, nil
	}
	t.InstanceID, t.LastStatus = instanceID, StatusPending
	return *t, nil
}

// Connectivity reports whether a PENDING task's instance has network
// connectivity: with it the task runs; without it past StartTimeout the task
// stops with ReasonENITimeout.
func (c *Core) Connectivity(taskARN string, connected bool) {
	t, ok := c.tasks[taskARN]
	if !ok || t.LastStatus != StatusPending {
		return
	}
	now := c.clock.Now()
	switch {
	case connected:
		t.LastStatus, t.StartedAt = StatusRunning, now
		if s := c.serviceOf(t.Group); s != nil {
			s.failures = 0
		}
	case now.Sub(t.CreatedAt) >= c.cfg.StartTimeout:
		inst := t.InstanceID
		c.stop(t, ReasonENITimeout, StopCodeFailedToStart)
		if c.cfg.Mode.IsFixed() {
			// keep the instance, whose state is still on its way, for the next attempt
			c.spare = append(c.spare, inst)
			t.InstanceID = ""
		}
		c.failed(t.Group)
	}
}

func (c *Core) stop(t *Task, reason, code string) {
	now := c.clock.Now()
	if t.InstanceID != "" && !(code == StopCodeFailedToStart && c.cfg.Mode.IsFixed()) {
		c.ready.Terminates = append(c.ready.Terminates, t.InstanceID)
	}
	t.LastStatus, t.DesiredStatus, t.StoppedReason, t.StopCode = StatusStopped, StatusStopped, reason, code
	t.StoppingAt, t.StoppedAt = now, now
}

// failed backs the service of group off after a task failed to start.
func (c *Core) failed(group string) {
	s := c.serviceOf(group)
	if s == nil {
		return
	}
	d := c.cfg.RetryBase << min(s.failures, 30)
	if d > c.cfg.RetryMax || d <= 0 {
		d = c.cfg.RetryMax
	}
	s.failures++
	s.next = c.clock.Now().Add(d)
}

func (c *Core) serviceOf(group string) *Service {
	for _, s := range c.services {
		if "service:"+s.Name == group && s.Status == "ACTIVE" {
			return s
		}
	}
	return nil
}

// Tick runs every service's scheduler once: it starts tasks toward
// DesiredCount (unless backing off) and stops the newest extras. It returns
// what the transport must do, including the PENDING tasks to check.
func (c *Core) Tick() Ready {
	now := c.clock.Now()
	keys := make([]string, 0, len(c.services))
	for k := range c.services {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := c.services[k]
		live := c.live("service:" + s.Name)
		switch {
		case len(live) < s.DesiredCount && !now.Before(s.next):
			cl, _ := c.cluster(s.Cluster)
			for range s.DesiredCount - len(live) {
				c.newTask(cl, s.TaskDefinition, "service:"+s.Name, "ecs-svc/"+s.Name)
			}
		case len(live) > s.DesiredCount:
			for _, t := range live[s.DesiredCount:] {
				c.stop(t, ReasonScaling, StopCodeServiceScheduler)
			}
		}
	}
	for _, a := range c.order {
		if t := c.tasks[a]; t.LastStatus == StatusPending {
			c.ready.Check = append(c.ready.Check, a)
		}
	}
	return c.Ready()
}

// Task returns the task of ARN arn.
func (c *Core) Task(arn string) (Task, bool) {
	t, ok := c.tasks[arn]
	if !ok {
		return Task{}, false
	}
	return *t, true
}

// Ready returns and clears what the core wants done.
func (c *Core) Ready() Ready {
	r := c.ready
	c.ready = Ready{}
	return r
}

// live are a group's tasks not stopped, oldest first.
func (c *Core) live(group string) []*Task {
	var out []*Task
	for _, a := range c.order {
		if t := c.tasks[a]; t.Group == group && t.LastStatus != StatusStopped {
			out = append(out, t)
		}
	}
	return out
}

// DescribeTasks returns the tasks named by ARN (or by id within cluster)
// and the references not found.
func (c *Core) DescribeTasks(cluster string, refs []string) ([]Task, []string, error) {
	cl, err := c.cluster(cluster)
	if err != nil {
		return nil, nil, err
	}
	if len(refs) == 0 || len(refs) > 100 {
		return nil, nil, fmt.Errorf("%w: tasks must name 1 to 100 tasks", ErrInvalid)
	}
	var found []Task
	var missing []string
	for _, r := range refs {
		t, ok := c.tasks[r]
		if !ok {
			t, ok = c.tasks[c.arn("task", cl.Name+"/"+r)]
		}
		if ok && t.Cluster == cl.ARN {
			found = append(found, *t)
		} else {
			missing = append(missing, r)
		}
	}
	return found, missing, nil
}

// CreateService creates a service that keeps desired tasks running; the
// next Tick starts them.
func (c *Core) CreateService(cluster, name, taskDef string, desired int) (Service, error) {
	cl, err := c.cluster(cluster)
	if err != nil {
		return Service{}, err
	}
	if !validName(name) || len(name) > 255 || taskDef == "" || desired < 0 {
		return Service{}, fmt.Errorf("%w: serviceName, taskDefinition and a non-negative desiredCount are required", ErrInvalid)
	}
	k := cl.Name + "/" + name
	if s, ok := c.services[k]; ok && s.Status == "ACTIVE" {
		return Service{}, ErrServiceExists
	}
	s := &Service{Name: name, ARN: c.arn("service", k), Cluster: cl.Name, TaskDefinition: taskDef, DesiredCount: desired,
		Status: "ACTIVE", CreatedAt: c.clock.Now()}
	c.services[k] = s
	return *s, nil
}

// UpdateService sets a service's desired count; a new desired count also
// ends the scheduler's backoff, as an operator's update does.
func (c *Core) UpdateService(cluster, name string, desired int) (Service, error) {
	s, err := c.service(cluster, name)
	if err != nil {
		return Service{}, err
	}
	if desired < 0 {
		return Service{}, fmt.Errorf("%w: desiredCount must be non-negative", ErrInvalid)
	}
	s.DesiredCount, s.next, s.failures = desired, time.Time{}, 0
	return *s, nil
}

func (c *Core) service(cluster, ref string) (*Service, error) {
	cl, err := c.cluster(cluster)
	if err != nil {
		return nil, err
	}
	for _, s := range c.services {
		if s.Cluster == cl.Name && (s.Name == ref || s.ARN == ref) {
			return s, nil
		}
	}
	return nil, ErrServiceNotFound
}

// ServiceCounts are a service's running and pending task counts.
type ServiceCounts struct{ Running, Pending int }

// DescribeServices returns the services named and those not found.
func (c *Core) DescribeServices(cluster string, refs []string) ([]Service, []ServiceCounts, []string, error) {
	if len(refs) == 0 || len(refs) > 10 {
		return nil, nil, nil, fmt.Errorf("%w: services must name 1 to 10 services", ErrInvalid)
	}
	if _, err := c.cluster(cluster); err != nil {
		return nil, nil, nil, err
	}
	var out []Service
	var counts []ServiceCounts
	var missing []string
	for _, r := range refs {
		s, err := c.service(cluster, r)
		if err != nil {
			missing = append(missing, r)
			continue
		}
		var n ServiceCounts
		for _, t := range c.live("service:" + s.Name) {
			if t.LastStatus == StatusRunning {
				n.Running++
			} else {
				n.Pending++
			}
		}
		out, counts = append(out, *s), append(counts, n)
	}
	return out, counts, missing, nil
}
