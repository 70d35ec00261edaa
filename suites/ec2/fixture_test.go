package ec2_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ec2sdk "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	r53sdk "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cascade-lab/cascade/mocks/dwfm"
	ddbmock "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/route53"
)

// stack is the suite's local in-process fixture: route53 (DNS + API),
// dynamodb, three DWFM hosts and EC2, on loopback, on one scaled clock. No
// DNS planner or enactors: the suite empties and restores the DynamoDB
// endpoint's record itself through the Route53 API, as the race and the
// operators did.
type stack struct {
	clock *kit.ScaledClock
	r53   *route53.Server
	ddb   *ddbmock.Server
	hosts []*dwfm.Server
	ec2   *ec2.Server

	zoneID  string
	route   *r53sdk.Client
	client  *ec2sdk.Client
	dynamo  *dynamodb.Client
	closers []func() error
}

const zoneName = "us-east-1.amazonaws.com."

func startStack(ctx context.Context, mode kit.Mode, speed kit.Speed) (*stack, error) {
	s := &stack{clock: kit.NewScaledClock(time.Now(), kit.IncidentStart, speed)}
	env := func(name string, seed int64) *kit.Env { return kit.NewEnv(name, s.clock, nil, seed) }
	start := func(svc kit.Service) error {
		if err := svc.Start(ctx); err != nil {
			_ = svc.Close()
			return err
		}
		s.closers = append(s.closers, svc.Close)
		return nil
	}
	var err error
	if s.r53, err = route53.New(route53.Config{Zones: []string{zoneName}}, env("route53", 1)); err != nil {
		return s, err
	}
	if err := start(s.r53); err != nil {
		return s, err
	}
	s.zoneID, _ = s.r53.ZoneID(zoneName)
	if s.route, err = awsclient.Route53(s.r53.APIURL()); err != nil {
		return s, err
	}
	if s.ddb, err = ddbmock.New(ddbmock.Config{}, env("dynamodb", 2)); err != nil {
		return s, err
	}
	if err := start(s.ddb); err != nil {
		return s, err
	}
	if err := s.setRecord(ctx, true); err != nil {
		return s, err
	}
	urls := map[string]string{}
	for i, z := range ec2.DefaultZones() {
		h, err := dwfm.New(dwfm.Config{AZ: z.ID, ZoneName: z.Name, Mode: mode, DNSAddr: s.r53.DNSAddr(), DynamoDBPort: s.ddb.Port()},
			env(fmt.Sprintf("dwfm-%c", 'a'+i), int64(10+i)))
		if err != nil {
			return s, err
		}
		if err := start(h); err != nil {
			return s, err
		}
		s.hosts = append(s.hosts, h)
		urls[z.ID] = h.URL()
	}
	if s.ec2, err = ec2.New(ec2.Config{DWFM: urls}, env("ec2", 20)); err != nil {
		return s, err
	}
	if err := start(s.ec2); err != nil {
		return s, err
	}
	if s.client, err = awsclient.EC2(s.ec2.URL(), awsclient.WithMaxAttempts(1)); err != nil {
		return s, err
	}
	s.dynamo, err = awsclient.DynamoDB(s.r53.DNSAddr(), s.ddb.Port(), awsclient.WithMaxAttempts(1), awsclient.WithTimeout(time.Second))
	return s, err
}

func (s *stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i]()
	}
}

// setRecord creates (present) or deletes the regional endpoint's A record.
func (s *stack) setRecord(ctx context.Context, present bool) error {
	action := r53types.ChangeActionDelete
	if present {
		action = r53types.ChangeActionCreate
	}
	_, err := s.route.ChangeResourceRecordSets(ctx, &r53sdk.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(s.zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(awsclient.DynamoDBHost + "."), Type: r53types.RRTypeA, TTL: aws.Int64(5),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("127.0.0.1")}},
		}}}},
	})
	return err
}

// fleet sums the hosts' state.
type fleet struct {
	Held, Droplets, Queue int
	Goodput               float64
}

func (s *stack) fleet() fleet {
	var f fleet
	for _, h := range s.hosts {
		st := h.State()
		f.Held += st.LeasesHeld
		f.Droplets += st.Droplets
		f.Queue += st.QueueDepth
		f.Goodput += st.GoodputPerMinute
	}
	return f
}

// launch is one RunInstances probe; it returns ec2.LaunchOutcome's code.
func (s *stack) launch(ctx context.Context, client *ec2sdk.Client) (string, string) {
	out, err := client.RunInstances(ctx, &ec2sdk.RunInstancesInput{
		ImageId: aws.String("ami-cascade"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: aws.String("probe"), Value: aws.String("suite-ec2")}}}},
	})
	if err != nil {
		return ec2.LaunchOutcome(err), ""
	}
	return "ok", aws.ToString(out.Instances[0].InstanceId)
}

// dynamoHealthy is one GetItem through the mock DNS.
func (s *stack) dynamoHealthy(ctx context.Context) bool {
	_, err := s.dynamo.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("dwfm-leases"),
		Key: map[string]ddbtypes.AttributeValue{"droplet": &ddbtypes.AttributeValueMemberS{Value: "probe"}}})
	return err == nil
}

func (s *stack) instanceState(ctx context.Context, id string) string {
	out, err := s.client.DescribeInstances(ctx, &ec2sdk.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) == 0 {
		return "error"
	}
	return string(out.Reservations[0].Instances[0].State.Name)
}
