package dynamodb_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// TestSDKConsumedCapacity checks the units DynamoDB documents: 1 KB write
// and 4 KB read rounding, halves for eventually consistent reads, a Query
// rounding the sum of the items it read, index shares under INDEXES, and
// transactions at double.
func TestSDKConsumedCapacity(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String("cap"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("owner"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by-owner"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("owner"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pad := func(kb float64) *types.AttributeValueMemberS { return s(strings.Repeat("x", int(kb*1024))) }
	units := func(cc *types.ConsumedCapacity) float64 {
		t.Helper()
		if cc == nil || cc.CapacityUnits == nil {
			t.Fatal("no ConsumedCapacity")
		}
		return *cc.CapacityUnits
	}

	// 1.5 KB without an index key: 2 write units on the table alone.
	put, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		Item: map[string]types.AttributeValue{"pk": s("p"), "sk": n("1"), "pad": pad(1.5)}})
	if err != nil {
		t.Fatal(err)
	}
	if u := units(put.ConsumedCapacity); u != 2 {
		t.Errorf("PutItem 1.5 KB: %v units, want 2", u)
	}
	// With the index key: 2 on the table, 1 on the keys-only index.
	put, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes,
		Item: map[string]types.AttributeValue{"pk": s("p"), "sk": n("2"), "owner": s("a"), "pad": pad(1.5)}})
	if err != nil {
		t.Fatal(err)
	}
	cc := put.ConsumedCapacity
	if units(cc) != 3 || cc.Table == nil || *cc.Table.CapacityUnits != 2 || cc.GlobalSecondaryIndexes["by-owner"].CapacityUnits == nil || *cc.GlobalSecondaryIndexes["by-owner"].CapacityUnits != 1 {
		t.Errorf("PutItem INDEXES: %+v", cc)
	}
	for i := 3; i <= 4; i++ {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("cap"), Item: map[string]types.AttributeValue{"pk": s("p"), "sk": n(strconv.Itoa(i)), "pad": pad(1.5)}}); err != nil {
			t.Fatal(err)
		}
	}

	// GetItem of ~1.5 KB: 1 strongly consistent, 0.5 eventually.
	for _, consistent := range []bool{true, false} {
		got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("cap"), Key: map[string]types.AttributeValue{"pk": s("p"), "sk": n("1")},
			ConsistentRead: aws.Bool(consistent), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]float64{true: 1, false: 0.5}[consistent]
		if u := units(got.ConsumedCapacity); u != want {
			t.Errorf("GetItem consistent=%v: %v units, want %v", consistent, u, want)
		}
	}
	// Query of four ~1.5 KB items: ~6 KB summed, 2 units strongly, 1 eventually.
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("cap"), KeyConditionExpression: aws.String("pk = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p")}, ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if u := units(q.ConsumedCapacity); q.Count != 4 || u != 2 {
		t.Errorf("Query of 4 x 1.5 KB: count %d, %v units, want 4 / 2", q.Count, u)
	}
	// A Scan with Select COUNT reads (and pays for) the same items.
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("cap"), Select: types.SelectCount, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if u := units(sc.ConsumedCapacity); sc.Count != 4 || u != 1 {
		t.Errorf("Scan COUNT: count %d, %v units, want 4 / 1", sc.Count, u)
	}
	// A Query of the index reads the index's small entries and charges it.
	qi, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("cap"), IndexName: aws.String("by-owner"), KeyConditionExpression: aws.String("#o = :o"),
		ExpressionAttributeNames: map[string]string{"#o": "owner"}, ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("a")},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
	if err != nil {
		t.Fatal(err)
	}
	if cc := qi.ConsumedCapacity; units(cc) != 0.5 || cc.GlobalSecondaryIndexes["by-owner"].CapacityUnits == nil || *cc.GlobalSecondaryIndexes["by-owner"].CapacityUnits != 0.5 {
		t.Errorf("Query by-owner INDEXES: %+v", cc)
	}

	// Transactions: two small puts, 2 x 1 x 2 = 4; one get, 1 x 2 = 2.
	tw, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal, TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("cap"), Item: map[string]types.AttributeValue{"pk": s("t"), "sk": n("1")}}},
		{Put: &types.Put{TableName: aws.String("cap"), Item: map[string]types.AttributeValue{"pk": s("t"), "sk": n("2")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tw.ConsumedCapacity) != 1 || units(&tw.ConsumedCapacity[0]) != 4 {
		t.Errorf("TransactWriteItems: %+v, want one table at 4", tw.ConsumedCapacity)
	}
	tg, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal, TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String("cap"), Key: map[string]types.AttributeValue{"pk": s("t"), "sk": n("1")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.ConsumedCapacity) != 1 || units(&tg.ConsumedCapacity[0]) != 2 {
		t.Errorf("TransactGetItems: %+v, want one table at 2", tg.ConsumedCapacity)
	}
	bw, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal, RequestItems: map[string][]types.WriteRequest{"cap": {
		{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"pk": s("t"), "sk": n("1")}}},
		{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"pk": s("t"), "sk": n("3"), "pad": pad(2.5)}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bw.ConsumedCapacity) != 1 || units(&bw.ConsumedCapacity[0]) != 4 {
		t.Errorf("BatchWriteItem delete small + put 2.5 KB: %+v, want 4", bw.ConsumedCapacity)
	}
	// NONE (and absent) return nothing; an unknown mode is refused.
	none, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("cap"), Key: map[string]types.AttributeValue{"pk": s("t"), "sk": n("2")}, ReturnConsumedCapacity: types.ReturnConsumedCapacityNone})
	if err != nil || none.ConsumedCapacity != nil {
		t.Errorf("NONE: %v %+v", err, none)
	}
	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("cap"), Key: map[string]types.AttributeValue{"pk": s("t"), "sk": n("2")}, ReturnConsumedCapacity: "ALL"})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]") {
		t.Errorf("unknown ReturnConsumedCapacity: %v", err)
	}
}

// TestSDKItemCollectionMetrics asks for SIZE on a table with a local
// secondary index: the write reports its item collection's key and size
// range; a table without one reports nothing.
func TestSDKItemCollectionMetrics(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String("lsi"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange}},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{{
			IndexName:  aws.String("by-at"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("at"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("lsi"), Item: map[string]types.AttributeValue{"pk": s("p"), "sk": n("1"), "at": n("5")},
		ReturnItemCollectionMetrics: types.ReturnItemCollectionMetricsSize})
	if err != nil {
		t.Fatal(err)
	}
	m := out.ItemCollectionMetrics
	if m == nil || m.ItemCollectionKey["pk"].(*types.AttributeValueMemberS).Value != "p" || len(m.SizeEstimateRangeGB) != 2 || m.SizeEstimateRangeGB[0] != 0 || m.SizeEstimateRangeGB[1] != 1 {
		t.Fatalf("ItemCollectionMetrics %+v", m)
	}
	createTable(t, c, "plain", "pk", "", "")
	out, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("plain"), Item: map[string]types.AttributeValue{"pk": s("p")}, ReturnItemCollectionMetrics: types.ReturnItemCollectionMetricsSize})
	if err != nil || out.ItemCollectionMetrics != nil {
		t.Fatalf("table without an LSI: %v %+v", err, out.ItemCollectionMetrics)
	}
}
