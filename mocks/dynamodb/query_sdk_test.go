package dynamodb_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// TestSDKScanPaginatesToTheEnd loads 10,000 items with BatchWriteItem and
// reads them back with the SDK's Scan and Query paginators, small pages.
func TestSDKScanPaginatesToTheEnd(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "events", "pk", "sk", "N")
	const total = 10000
	var batch []types.WriteRequest
	flush := func() {
		if len(batch) == 0 {
			return
		}
		out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"events": batch}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.UnprocessedItems) != 0 {
			t.Fatalf("unprocessed: %v", out.UnprocessedItems)
		}
		batch = nil
	}
	for i := 0; i < total; i++ {
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"pk": s(fmt.Sprintf("p%02d", i%50)), "sk": n(strconv.Itoa(i)), "even": &types.AttributeValueMemberBOOL{Value: i%2 == 0},
		}}})
		if len(batch) == 25 {
			flush()
		}
	}
	flush()

	seen := map[string]bool{}
	pages := 0
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("events"), Limit: aws.Int32(333)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range out.Items {
			k := it["pk"].(*types.AttributeValueMemberS).Value + "/" + it["sk"].(*types.AttributeValueMemberN).Value
			if seen[k] {
				t.Fatalf("item %s returned twice", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != total {
		t.Fatalf("scan saw %d items, want %d", len(seen), total)
	}
	if pages != (total+332)/333 {
		t.Fatalf("scan took %d pages, want %d", pages, (total+332)/333)
	}

	// Filtered scan with COUNT: counts what matches, scans everything.
	count, scanned := 0, 0
	p = dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("events"), Select: types.SelectCount, FilterExpression: aws.String("even = :t"), ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}, Limit: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if out.Items != nil {
			t.Fatalf("COUNT returned items")
		}
		count += int(out.Count)
		scanned += int(out.ScannedCount)
	}
	if count != total/2 || scanned != total {
		t.Fatalf("count %d scanned %d", count, scanned)
	}

	// Parallel scan: the segments partition the table.
	segSeen := 0
	for seg := 0; seg < 4; seg++ {
		p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("events"), Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(4), Select: types.SelectCount})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			segSeen += int(out.Count)
		}
	}
	if segSeen != total {
		t.Fatalf("segments saw %d items", segSeen)
	}

	// Query one partition backwards, in pages of 7, with a range condition.
	var got []int
	q := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{
		TableName:                 aws.String("events"),
		KeyConditionExpression:    aws.String("pk = :p AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p07"), ":lo": n("100"), ":hi": n("1000.0")},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(7),
	})
	for q.HasMorePages() {
		out, err := q.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			v, _ := strconv.Atoi(it["sk"].(*types.AttributeValueMemberN).Value)
			got = append(got, v)
		}
	}
	var want []int
	for i := 1000; i >= 100; i-- {
		if i%50 == 7 {
			want = append(want, i)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("query got %v\nwant %v", got, want)
	}
	// Numbers compare as decimals: 10 > 9 although "10" < "9".
	out, err := c.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String("events"),
		KeyConditionExpression:    aws.String("pk = :p AND sk > :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p00"), ":v": n("9950")},
	})
	if err != nil || out.Count != 0 {
		t.Fatalf("sk > 9950 in p00: %v %d", err, out.Count)
	}
	out, err = c.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String("events"),
		KeyConditionExpression:    aws.String("pk = :p AND sk >= :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p00"), ":v": n("9.95e3")},
	})
	if err != nil || out.Count != 1 {
		t.Fatalf("sk >= 9.95e3 in p00: %v %d", err, out.Count)
	}
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("events")})
	if err != nil || *d.Table.ItemCount != total {
		t.Fatalf("item count: %v %v", err, d.Table.ItemCount)
	}
}

