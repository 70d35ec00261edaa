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

func TestSDKTransactWriteIsAllOrNothing(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}, {Name: "audit", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s("d1"), "ver": n("1")}}); err != nil {
		t.Fatal(err)
	}
	tx := func(ver string) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d1")},
				UpdateExpression: aws.String("SET ver = ver + :one"), ConditionExpression: aws.String("ver = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1"), ":v": n(ver)}}},
			{Put: &types.Put{TableName: aws.String("audit"), Item: map[string]types.AttributeValue{"id": s("a" + ver)}}},
			{ConditionCheck: &types.ConditionCheck{TableName: aws.String("audit"), Key: map[string]types.AttributeValue{"id": s("blocker")}, ConditionExpression: aws.String("attribute_not_exists(id)")}},
		}})
		return err
	}
	if err := tx("1"); err != nil {
		t.Fatal(err)
	}
	err := tx("1")
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("stale transaction: want TransactionCanceledException, got %v", err)
	}
	if want := "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None]"; tce.ErrorMessage() != want {
		t.Fatalf("message %q, want %q", tce.ErrorMessage(), want)
	}
	if len(tce.CancellationReasons) != 3 || *tce.CancellationReasons[0].Code != "ConditionalCheckFailed" || *tce.CancellationReasons[0].Message != "The conditional request failed" || *tce.CancellationReasons[1].Code != "None" {
		t.Fatalf("reasons %+v", tce.CancellationReasons)
	}
	// Nothing of the cancelled transaction was applied.
	got, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("audit"), Key: map[string]types.AttributeValue{"id": s("a1")}})
	if got.Item == nil {
		t.Fatal("first transaction's put missing")
	}
	sc, _ := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("audit")})
	if sc.Count != 1 {
		t.Fatalf("audit has %d items, want 1", sc.Count)
	}
	// Duplicate targets are a ValidationException.
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("audit"), Item: map[string]types.AttributeValue{"id": s("x")}}},
		{Delete: &types.Delete{TableName: aws.String("audit"), Key: map[string]types.AttributeValue{"id": s("x")}}},
	}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != "Transaction request cannot include multiple operations on one item" {
		t.Fatalf("duplicate: %v", err)
	}
	tg, err := c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d1")}}},
		{Get: &types.Get{TableName: aws.String("audit"), Key: map[string]types.AttributeValue{"id": s("nope")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Responses) != 2 || tg.Responses[0].Item["ver"].(*types.AttributeValueMemberN).Value != "2" || tg.Responses[1].Item != nil {
		t.Fatalf("transact get %+v", tg.Responses)
	}
}

func TestSDKBatchGetAndWrite(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	var writes []types.WriteRequest
	for i := 0; i < 25; i++ {
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"id": s(fmt.Sprint(i)), "v": n(fmt.Sprint(i))}}})
	}
	if _, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"leases": writes}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"leases": append(writes, writes[0])}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("26 writes: %v", err)
	}
	_, err = c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"leases": {writes[0], writes[0]}}})
	if !errors.As(err, &ae) || ae.ErrorMessage() != "Provided list of item keys contains duplicates" {
		t.Fatalf("duplicate writes: %v", err)
	}
	var keys []map[string]types.AttributeValue
	for i := 0; i < 30; i += 2 {
		keys = append(keys, map[string]types.AttributeValue{"id": s(fmt.Sprint(i))})
	}
	out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"leases": {Keys: keys, ProjectionExpression: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Responses["leases"]) != 13 || len(out.UnprocessedKeys) != 0 {
		t.Fatalf("batch get: %d items, unprocessed %v", len(out.Responses["leases"]), out.UnprocessedKeys)
	}
	for _, it := range out.Responses["leases"] {
		if len(it) != 1 || it["v"] == nil {
			t.Fatalf("projected item %v", it)
		}
	}
	// Delete half with BatchWriteItem.
	var dels []types.WriteRequest
	for i := 0; i < 25; i += 2 {
		dels = append(dels, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"id": s(fmt.Sprint(i))}}})
	}
	if _, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"leases": dels}}); err != nil {
		t.Fatal(err)
	}
	sc, _ := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("leases"), Select: types.SelectCount})
	if sc.Count != 12 {
		t.Fatalf("after deletes: %d items", sc.Count)
	}
}

// TestSDKTransactWriteIsIdempotent: a retry with the same
// ClientRequestToken (what the SDK sends when a response was lost) does not
// apply the transaction twice; the same token with other parameters is
// refused.
func TestSDKTransactWriteIsIdempotent(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	tx := func(token, add string) error {
		_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			ClientRequestToken: aws.String(token),
			TransactItems: []types.TransactWriteItem{{Update: &types.Update{
				TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d1")},
				UpdateExpression: aws.String("ADD hits :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": n(add)},
			}}},
		})
		return err
	}
	for i := 0; i < 3; i++ {
		if err := tx("token-1", "1"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d1")}})
	if v := got.Item["hits"].(*types.AttributeValueMemberN).Value; v != "1" {
		t.Fatalf("hits %s after three sends of one token, want 1", v)
	}
	var mismatch *types.IdempotentParameterMismatchException
	if err := tx("token-1", "5"); !errors.As(err, &mismatch) {
		t.Fatalf("same token, other parameters: %v", err)
	}
	if err := tx("token-2", "1"); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d1")}})
	if v := got.Item["hits"].(*types.AttributeValueMemberN).Value; v != "2" {
		t.Fatalf("hits %s after a new token, want 2", v)
	}
}

// TestSDKCancelledTransactionLeavesStateUntouched fails the last action of
// a transaction: the put and delete before it are not applied, and the
// reasons come in item order with the failing item's old image.
func TestSDKCancelledTransactionLeavesStateUntouched(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	for _, id := range []string{"keep", "guard"} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s(id), "ver": n("7")}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal, TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s("new")}}},
		{Delete: &types.Delete{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("keep")}}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("guard")},
			ConditionExpression: aws.String("ver = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("8")},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("want TransactionCanceledException, got %v", err)
	}
	r := tce.CancellationReasons
	if len(r) != 3 || *r[0].Code != "None" || *r[1].Code != "None" || *r[2].Code != "ConditionalCheckFailed" || r[2].Item["ver"].(*types.AttributeValueMemberN).Value != "7" {
		t.Fatalf("reasons %+v", r)
	}
	sc, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("leases")})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, it := range sc.Items {
		ids[it["id"].(*types.AttributeValueMemberS).Value] = true
	}
	if len(ids) != 2 || !ids["keep"] || !ids["guard"] {
		t.Fatalf("after the cancelled transaction the table holds %v, want keep and guard", ids)
	}
}
