package cascadetest

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cascade-lab/cascade/harness/probes"
)

// TestAWSConfigReachesTheStackOnly: a client built from AWSConfig the way a
// team's service builds it (dynamodb.NewFromConfig) reaches the stack's
// DynamoDB by its real regional hostname, and a service the stack does not
// mock fails to resolve instead of reaching AWS.
func TestAWSConfigReachesTheStackOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stack, err := Start(ctx, WithBackend("embedded"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stack.Close(ctx) }()
	cfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("things"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest}); err != nil {
		t.Fatalf("CreateTable through AWSConfig: %v", err)
	}
	var host string
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("things"),
		Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "a"}}},
		func(o *dynamodb.Options) { host = aws.ToString(o.BaseEndpoint) }); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	if !strings.HasPrefix(host, "http://dynamodb.us-east-1.amazonaws.com:") {
		t.Errorf("DynamoDB's endpoint %q is not its regional hostname", host)
	}
	// a mocked service besides DynamoDB, through the config source
	if _, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(probes.ProbeRoleARN),
		RoleSessionName: aws.String("cascadetest")}); err != nil {
		t.Errorf("STS AssumeRole through AWSConfig: %v", err)
	}
	// an AWS hostname the stack does not serve fails to resolve through the
	// stack's DNS, the resolver that found DynamoDB's regional name (which
	// only the stack's DNS knows): nothing reaches AWS
	_, err = stack.HTTPClient().Get("https://s3.us-east-1.amazonaws.com/")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("an unmocked service (S3) was not refused by the stack's DNS: %v", err)
	}
	env := strings.Join(stack.Env(), "\n")
	for _, want := range []string{"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_DYNAMODB=http://dynamodb.us-east-1.amazonaws.com:", "CASCADE_DNS=", "AWS_ENDPOINT_URL_EC2=http://", "AWS_ENDPOINT_URL_STS=http://"} {
		if !strings.Contains(env, want) {
			t.Errorf("Env lacks %q:\n%s", want, env)
		}
	}
	if err := stack.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stack.Close(ctx); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestReplayRefusesAStackPastTheTrigger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// the clock starts 5 min before the trigger and has moved on by the time
	// Replay reads it
	stack, err := Start(ctx, WithLeadTime(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stack.Close(ctx) }()
	_, err = stack.Replay(ctx)
	if err == nil || !strings.Contains(err.Error(), "past 23:35") {
		t.Fatalf("a replay past the trigger: %v", err)
	}
	if _, err := stack.Replay(ctx); err == nil || !strings.Contains(err.Error(), "replayed already") {
		t.Errorf("a second replay: %v", err)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	ctx := context.Background()
	for name, opt := range map[string]Option{
		"unknown fix":     WithFixes("nope"),
		"short lead time": WithLeadTime(time.Minute),
		"bad speed":       WithSpeed(-1),
		"unknown backend": WithBackend("nope"),
	} {
		if s, err := Start(ctx, opt); err == nil {
			_ = s.Close(ctx)
			t.Errorf("%s: started", name)
		}
	}
	var s Stack
	for name, p := range map[string]Probe{
		"cascade's component": HTTPProbe("x", "http://127.0.0.1:1", InComponent("dynamodb")),
		"cascade's probe":     HTTPProbe("dns-resolve", "http://127.0.0.1:1"),
		"zero probe":          {},
	} {
		if _, err := s.Replay(ctx, WithProbes(p)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := s.Replay(ctx, WithProbes(HTTPProbe("a", "u"), HTTPProbe("a", "v"))); err == nil {
		t.Error("two probes of one name: accepted")
	}
	if _, err := s.Replay(ctx, ProbeEvery(time.Second)); err == nil {
		t.Error("a 1 s probe period: accepted")
	}
}

func TestDefaultSpeedFollowsTheBackend(t *testing.T) {
	t.Setenv("CASCADE_BACKEND", "")
	if got := defaultSpeed(""); got != 20 {
		t.Errorf("embedded by default: speed %v, want 20", got)
	}
	if got := defaultSpeed("containers"); got != 6 {
		t.Errorf("containers: speed %v, want 6", got)
	}
	t.Setenv("CASCADE_BACKEND", "containers")
	if got := defaultSpeed(""); got != 6 {
		t.Errorf("CASCADE_BACKEND=containers: speed %v, want 6", got)
	}
}
