package dynamodb_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// TestSDKUpdateTableAddsAndRemovesAGSI adds an INCLUDE index to a table
// that already holds items, queries and scans it, moves an item's index key
// and sees the index follow, then removes the index.
func TestSDKUpdateTableAddsAndRemovesAGSI(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "leases", "id", "", "")
	for i := 0; i < 6; i++ {
		item := map[string]types.AttributeValue{"id": s(fmt.Sprintf("d%d", i)), "note": s("n"), "secret": s("x")}
		if i%2 == 0 {
			item["owner"] = s("host-a")
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	up, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:            aws.String("leases"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("owner"), AttributeType: types.ScalarAttributeTypeS}},
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName:  aws.String("by-owner"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("owner"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"note"}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := up.TableDescription.GlobalSecondaryIndexes; len(g) != 1 || g[0].IndexStatus != types.IndexStatusActive {
		t.Fatalf("UpdateTable: indexes %+v", g)
	}
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("leases")})
	if err != nil {
		t.Fatal(err)
	}
	d := desc.Table
	if aws.ToInt64(d.ItemCount) != 6 || aws.ToInt64(d.GlobalSecondaryIndexes[0].ItemCount) != 3 || d.BillingModeSummary == nil ||
		d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest || aws.ToString(d.TableArn) != "arn:aws:dynamodb:us-east-1:000000000000:table/leases" || len(d.AttributeDefinitions) != 2 {
		t.Fatalf("DescribeTable: items %v, index items %v, billing %+v, arn %v, defs %d", aws.ToInt64(d.ItemCount), aws.ToInt64(d.GlobalSecondaryIndexes[0].ItemCount), d.BillingModeSummary, aws.ToString(d.TableArn), len(d.AttributeDefinitions))
	}
	queryOwner := func() []map[string]types.AttributeValue {
		t.Helper()
		q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("leases"), IndexName: aws.String("by-owner"),
			KeyConditionExpression: aws.String("#o = :o"), ExpressionAttributeNames: map[string]string{"#o": "owner"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("host-a")}})
		if err != nil {
			t.Fatal(err)
		}
		return q.Items
	}
	items := queryOwner()
	if len(items) != 3 {
		t.Fatalf("query by-owner: %d items, want 3", len(items))
	}
	for _, it := range items {
		if _, ok := it["secret"]; ok || it["note"] == nil || it["id"] == nil {
			t.Fatalf("INCLUDE [note] projected %v", it)
		}
	}
	// Moving one item's index key takes it out of the host-a partition.
	if _, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d0")},
		UpdateExpression: aws.String("SET #o = :b"), ExpressionAttributeNames: map[string]string{"#o": "owner"}, ExpressionAttributeValues: map[string]types.AttributeValue{":b": s("host-b")}}); err != nil {
		t.Fatal(err)
	}
	if items := queryOwner(); len(items) != 2 {
		t.Fatalf("after moving d0: %d items in host-a, want 2", len(items))
	}
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("leases"), IndexName: aws.String("by-owner"), Select: types.SelectCount})
	if err != nil || sc.Count != 3 {
		t.Fatalf("scan by-owner COUNT: %v %+v", err, sc)
	}

	if _, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("leases"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("by-owner")}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("leases"), IndexName: aws.String("by-owner")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != "The table does not have the specified index: by-owner" {
		t.Fatalf("scan of a deleted index: %v", err)
	}
	desc, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("leases")})
	if err != nil || len(desc.Table.GlobalSecondaryIndexes) != 0 || len(desc.Table.AttributeDefinitions) != 1 {
		t.Fatalf("DescribeTable after delete: %v %+v", err, desc.Table)
	}
}
