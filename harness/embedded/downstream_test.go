package embedded_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/probes"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// TestDownstreamServicesAnswerThroughTheSDK: a full embedded stack starts
// Lambda, SQS, STS and ECS, publishes their endpoints, and each answers
// aws-sdk-go-v2 on its real API: the downstream probes (which create a
// queue, a function whose metadata goes to DynamoDB through the mock DNS,
// assume a role whose record is in DynamoDB, and run an ECS service whose
// task launches an EC2 instance and waits for Network Manager) all become
// OK, and a bad request to each gets its service's modelled error.
func TestDownstreamServicesAnswerThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	s, err := harness.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	ep := s.Endpoints()
	for key, v := range map[string]string{"sqs_api": ep.SQSAPI, "lambda_api": ep.LambdaAPI, "sts_api": ep.STSAPI, "ecs_api": ep.ECSAPI} {
		if v == "" {
			t.Fatalf("endpoint %s missing: %+v", key, ep)
		}
	}
	ps := probes.Downstream(s)
	if len(ps) != 5 {
		t.Fatalf("%d downstream probes, want 5", len(ps))
	}
	r := probes.NewRunner(s.Clock(), time.Minute, nil, ps...)
	g := gomega.NewWithT(t)
	// The ECS service's task needs a launch and the instance's propagation
	// (incident minutes at speed 30, about a wall second each); 20 s is a
	// margin for a loaded machine, not a speed.
	g.Eventually(func(g gomega.Gomega) {
		for _, smp := range r.SampleOnce(ctx) {
			g.Expect(smp.OK).To(gomega.BeTrue(), "%s: %+v", smp.Probe, smp)
		}
	}).WithTimeout(20 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())

	o := []awsclient.Option{awsclient.WithMaxAttempts(1), awsclient.WithTimeout(2 * time.Second)}
	sq, _ := awsclient.SQS(ep.SQSAPI, o...)
	_, err = sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue")})
	var noQueue *sqstypes.QueueDoesNotExist
	if !errors.As(err, &noQueue) {
		t.Errorf("sqs GetQueueUrl of a missing queue: %v", err)
	}
	la, _ := awsclient.Lambda(ep.LambdaAPI, o...)
	_, err = la.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("no-such-function")})
	var notFound *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("lambda GetFunction of a missing function: %v", err)
	}
	st, _ := awsclient.STS(ep.STSAPI, o...)
	id, err := st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/cascade" {
		t.Errorf("sts GetCallerIdentity: %v, %v", id, err)
	}
	_, err = st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/nobody"), RoleSessionName: aws.String("t")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Errorf("sts AssumeRole of an unknown role: %v", err)
	}
	ec, _ := awsclient.ECS(ep.ECSAPI, o...)
	_, err = ec.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("no-such-cluster"), TaskDefinition: aws.String("t:1")})
	var noCluster *ecstypes.ClusterNotFoundException
	if !errors.As(err, &noCluster) {
		t.Errorf("ecs RunTask on a missing cluster: %v", err)
	}
}

// TestStartRefusesAServiceWithoutItsRequirement: a stack of STS without
// DynamoDB is refused with an error naming the missing kind, and the
// embedded backend's failed start is a nil Stack, not an interface holding
// a nil *Stack that harness.Start would Close (it panicked).
func TestStartRefusesAServiceWithoutItsRequirement(t *testing.T) {
	s, err := harness.Start(context.Background(), harness.WithServices(harness.Route53Svc, harness.STSSvc))
	if err == nil || s != nil || !strings.Contains(err.Error(), "sts needs dynamodb") {
		t.Fatalf("start sts without dynamodb: %v, %v", s, err)
	}
}
