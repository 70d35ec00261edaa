package sts_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53sdk "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/route53"
	"github.com/cascade-lab/cascade/mocks/sts"
)

// rig is STS on a fake clock in front of the real DynamoDB mock, which it
// reaches by name through the real Route53 mock's DNS: deleting the A
// record of dynamodb.us-east-1.amazonaws.com makes it unresolvable, as the
// race did.
type rig struct {
	t     *testing.T
	ctx   context.Context
	clock *clockwork.FakeClock
	srv   *sts.Server
	r53   *r53sdk.Client
	zone  string
	fleet *fleet
}

type fleet struct{ healthy, total int }

func (f *fleet) Healthy() (int, int) { return f.healthy, f.total }

func newRig(t *testing.T, mode kit.Mode) *rig {
	t.Helper()
	r := &rig{t: t, ctx: context.Background(), clock: clockwork.NewFakeClockAt(kit.IncidentStart), fleet: &fleet{6, 6}}
	real := clockwork.NewRealClock()
	db, err := dynamodb.New(dynamodb.Config{MaxConnAge: time.Millisecond}, kit.NewEnv("dynamodb", real, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Start(r.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	dns, err := route53.New(route53.Config{Zones: []string{"us-east-1.amazonaws.com."}}, kit.NewEnv("route53", real, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := dns.Start(r.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dns.Close() })
	r.zone, _ = dns.ZoneID("us-east-1.amazonaws.com.")
	if r.r53, err = awsclient.Route53(dns.APIURL()); err != nil {
		t.Fatal(err)
	}
	r.record(r53types.ChangeActionUpsert)
	u, _ := url.Parse(db.URL())
	port, _ := strconv.Atoi(u.Port())
	r.srv, err = sts.New(sts.Config{Mode: mode, DNSAddr: dns.DNSAddr(), DynamoDBPort: port, Capacity: r.fleet,
		StoreTimeout: 5 * time.Second}, kit.NewEnv("sts", r.clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Start(r.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

// record creates or deletes dynamodb.us-east-1.amazonaws.com A 127.0.0.1.
func (r *rig) record(action r53types.ChangeAction) {
	r.t.Helper()
	_, err := r.r53.ChangeResourceRecordSets(r.ctx, &r53sdk.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(r.zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(awsclient.DynamoDBHost + "."), Type: r53types.RRTypeA, TTL: aws.Int64(0),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("127.0.0.1")}}}}}}})
	if err != nil {
		r.t.Fatalf("%s %s: %v", action, awsclient.DynamoDBHost, err)
	}
}

// drain retires the store's pooled connection: DynamoDB answers the first
// request past its maximum connection age and closes the connection, so the
// next read must resolve the name again, as clients of the real endpoint
// did within a minute of the record emptying. It returns after that one read.
func (r *rig) drain(c *stssdk.Client) {
	r.t.Helper()
	r.clock.Advance(2 * time.Minute) // past FreshTTL: the next call must read DynamoDB
	_, _ = r.assume(c)
	r.clock.Advance(2 * time.Minute)
}

func (r *rig) client() *stssdk.Client {
	return stssdk.New(stssdk.Options{Region: awsclient.Region, Credentials: awsclient.Credentials,
		BaseEndpoint: aws.String(r.srv.URL()), RetryMaxAttempts: 1})
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return "ok"
	}
	return "transport: " + err.Error()
}

func (r *rig) assume(c *stssdk.Client) (*stssdk.AssumeRoleOutput, error) {
	return c.AssumeRole(r.ctx, &stssdk.AssumeRoleInput{RoleArn: aws.String(sts.DefaultRole.ARN), RoleSessionName: aws.String("app")})
}

func TestSDKCallsAnswer(t *testing.T) {
	r := newRig(t, kit.AsWas)
	c := r.client()
	id, err := c.GetCallerIdentity(r.ctx, &stssdk.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != sts.DefaultAccount || aws.ToString(id.Arn) != sts.DefaultUser.ARN {
		t.Fatalf("GetCallerIdentity: %+v %v", id, err)
	}
	ar, err := r.assume(c)
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(ar.Credentials.AccessKeyId), "ASIA") || !ar.Credentials.Expiration.Equal(kit.IncidentStart.Add(time.Hour)) ||
		aws.ToString(ar.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/cascade-app/app" {
		t.Fatalf("AssumeRole: %+v %+v", ar.Credentials, ar.AssumedRoleUser)
	}
	// The issued credentials sign the next call; STS knows whom they stand for.
	as := stssdk.New(stssdk.Options{Region: awsclient.Region, BaseEndpoint: aws.String(r.srv.URL()), RetryMaxAttempts: 1,
		Credentials: aws.NewCredentialsCache(credsProvider{ar.Credentials})})
	who, err := as.GetCallerIdentity(r.ctx, &stssdk.GetCallerIdentityInput{})
	if err != nil || aws.ToString(who.Arn) != aws.ToString(ar.AssumedRoleUser.Arn) {
		t.Fatalf("GetCallerIdentity with the assumed role: %+v %v", who, err)
	}
	st, err := c.GetSessionToken(r.ctx, &stssdk.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil || !st.Credentials.Expiration.Equal(kit.IncidentStart.Add(15*time.Minute)) {
		t.Fatalf("GetSessionToken: %+v %v", st, err)
	}
}

// Bad requests get STS's error codes through the SDK's Query error parser.
func TestSDKErrorShapes(t *testing.T) {
	r := newRig(t, kit.AsWas)
	c := r.client()
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown role", func() error {
			_, err := c.AssumeRole(r.ctx, &stssdk.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/nope"), RoleSessionName: aws.String("app")})
			return err
		}, sts.CodeAccessDenied},
		{"bad arn", func() error {
			_, err := c.AssumeRole(r.ctx, &stssdk.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::12:role/x-and-more"), RoleSessionName: aws.String("app")})
			return err
		}, sts.CodeValidation},
		{"bad session name", func() error {
			_, err := c.AssumeRole(r.ctx, &stssdk.AssumeRoleInput{RoleArn: aws.String(sts.DefaultRole.ARN), RoleSessionName: aws.String("has space")})
			return err
		}, sts.CodeValidation},
		{"short duration", func() error {
			_, err := c.GetSessionToken(r.ctx, &stssdk.GetSessionTokenInput{DurationSeconds: aws.Int32(60)})
			return err
		}, sts.CodeValidation},
		{"unknown key", func() error {
			o := stssdk.New(stssdk.Options{Region: awsclient.Region, BaseEndpoint: aws.String(r.srv.URL()), RetryMaxAttempts: 1,
				Credentials: aws.NewCredentialsCache(credsProvider{nil})})
			_, err := o.GetCallerIdentity(r.ctx, &stssdk.GetCallerIdentityInput{})
			return err
		}, sts.CodeInvalidClientTokenID},
	}
	for _, tc := range cases {
		if got := code(tc.call()); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// The first impact comes and goes with DynamoDB's DNS record.
func TestAsWasFailsWhileDynamoDBIsUnresolvable(t *testing.T) {
	r := newRig(t, kit.AsWas)
	c := r.client()
	if _, err := r.assume(c); err != nil {
		t.Fatal(err)
	}
	r.record(r53types.ChangeActionDelete)
	r.drain(c)
	for _, call := range []func() error{
		func() error { _, err := r.assume(c); return err },
		func() error { _, err := c.GetSessionToken(r.ctx, &stssdk.GetSessionTokenInput{}); return err },
	} {
		if got := code(call()); got != sts.CodeInternalFailure {
			t.Fatalf("while unresolvable: %s, want %s", got, sts.CodeInternalFailure)
		}
	}
	r.record(r53types.ChangeActionCreate)
	if _, err := r.assume(c); err != nil {
		t.Fatalf("after the record is back: %v", err)
	}
}

// Fixed serves AssumeRole from the record cached before the outage.
func TestFixedAssumesRoleThroughTheOutage(t *testing.T) {
	r := newRig(t, kit.Fixed)
	c := r.client()
	if _, err := r.assume(c); err != nil {
		t.Fatal(err)
	}
	r.record(r53types.ChangeActionDelete)
	r.drain(c)
	r.clock.Advance(88 * time.Minute)
	if _, err := r.assume(c); err != nil {
		t.Fatalf("fixed, 88 minutes into the outage: %v", err)
	}
	r.clock.Advance(4 * time.Hour)
	if got := code(func() error { _, err := r.assume(c); return err }()); got != sts.CodeInternalFailure {
		t.Fatalf("fixed beyond MaxStale: %s, want %s", got, sts.CodeInternalFailure)
	}
}

// The second impact comes and goes with the fleet's healthy capacity.
func TestFleetCapacityThrottles(t *testing.T) {
	r := newRig(t, kit.AsWas)
	c := r.client()
	r.fleet.healthy = 0
	if got := code(func() error { _, err := c.GetCallerIdentity(r.ctx, nil); return err }()); got != sts.CodeServiceUnavailable {
		t.Fatalf("no healthy hosts: %s", got)
	}
	r.fleet.healthy = 1
	r.clock.Advance(time.Second)
	var codes []string
	for range 60 {
		_, err := c.GetCallerIdentity(r.ctx, nil)
		codes = append(codes, code(err))
	}
	if codes[0] != "ok" || codes[49] != "ok" || codes[50] != sts.CodeThrottling {
		t.Fatalf("one healthy host, 60 calls in a second: %v", codes)
	}
	r.fleet.healthy = 6
	r.clock.Advance(time.Second)
	if _, err := c.GetCallerIdentity(r.ctx, nil); err != nil {
		t.Fatalf("capacity back: %v", err)
	}
}
