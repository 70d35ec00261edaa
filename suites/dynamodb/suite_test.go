// Package dynamodb_test is the suite of the DynamoDB mock reached the way
// the stack's services reach it: by the regional endpoint's name, resolved
// through the Route53 mock's DNS on every new connection. The stack specs
// (stack_test.go) run on whichever backend CASCADE_BACKEND names: CRUD
// through the SDK, and an emptied regional record failing new connections
// and then, once the server retires it, the open one. The specs below start
// Route53 and DynamoDB in this process, with a short wall-clock connection
// age, to check the same mechanism in isolation.
package dynamodb_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/jonboulle/clockwork"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness/labels"
	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/route53"
)

func TestDynamoDB(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "DynamoDB")
}

// maxConnAge is short so an already-connected client must dial (and
// resolve) again within the spec's timeouts.
const maxConnAge = 200 * time.Millisecond

var regional = &r53types.ResourceRecordSet{
	Name:            aws.String(awsclient.DynamoDBHost + "."),
	Type:            r53types.RRTypeA,
	TTL:             aws.Int64(5),
	ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("127.0.0.1")}},
}

// isNoSuchHost matches an error whose cause is an authoritative "no such
// host" from the resolver.
func isNoSuchHost(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

var _ = Describe("DynamoDB through the mock DNS", Label(labels.DynamoDB, labels.Route53, labels.Smoke), func() {
	var (
		dns     *route53.Server
		dynamo  *ddb.Server
		r53c    *r53.Client
		zoneID  string
		ctx     context.Context
		connect func() *dynamodb.Client
	)

	BeforeEach(func() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		DeferCleanup(cancel)
		clock := clockwork.NewRealClock()

		By("starting Route53 (DNS + API) and DynamoDB on 127.0.0.1")
		var err error
		dns, err = route53.New(route53.Config{Zones: route53.DefaultZones}, kit.NewEnv("route53", clock, io.Discard, 1))
		Expect(err).NotTo(HaveOccurred())
		Expect(dns.Start(ctx)).To(Succeed())
		DeferCleanup(dns.Close)
		dynamo, err = ddb.New(ddb.Config{
			Addr:       "127.0.0.1:0",
			MaxConnAge: maxConnAge,
			Tables:     []ddb.TableSpec{{Name: "leases", HashKey: "id"}},
		}, kit.NewEnv("dynamodb", clock, io.Discard, 1))
		Expect(err).NotTo(HaveOccurred())
		Expect(dynamo.Start(ctx)).To(Succeed())
		DeferCleanup(dynamo.Close)

		r53c, err = awsclient.Route53(dns.APIURL(), awsclient.WithMaxAttempts(1))
		Expect(err).NotTo(HaveOccurred())
		var ok bool
		zoneID, ok = dns.ZoneID("us-east-1.amazonaws.com.")
		Expect(ok).To(BeTrue(), "zone us-east-1.amazonaws.com. served")

		By("publishing the regional record " + awsclient.DynamoDBHost + " -> 127.0.0.1")
		changeRegional(ctx, r53c, zoneID, r53types.ChangeActionUpsert)

		connect = func() *dynamodb.Client {
			hc := kit.NewHTTPClient(dns.DNSAddr(), 5*time.Second)
			c, err := awsclient.DynamoDB(dns.DNSAddr(), dynamo.Port(), awsclient.WithMaxAttempts(1), awsclient.WithHTTPClient(hc))
			Expect(err).NotTo(HaveOccurred())
			return c
		}
	})

	getLease := func(c *dynamodb.Client) error {
		_, err := c.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String("leases"),
			Key:       map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "droplet-1"}},
		})
		return err
	}

	It("reaches DynamoDB by name, fails with no such host while the record is empty, and recovers when it returns", func() {
		By("writing and reading through a client that resolves the endpoint's name")
		connected := connect()
		_, err := connected.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String("leases"),
			Item:      map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "droplet-1"}},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(getLease(connected)).To(Succeed())

		By("emptying the regional record (change batch DELETE)")
		changeRegional(ctx, r53c, zoneID, r53types.ChangeActionDelete)

		By("a new client fails at once with no such host")
		fresh := connect()
		err = getLease(fresh)
		Expect(err).To(HaveOccurred())
		Expect(isNoSuchHost(err)).To(BeTrue(), "want *net.DNSError IsNotFound, got %v", err)

		By("the already-connected client fails too, once its connection ages out")
		Eventually(func() error { return getLease(connected) }).
			WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).
			Should(Satisfy(isNoSuchHost))

		By("restoring the record: both clients recover without being rebuilt")
		changeRegional(ctx, r53c, zoneID, r53types.ChangeActionCreate)
		Eventually(func() error { return getLease(fresh) }).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
		Eventually(func() error { return getLease(connected) }).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
	})

	It("keeps serving an already-connected client while the record is present", func() {
		c := connect()
		By("sending requests across several connection lifetimes")
		deadline := time.Now().Add(4 * maxConnAge)
		for time.Now().Before(deadline) {
			Expect(getLease(c)).To(Succeed())
		}
	})
})

// changeRegional applies one change to the regional record.
func changeRegional(ctx context.Context, c *r53.Client, zoneID string, action r53types.ChangeAction) {
	GinkgoHelper()
	_, err := c.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch:  &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: regional}}},
	})
	Expect(err).NotTo(HaveOccurred())
}
