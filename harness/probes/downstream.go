package probes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/timeline"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// The downstream services' probes: each calls the service's real API
// through aws-sdk-go-v2, as a customer's code would.
const (
	// ProbeSQS sends a message to the probe queue, receives and deletes
	// it; Value is the latency in milliseconds.
	ProbeSQS = "sqs-send-receive"
	// ProbeLambdaGet is GetFunction of the probe function (its metadata
	// lives in DynamoDB); Value is the latency in milliseconds.
	ProbeLambdaGet = "lambda-getfunction"
	// ProbeLambdaInvoke invokes the probe function (admitted by the fleet
	// behind the NLB); Value is the latency in milliseconds.
	ProbeLambdaInvoke = "lambda-invoke"
	// ProbeSTS is AssumeRole of sts.DefaultRole (this also keeps the
	// stale-cache guard's cache warm, as a real workload does); Value is
	// the latency in milliseconds.
	ProbeSTS = "sts-assumerole"
	// ProbeECS is DescribeServices of the probe service (desired count 1):
	// OK while it runs its task; Value is the running count.
	ProbeECS = "ecs-service"
)

// ProbeName is the name of the downstream probes' queue, function, cluster
// and service.
const ProbeName = "cascade-probe"

// ProbeRoleARN is the role the STS probe assumes and the probe function
// runs as (sts.DefaultRole).
const ProbeRoleARN = "arn:aws:iam::123456789012:role/cascade-app"

// probeZip is a valid empty zip archive: CreateFunction's ZipFile.
var probeZip = []byte{0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// Downstream returns the probes of the downstream services the stack
// runs (none without them): sqs-send-receive, lambda-getfunction,
// lambda-invoke, sts-assumerole, ecs-service. They are not in Default: a
// suite or the replay that wants them asks.
func Downstream(s harness.Stack) []Probe {
	ep := s.Endpoints()
	var out []Probe
	if ep.SQSAPI != "" {
		out = append(out, SQSSendReceive(ep))
	}
	if ep.LambdaAPI != "" {
		l := NewLambda(ep)
		out = append(out, l.GetFunction(), l.Invoke())
	}
	if ep.STSAPI != "" {
		out = append(out, STSAssumeRole(ep))
	}
	if ep.ECSAPI != "" {
		out = append(out, ECSService(ep))
	}
	return out
}

// setup runs an idempotent set-up until it succeeds once: a probe whose
// set-up needs DynamoDB (a function's metadata) tries again at its next
// sample, and counts the failure as the sample's.
type setup struct {
	mu   sync.Mutex
	done bool
}

func (o *setup) run(ctx context.Context, fn func(ctx context.Context) error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return nil
	}
	if err := fn(ctx); err != nil {
		return err
	}
	o.done = true
	return nil
}

// timed runs call within DefaultTimeout and makes a sample of it.
func timed(ctx context.Context, call func(ctx context.Context) error) timeline.Sample {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	start := time.Now()
	err := call(ctx)
	lat := time.Since(start)
	if err != nil {
		return timeline.Sample{Code: Classify(err), Latency: lat, Detail: err.Error()}
	}
	return timeline.Sample{OK: true, Latency: lat, Value: float64(lat.Microseconds()) / 1000}
}

func opts() []awsclient.Option {
	return []awsclient.Option{awsclient.WithMaxAttempts(1), awsclient.WithTimeout(DefaultTimeout)}
}

// SQSSendReceive is the sqs-send-receive probe.
func SQSSendReceive(ep harness.Endpoints) Probe {
	var init setup
	var url string
	return Func{ProbeName: ProbeSQS, Fn: func(ctx context.Context) timeline.Sample {
		c, err := awsclient.SQS(ep.SQSAPI, opts()...)
		if err != nil {
			return timeline.Sample{Code: CodeError, Detail: err.Error()}
		}
		return timed(ctx, func(ctx context.Context) error {
			if err := init.run(ctx, func(ctx context.Context) error {
				out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(ProbeName)})
				if err == nil {
					url = aws.ToString(out.QueueUrl)
				}
				return err
			}); err != nil {
				return err
			}
			if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("probe")}); err != nil {
				return err
			}
			got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
			if err != nil {
				return err
			}
			for _, m := range got.Messages {
				if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
					return err
				}
			}
			if len(got.Messages) == 0 {
				return errors.New("sqs: a message sent was not received")
			}
			return nil
		})
	}}
}