func TestSDKQueryErrors(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "events", HashKey: "pk", RangeKey: "sk", RangeType: "N"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	cases := map[string]struct {
		in   *dynamodb.QueryInput
		want string
	}{
		"filter on key": {&dynamodb.QueryInput{TableName: aws.String("events"), KeyConditionExpression: aws.String("pk = :p"), FilterExpression: aws.String("sk > :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("a"), ":v": n("1")}},
			"Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"},
		"no key condition": {&dynamodb.QueryInput{TableName: aws.String("events")}, "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."},
		"range only":       {&dynamodb.QueryInput{TableName: aws.String("events"), KeyConditionExpression: aws.String("sk = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("1")}}, "Query condition missed key schema element: pk"},
		"zero limit":       {&dynamodb.QueryInput{TableName: aws.String("events"), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("a")}, Limit: aws.Int32(0)}, "Member must have value greater than or equal to 1"},
		"type mismatch":    {&dynamodb.QueryInput{TableName: aws.String("events"), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": n("1")}}, "Condition parameter type does not match schema type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Query(ctx, tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), tc.want) {
				t.Fatalf("got %v, want ValidationException %q", err, tc.want)
			}
		})
	}
}

func TestSDKListTablesPaginates(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	for i := 0; i < 23; i++ {
		createTable(t, c, fmt.Sprintf("table-%02d", i), "id", "", "")
	}
	var names []string
	p := dynamodb.NewListTablesPaginator(c, &dynamodb.ListTablesInput{Limit: aws.Int32(5)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TableNames) > 5 {
			t.Fatalf("page of %d", len(out.TableNames))
		}
		names = append(names, out.TableNames...)
	}
	if len(names) != 23 || names[0] != "table-00" || names[22] != "table-22" {
		t.Fatalf("names %v", names)
	}
}

func TestSDKGlobalSecondaryIndex(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String("leases"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("owner"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("expires"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by-owner"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("owner"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("expires"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		item := map[string]types.AttributeValue{"id": s(fmt.Sprintf("d%02d", i)), "extra": s("x")}
		if i%3 != 0 {
			item["owner"] = s(fmt.Sprintf("host-%d", i%3))
			item["expires"] = n(strconv.Itoa(1000 - i))
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	q := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{
		TableName: aws.String("leases"), IndexName: aws.String("by-owner"),
		KeyConditionExpression:    aws.String("#o = :o AND expires < :e"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("host-1"), ":e": n("990")},
		Limit:                     aws.Int32(2),
	})
	for q.HasMorePages() {
		out, err := q.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if _, ok := it["extra"]; ok {
				t.Fatalf("KEYS_ONLY index returned a non-key attribute: %v", it)
			}
			ids = append(ids, it["id"].(*types.AttributeValueMemberS).Value)
		}
	}
	// host-1 holds i%3==1: i = 1,4,...,28, expires 1000-i < 990 -> i > 10.
	if want := "[d28 d25 d22 d19 d16 d13]"; fmt.Sprint(ids) != want {
		t.Fatalf("index query %v, want %s", ids, want)
	}
	_, err = c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("leases"), IndexName: aws.String("by-owner"), ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String("#o = :o"), ExpressionAttributeNames: map[string]string{"#o": "owner"}, ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("host-1")}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != "Consistent reads are not supported on global secondary indexes" {
		t.Fatalf("consistent GSI read: %v", err)
	}
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("leases"), IndexName: aws.String("by-owner")})
	if err != nil || sc.Count != 20 {
		t.Fatalf("index scan: %v %v", err, sc)
	}
}

// TestSDKLocalSecondaryIndex: an LSI orders a partition by another
// attribute; ALL_ATTRIBUTES through a KEYS_ONLY LSI reads the table.
func TestSDKLocalSecondaryIndex(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String("events"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{{
			IndexName:  aws.String("by-time"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("at"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range []string{"c", "a", "b"} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("events"), Item: map[string]types.AttributeValue{"pk": s("p"), "sk": n(strconv.Itoa(i)), "at": s(at), "body": s("x" + at)}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("events"), IndexName: aws.String("by-time"), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p")}})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range out.Items {
		order = append(order, it["at"].(*types.AttributeValueMemberS).Value)
		if it["body"] != nil {
			t.Fatalf("KEYS_ONLY projection returned body: %v", it)
		}
	}
	if fmt.Sprint(order) != "[a b c]" {
		t.Fatalf("LSI order %v", order)
	}
	out, err = c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("events"), IndexName: aws.String("by-time"), Select: types.SelectAllAttributes, KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p")}})
	if err != nil || len(out.Items) != 3 || out.Items[0]["body"].(*types.AttributeValueMemberS).Value != "xa" {
		t.Fatalf("ALL_ATTRIBUTES through the LSI: %v %v", err, out.Items)
	}
}
