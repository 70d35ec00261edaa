package dynamodb_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// TestSDKTimeToLive enables TTL through the SDK and moves the incident
// clock: the sweep deletes the item whose expiry passed and keeps the one
// whose expiry has not and the one whose TTL attribute is not a Number.
func TestSDKTimeToLive(t *testing.T) {
	srv, env := startServer(t, ddb.Config{TTLSweepInterval: time.Minute})
	clock := env.Clock.(*clockwork.FakeClock)
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "leases", "id", "", "")
	now := clock.Now().Unix()
	for id, exp := range map[string]types.AttributeValue{
		"soon":  n(strconv.FormatInt(now+30, 10)),
		"later": n(strconv.FormatInt(now+3600, 10)),
		"text":  s(strconv.FormatInt(now, 10)),
	} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s(id), "expires": exp}}); err != nil {
			t.Fatal(err)
		}
	}
	desc, err := c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("leases")})
	if err != nil || desc.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		t.Fatalf("DescribeTimeToLive before: %v %+v", err, desc)
	}
	if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("leases"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	desc, err = c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("leases")})
	if err != nil || desc.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(desc.TimeToLiveDescription.AttributeName) != "expires" {
		t.Fatalf("DescribeTimeToLive after: %v %+v", err, desc.TimeToLiveDescription)
	}
	_, err = c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("leases"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != "TimeToLive is already enabled" {
		t.Fatalf("enabling twice: %v", err)
	}

	// The sweeper waits on the clock; one minute on, it has swept once
	// when it waits again.
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"soon": false, "later": true, "text": true} {
		got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s(id)}})
		if err != nil {
			t.Fatal(err)
		}
		if (got.Item != nil) != want {
			t.Errorf("%s present %v after a minute, want %v", id, got.Item != nil, want)
		}
	}
}
