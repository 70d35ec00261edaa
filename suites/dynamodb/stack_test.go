package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
	"github.com/cascade-lab/cascade/harness/labels"
	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/suites/framework"
)

// stackConnAge is the stack's DynamoDB maximum connection age (and idle
// timeout), in incident time: 4 s of wall time at the default speed, long
// enough that a connection opened just before the record is emptied is
// still open when the spec checks that it still serves, short enough that
// it ages out well within the spec's timeout.
const stackConnAge = 2 * time.Hour

// stackStartTimeout bounds the stack's start: ~50 ms embedded, ~7 s on
// containers with the images present, longer when the containers backend
// rebuilds a stale image first.
const stackStartTimeout = 3 * time.Minute

// The specs below bound each node with NodeTimeout, not SpecTimeout: in an
// Ordered container the first spec's SpecTimeout also bounds BeforeAll (a
// containers start that rebuilt an image timed out at 13 s that way), and
// the last one's the stack's close.

var _ = Describe("DynamoDB on the stack (CASCADE_BACKEND), by the regional endpoint's name",
	Label(labels.DynamoDB, labels.Route53, labels.Smoke), Ordered, func() {
		var (
			stack  harness.Stack
			ledger *faults.Ledger
			table  string
			// ageWall is stackConnAge in wall time at the stack's speed.
			ageWall = harness.DefaultSpeed.ToWall(stackConnAge)
		)

		BeforeAll(func(ctx SpecContext) {
			r := framework.Start(ctx, framework.Describing("Route53, DynamoDB and the DNS automation that publishes the regional record"),
				framework.WithStack(
					harness.WithServices(harness.Route53Svc, harness.DynamoDBSvc, harness.DNSPlannerSvc, harness.DNSEnactorSvc),
					harness.Tune(func(_ string, c *ddb.Config) { c.MaxConnAge, c.IdleTimeout = stackConnAge, stackConnAge })))
			stack, ledger = r.Stack, r.Ledger
			table = "suite-" + stack.Name()
		}, NodeTimeout(stackStartTimeout))

		// client is a fresh SDK client of the stack: no pooled connection, so
		// its first request dials and resolves the endpoint's name.
		client := func() *dynamodb.Client {
			GinkgoHelper()
			c, err := stack.DynamoDB(awsclient.WithMaxAttempts(1))
			Expect(err).NotTo(HaveOccurred())
			return c
		}
		key := func(id string) map[string]ddbtypes.AttributeValue {
			return map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: id}}
		}
		get := func(ctx context.Context, c *dynamodb.Client, id string) (map[string]ddbtypes.AttributeValue, error) {
			out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(id), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return nil, err
			}
			return out.Item, nil
		}

		// move hands lease id from owner from to owner to, on condition that
		// from still holds it.
		move := func(ctx context.Context, c *dynamodb.Client, id, from, to string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(table),
				Key:                       key(id),
				UpdateExpression:          aws.String("SET #o = :to"),
				ConditionExpression:       aws.String("#o = :from"),
				ExpressionAttributeNames:  map[string]string{"#o": "owner"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":to": &ddbtypes.AttributeValueMemberS{Value: to}, ":from": &ddbtypes.AttributeValueMemberS{Value: from}},
			})
			return err
		}

		// inject applies faults through the ledger; each is reverted when the
		// spec ends, failed or not.
		inject := func(ctx context.Context, fs ...faults.Fault) {
			GinkgoHelper()
			for _, f := range fs {
				undo, err := ledger.Apply(ctx, f)
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(undo)
			}
		}

		It("resolves the endpoint to the load balancers through the mock DNS", func(ctx SpecContext) {
			ep := stack.Endpoints()
			addrs, err := ep.Resolver().LookupHost(ctx, awsclient.DynamoDBHost)
			Expect(err).NotTo(HaveOccurred())
			var lbIPs []string
			for _, lb := range ep.LoadBalancers {
				lbIPs = append(lbIPs, lb.IP)
			}
			Expect(lbIPs).To(HaveLen(3))
			Expect(addrs).NotTo(BeEmpty())
			for _, a := range addrs {
				_, err := netip.ParseAddr(a)
				Expect(err).NotTo(HaveOccurred())
				Expect(lbIPs).To(ContainElement(a), "every answer is a DynamoDB load balancer")
			}
		}, NodeTimeout(10*time.Second))

		It("creates, reads, updates, queries and deletes through the SDK client", func(ctx SpecContext) {
			c := client()
			By("creating table " + table)
			_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String(table),
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
				BillingMode:          ddbtypes.BillingModePayPerRequest,
			})
			Expect(err).NotTo(HaveOccurred())
			tables, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
			Expect(err).NotTo(HaveOccurred())
			Expect(tables.TableNames).To(ContainElement(table))

			By("putting three leases and reading one back")
			for i := range 3 {
				item := key(fmt.Sprintf("droplet-%d", i))
				item["owner"] = &ddbtypes.AttributeValueMemberS{Value: "dwfm-a"}
				_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item})
				Expect(err).NotTo(HaveOccurred())
			}
			item, err := get(ctx, c, "droplet-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(item).To(HaveKeyWithValue("owner", &ddbtypes.AttributeValueMemberS{Value: "dwfm-a"}))

			By("moving droplet-1 to dwfm-b with a conditional update")
			Expect(move(ctx, c, "droplet-1", "dwfm-a", "dwfm-b")).To(Succeed())
			item, err = get(ctx, c, "droplet-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(item).To(HaveKeyWithValue("owner", &ddbtypes.AttributeValueMemberS{Value: "dwfm-b"}))

			By("the same condition now fails with the real service's error")
			var ccf *ddbtypes.ConditionalCheckFailedException
			err = move(ctx, c, "droplet-1", "dwfm-a", "dwfm-c")
			Expect(errors.As(err, &ccf)).To(BeTrue(), "want ConditionalCheckFailedException, got %v", err)

			By("querying droplet-2 by its key")
			q, err := c.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(table),
				KeyConditionExpression:    aws.String("id = :id"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": &ddbtypes.AttributeValueMemberS{Value: "droplet-2"}},
			})
			Expect(err).NotTo(HaveOccurred())
			Expect(q.Items).To(HaveLen(1))

			By("deleting droplet-0: it is gone, the others remain")
			_, err = c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key("droplet-0")})
			Expect(err).NotTo(HaveOccurred())
			item, err = get(ctx, c, "droplet-0")
			Expect(err).NotTo(HaveOccurred())
			Expect(item).To(BeEmpty())
			scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
			Expect(err).NotTo(HaveOccurred())
			Expect(scan.Items).To(HaveLen(2))
		}, NodeTimeout(30*time.Second))

		It("fails new connections with no such host while the regional record is empty, the connected client once its connection ages out, and recovers when DNS is restored", func(ctx SpecContext) {
			By("disabling the DNS automation, as the operators did, so nothing repairs the record")
			inject(ctx, faults.DisableDNSAutomation{})

			By("opening a connection: a client's first request dials and resolves")
			connected := client()
			beforeDial := time.Now() // the server accepted the connection after this
			_, err := get(ctx, connected, "droplet-1")
			Expect(err).NotTo(HaveOccurred())

			By("emptying the regional record through the Route53 API")
			empty, err := faults.Empty("regional")
			Expect(err).NotTo(HaveOccurred())
			inject(ctx, empty)
			_, err = stack.Endpoints().Resolver().LookupHost(ctx, awsclient.DynamoDBHost)
			Expect(isNoSuchHost(err)).To(BeTrue(), "the name no longer resolves: %v", err)

			By("a new client fails at once with no such host")
			fresh := client()
			_, err = get(ctx, fresh, "droplet-1")
			Expect(isNoSuchHost(err)).To(BeTrue(), "want *net.DNSError IsNotFound, got %v", err)

			By("the connected client is still served: a new dial would fail, so its open connection served it")
			_, err = get(ctx, connected, "droplet-1")
			Expect(err).NotTo(HaveOccurred(), "%v after the dial (maximum age %v wall)", time.Since(beforeDial), ageWall)

			By(fmt.Sprintf("the connected client fails with no such host once the server retires its connection (maximum age %v, %v wall)", stackConnAge, ageWall))
			Eventually(func() error { _, err := get(ctx, connected, "droplet-1"); return err }).
				WithContext(ctx).WithTimeout(ageWall + 10*time.Second).WithPolling(100 * time.Millisecond).
				Should(Satisfy(isNoSuchHost))
			Expect(time.Since(beforeDial)).To(BeNumerically(">=", ageWall), "the connection lived its maximum age")

			By("restoring the record by hand: both clients recover without being rebuilt")
			_, err = ledger.Apply(ctx, faults.RestoreRegional())
			Expect(err).NotTo(HaveOccurred())
			for name, c := range map[string]*dynamodb.Client{"fresh": fresh, "connected": connected} {
				Eventually(func() error { _, err := get(ctx, c, "droplet-1"); return err }).
					WithContext(ctx).WithTimeout(10*time.Second).WithPolling(100*time.Millisecond).
					Should(Succeed(), name)
			}
		}, NodeTimeout(time.Minute))

		It("reverts every fault it applied", func(ctx SpecContext) {
			Expect(ledger.RevertAll(ctx)).To(Succeed())
			left, err := faults.Inspect(ctx, stack)
			Expect(err).NotTo(HaveOccurred())
			Expect(left.Empty()).To(BeTrue(), "left: %s", left)
		}, NodeTimeout(10*time.Second))
	})