// Lambda holds the Lambda probes, which share the probe function.
type Lambda struct {
	ep   harness.Endpoints
	init setup
}

// NewLambda returns the Lambda probes of a stack.
func NewLambda(ep harness.Endpoints) *Lambda { return &Lambda{ep: ep} }

// Init creates the probe function if it does not exist (it needs
// DynamoDB: while that is unreachable Init fails and is tried again).
func (l *Lambda) Init(ctx context.Context, c *lambda.Client) error {
	return l.init.run(ctx, func(ctx context.Context) error {
		_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(ProbeName), Role: aws.String(ProbeRoleARN),
			Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Code: &lambdatypes.FunctionCode{ZipFile: probeZip},
		})
		var conflict *lambdatypes.ResourceConflictException
		if err != nil && !errors.As(err, &conflict) {
			return fmt.Errorf("probe function: %w", err)
		}
		return nil
	})
}

func (l *Lambda) sample(ctx context.Context, call func(ctx context.Context, c *lambda.Client) error) timeline.Sample {
	c, err := awsclient.Lambda(l.ep.LambdaAPI, opts()...)
	if err != nil {
		return timeline.Sample{Code: CodeError, Detail: err.Error()}
	}
	return timed(ctx, func(ctx context.Context) error {
		if err := l.Init(ctx, c); err != nil {
			return err
		}
		return call(ctx, c)
	})
}

// GetFunction is the lambda-getfunction probe.
func (l *Lambda) GetFunction() Probe {
	return Func{ProbeName: ProbeLambdaGet, Fn: func(ctx context.Context) timeline.Sample {
		return l.sample(ctx, func(ctx context.Context, c *lambda.Client) error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(ProbeName)})
			return err
		})
	}}
}

// Invoke is the lambda-invoke probe.
func (l *Lambda) Invoke() Probe {
	return Func{ProbeName: ProbeLambdaInvoke, Fn: func(ctx context.Context) timeline.Sample {
		return l.sample(ctx, func(ctx context.Context, c *lambda.Client) error {
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(ProbeName), Payload: []byte(`{"probe":true}`)})
			if err == nil && out.FunctionError != nil {
				err = fmt.Errorf("function error %s", aws.ToString(out.FunctionError))
			}
			return err
		})
	}}
}

// STSAssumeRole is the sts-assumerole probe.
func STSAssumeRole(ep harness.Endpoints) Probe {
	return Func{ProbeName: ProbeSTS, Fn: func(ctx context.Context) timeline.Sample {
		c, err := awsclient.STS(ep.STSAPI, opts()...)
		if err != nil {
			return timeline.Sample{Code: CodeError, Detail: err.Error()}
		}
		return timed(ctx, func(ctx context.Context) error {
			_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ProbeRoleARN), RoleSessionName: aws.String(ProbeName)})
			return err
		})
	}}
}

// ECSService is the ecs-service probe: the first sample creates the probe
// cluster and a service of desired count 1; a sample is OK while the
// service runs its task.
func ECSService(ep harness.Endpoints) Probe {
	var init setup
	return Func{ProbeName: ProbeECS, Fn: func(ctx context.Context) timeline.Sample {
		c, err := awsclient.ECS(ep.ECSAPI, opts()...)
		if err != nil {
			return timeline.Sample{Code: CodeError, Detail: err.Error()}
		}
		var running int32
		smp := timed(ctx, func(ctx context.Context) error {
			if err := init.run(ctx, func(ctx context.Context) error {
				if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(ProbeName)}); err != nil {
					return err
				}
				_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(ProbeName), ServiceName: aws.String(ProbeName),
					TaskDefinition: aws.String(ProbeName + ":1"), DesiredCount: aws.Int32(1)})
				return err
			}); err != nil {
				return err
			}
			out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(ProbeName), Services: []string{ProbeName}})
			if err != nil {
				return err
			}
			if len(out.Services) != 1 {
				return fmt.Errorf("ecs: probe service missing (%d failures)", len(out.Failures))
			}
			running = out.Services[0].RunningCount
			return nil
		})
		if smp.OK {
			smp.Value = float64(running)
			if running < 1 {
				smp.OK, smp.Code, smp.Detail = false, "ecs-below-desired", "running 0 of 1"
			}
		}
		return smp
	}}
}
