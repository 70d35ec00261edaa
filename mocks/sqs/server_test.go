package sqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqssdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/sqs"
)

func startServer(t *testing.T, clock kit.Clock) (*sqs.Server, *sqssdk.Client) {
	t.Helper()
	srv, err := sqs.New(sqs.Config{}, kit.NewEnv("sqs", clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := awsclient.SQS(srv.URL(), awsclient.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// The SDK's whole cycle: create, send (the SDK checks MD5OfMessageBody),
// receive, delete, attributes.
func TestSDKQueueCycle(t *testing.T) {
	ctx := context.Background()
	_, c := startServer(t, clockwork.NewRealClock())
	q, err := c.CreateQueue(ctx, &sqssdk.CreateQueueInput{QueueName: aws.String("events"), Attributes: map[string]string{"VisibilityTimeout": "30"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetQueueUrl(ctx, &sqssdk.GetQueueUrlInput{QueueName: aws.String("events")})
	if err != nil || *got.QueueUrl != *q.QueueUrl {
		t.Fatalf("GetQueueUrl: %v %v", got, err)
	}
	if _, err := c.SendMessage(ctx, &sqssdk.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"order":1} ü`)}); err != nil {
		t.Fatal(err)
	}
	rcv, err := c.ReceiveMessage(ctx, &sqssdk.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil || len(rcv.Messages) != 1 || *rcv.Messages[0].Body != `{"order":1} ü` {
		t.Fatalf("ReceiveMessage: %+v %v", rcv, err)
	}
	if rcv.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("attributes: %v", rcv.Messages[0].Attributes)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqssdk.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" || attrs.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:events" {
		t.Fatalf("GetQueueAttributes: %v %v", attrs, err)
	}
	if _, err := c.DeleteMessage(ctx, &sqssdk.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: rcv.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	attrs, _ = c.GetQueueAttributes(ctx, &sqssdk.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after delete: %v", attrs.Attributes)
	}
}

// Bad requests get SQS's modelled errors through the SDK, with the legacy
// Query code the x-amzn-query-error header carries.
func TestSDKErrors(t *testing.T) {
	ctx := context.Background()
	_, c := startServer(t, clockwork.NewRealClock())
	_, err := c.GetQueueUrl(ctx, &sqssdk.GetQueueUrlInput{QueueName: aws.String("absent")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) || dne.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("GetQueueUrl of a missing queue: %v", err)
	}
	q, _ := c.CreateQueue(ctx, &sqssdk.CreateQueueInput{QueueName: aws.String("q")})
	_, err = c.DeleteMessage(ctx, &sqssdk.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: aws.String("garbage")})
	var bad *types.ReceiptHandleIsInvalid
	if !errors.As(err, &bad) {
		t.Fatalf("DeleteMessage with a bad handle: %v", err)
	}
	_, err = c.GetQueueAttributes(ctx, &sqssdk.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{"Colour"}})
	var name *types.InvalidAttributeName
	if !errors.As(err, &name) {
		t.Fatalf("GetQueueAttributes with an unknown name: %v", err)
	}
	_, err = c.ReceiveMessage(ctx, &sqssdk.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 11})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterValue" {
		t.Fatalf("ReceiveMessage with 11: %v", err)
	}
}

// The raw wire shape of an error and of an unknown operation.
func TestWireErrorShape(t *testing.T) {
	srv, _ := startServer(t, clockwork.NewRealClock())
	post := func(target, body string) (*http.Response, map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCASCADE/20251020/us-east-1/sqs/aws4_request")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]string
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: body %q is not a JSON object", target, b)
		}
		return resp, v
	}
	resp, v := post("AmazonSQS.GetQueueUrl", `{"QueueName":"nope"}`)
	if resp.StatusCode != 400 || v["__type"] != "com.amazonaws.sqs#QueueDoesNotExist" ||
		resp.Header.Get("x-amzn-query-error") != "AWS.SimpleQueueService.NonExistentQueue;Sender" {
		t.Fatalf("missing queue: %d %v %v", resp.StatusCode, v, resp.Header)
	}
	resp, v = post("AmazonSQS.PurgeQueue", `{}`)
	if resp.StatusCode != 400 || v["__type"] != "com.amazon.coral.service#UnknownOperationException" {
		t.Fatalf("unserved op: %d %v", resp.StatusCode, v)
	}
	resp, v = post("AmazonSQS.SendMessage", `{"QueueUrl":`)
	if resp.StatusCode != 400 || v["__type"] != "com.amazon.coral.service#SerializationException" {
		t.Fatalf("truncated body: %d %v", resp.StatusCode, v)
	}
}

// WaitTimeSeconds is a long poll in incident time: the receive stays open
// while the fake clock stands still, returns a message sent meanwhile at
// once, and returns empty when the wait passes.
func TestLongPollOnIncidentClock(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	_, c := startServer(t, clock)
	q, err := c.CreateQueue(ctx, &sqssdk.CreateQueueInput{QueueName: aws.String("lp")})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	poll := func() chan result {
		ch := make(chan result, 1)
		go func() {
			out, err := c.ReceiveMessage(ctx, &sqssdk.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20})
			if err != nil {
				ch <- result{err: err}
				return
			}
			ch <- result{n: len(out.Messages)}
		}()
		return ch
	}
	waitTimer := func() {
		t.Helper()
		bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := clock.BlockUntilContext(bctx, 1); err != nil {
			t.Fatalf("the receive did not start waiting: %v", err)
		}
	}

	ch := poll()
	waitTimer()
	select {
	case r := <-ch:
		t.Fatalf("long poll returned before any incident time passed: %+v", r)
	default:
	}
	if _, err := c.SendMessage(ctx, &sqssdk.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.err != nil || r.n != 1 {
		t.Fatalf("long poll after a send: %+v", r)
	}

	ch = poll()
	waitTimer()
	clock.Advance(20 * time.Second)
	if r := <-ch; r.err != nil || r.n != 0 {
		t.Fatalf("long poll after its wait: %+v", r)
	}
}

// TestAWSCLI drives the server with the unmodified AWS CLI. It skips when
// `aws` is not on PATH.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per command")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: apt-get install awscli to run this test")
	}
	srv, _ := startServer(t, clockwork.NewRealClock())
	run := cliRunner(t, awsBin, srv.URL())
	var created map[string]string
	mustJSON(t, run("create-queue", "--queue-name", "cli"), &created)
	url := created["QueueUrl"]
	if !strings.HasSuffix(url, "/000000000000/cli") {
		t.Fatalf("create-queue: %v", created)
	}
	var sent map[string]string
	mustJSON(t, run("send-message", "--queue-url", url, "--message-body", "hello"), &sent)
	if sent["MD5OfMessageBody"] != sqs.MD5Hex("hello") {
		t.Fatalf("send-message: %v", sent)
	}
	var rcv struct {
		Messages []struct{ Body, ReceiptHandle string }
	}
	mustJSON(t, run("receive-message", "--queue-url", url, "--wait-time-seconds", "1"), &rcv)
	if len(rcv.Messages) != 1 || rcv.Messages[0].Body != "hello" {
		t.Fatalf("receive-message: %+v", rcv)
	}
	mustJSON(t, run("delete-message", "--queue-url", url, "--receipt-handle", rcv.Messages[0].ReceiptHandle), nil)
	var attrs struct{ Attributes map[string]string }
	mustJSON(t, run("get-queue-attributes", "--queue-url", url, "--attribute-names", "All"), &attrs)
	if attrs.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("get-queue-attributes: %v", attrs)
	}
	out := run("get-queue-url", "--queue-name", "absent")
	if out.err == nil || !strings.Contains(out.stderr, "AWS.SimpleQueueService.NonExistentQueue") {
		t.Fatalf("get-queue-url of a missing queue: %v %q", out.err, out.stderr)
	}
}

type cliOut struct {
	stdout, stderr string
	err            error
}

func cliRunner(t *testing.T, awsBin, endpoint string) func(args ...string) cliOut {
	home := t.TempDir()
	return func(args ...string) cliOut {
		t.Helper()
		cmd := exec.Command(awsBin, append(append([]string{"sqs"}, args...), "--endpoint-url", endpoint, "--output", "json")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDCASCADE",
			"AWS_SECRET_ACCESS_KEY=cascade-secret", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=", "NO_PROXY=*"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return cliOut{stdout.String(), stderr.String(), err}
	}
}

func mustJSON(t *testing.T, out cliOut, v any) {
	t.Helper()
	if out.err != nil {
		t.Fatalf("aws: %v\n%s", out.err, out.stderr)
	}
	if v != nil && strings.TrimSpace(out.stdout) != "" {
		if err := json.Unmarshal([]byte(out.stdout), v); err != nil {
			t.Fatalf("aws output is not JSON: %q", out.stdout)
		}
	}
}
