package dynamodb_test

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

func TestSDKTableLifecycle(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "leases", "id", "", "")
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("leases"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("second CreateTable: want ResourceInUseException, got %v", err)
	}
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("leases")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.TableStatus != types.TableStatusActive || *d.Table.KeySchema[0].AttributeName != "id" || d.Table.CreationDateTime == nil {
		t.Fatalf("describe: %+v", d.Table)
	}
	if d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("billing mode %v", d.Table.BillingModeSummary.BillingMode)
	}
	_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("missing")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "Requested resource not found") {
		t.Fatalf("describe missing: %v", err)
	}
	// The SDK's waiter polls DescribeTable until ACTIVE.
	w := dynamodb.NewTableExistsWaiter(c)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("leases")}, 5e9); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("leases")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("a")}})
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Requested resource not found" {
		t.Fatalf("get from deleted table: %v", err)
	}
}

func TestSDKPutGetUpdate(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "leases", "id", "", "")
	item := map[string]types.AttributeValue{
		"id":    s("droplet-1"),
		"owner": s("dwfm-a"),
		"ver":   n("1"),
		"b":     &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"ok":    &types.AttributeValueMemberBOOL{Value: true},
		"nul":   &types.AttributeValueMemberNULL{Value: true},
		"m":     &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": n("1.50")}},
		"l":     &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n("2")}},
		"ss":    &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
		"ns":    &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bs":    &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("droplet-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Item) != len(item) {
		t.Fatalf("got %d attributes, want %d: %v", len(got.Item), len(item), got.Item)
	}
	if v := got.Item["m"].(*types.AttributeValueMemberM).Value["x"].(*types.AttributeValueMemberN).Value; v != "1.5" && v != "1.50" {
		t.Fatalf("nested number %q", v)
	}
	if b := got.Item["b"].(*types.AttributeValueMemberB).Value; string(b) != "\x00\x01\x02" {
		t.Fatalf("binary %v", b)
	}
	// Conditional update: the lease moves only when the version matches.
	up, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String("leases"),
		Key:                       map[string]types.AttributeValue{"id": s("droplet-1")},
		UpdateExpression:          aws.String("SET #o = :new, ver = ver + :one"),
		ConditionExpression:       aws.String("ver = :v"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":new": s("dwfm-b"), ":one": n("1"), ":v": n("1.0")},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.Attributes["ver"].(*types.AttributeValueMemberN).Value != "2" || up.Attributes["owner"].(*types.AttributeValueMemberS).Value != "dwfm-b" || len(up.Attributes) != 2 {
		t.Fatalf("UPDATED_NEW: %v", up.Attributes)
	}
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String("leases"),
		Key:                                 map[string]types.AttributeValue{"id": s("droplet-1")},
		UpdateExpression:                    aws.String("SET ver = :v"),
		ConditionExpression:                 aws.String("ver = :v"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":v": n("1")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("stale update: want ConditionalCheckFailedException, got %v", err)
	}
	if ccf.ErrorMessage() != "The conditional request failed" || ccf.Item["ver"].(*types.AttributeValueMemberN).Value != "2" {
		t.Fatalf("ccf: %q item %v", ccf.ErrorMessage(), ccf.Item)
	}
	// attribute_not_exists guards creation.
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s("droplet-1")}, ConditionExpression: aws.String("attribute_not_exists(id)")})
	if !errors.As(err, &ccf) {
		t.Fatalf("create over existing: %v", err)
	}
	// UpdateItem creates a missing item; ALL_OLD of a missing item is empty.
	up, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String("leases"),
		Key:                       map[string]types.AttributeValue{"id": s("droplet-2")},
		UpdateExpression:          aws.String("SET hits = if_not_exists(hits, :zero) + :one, tags = list_append(if_not_exists(tags, :empty), :t) ADD seen :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": n("0"), ":one": n("1"), ":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, ":t": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}, ":s": &types.AttributeValueMemberSS{Value: []string{"a"}}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.Attributes["hits"].(*types.AttributeValueMemberN).Value != "1" || len(up.Attributes["tags"].(*types.AttributeValueMemberL).Value) != 1 {
		t.Fatalf("ALL_NEW: %v", up.Attributes)
	}
	// REMOVE and DELETE.
	up, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String("leases"),
		Key:                       map[string]types.AttributeValue{"id": s("droplet-2")},
		UpdateExpression:          aws.String("REMOVE tags DELETE seen :s"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberSS{Value: []string{"a"}}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := up.Attributes["tags"]; ok {
		t.Fatalf("tags not removed: %v", up.Attributes)
	}
	if _, ok := up.Attributes["seen"]; ok {
		t.Fatalf("emptied set not removed: %v", up.Attributes)
	}
	// Delete with ALL_OLD.
	del, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("droplet-2")}, ReturnValues: types.ReturnValueAllOld})
	if err != nil || del.Attributes["hits"] == nil {
		t.Fatalf("delete: %v %v", err, del)
	}
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("droplet-2")}})
	if err != nil || got.Item != nil {
		t.Fatalf("get deleted: %v %v", err, got.Item)
	}
	// Projection.
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("droplet-1")}, ProjectionExpression: aws.String("#o, m.x"), ExpressionAttributeNames: map[string]string{"#o": "owner"}})
	if err != nil || len(got.Item) != 2 {
		t.Fatalf("projection: %v %v", err, got.Item)
	}
}

func TestSDKValidationErrors(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "tab", HashKey: "pk", RangeKey: "sk", RangeType: "N"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"missing key in get", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tab"), Key: map[string]types.AttributeValue{"pk": s("a")}})
			return err
		}, "The provided key element does not match the schema"},
		{"wrong key type in get", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tab"), Key: map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}})
			return err
		}, "The provided key element does not match the schema"},
		{"missing key in put", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s("a")}})
			return err
		}, "One or more parameter values were invalid: Missing the key sk in the item"},
		{"wrong type in put", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": n("1"), "sk": n("1")}})
			return err
		}, "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"},
		{"empty string key", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s(""), "sk": n("1")}})
			return err
		}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
		{"item too large", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1"), "big": s(strings.Repeat("x", 400*1024))}})
			return err
		}, "Item size has exceeded the maximum allowed size"},
		{"update of key", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("tab"), Key: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1")}, UpdateExpression: aws.String("SET pk = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("b")}})
			return err
		}, "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"},
		{"unused value", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1")}, ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: map[string]types.AttributeValue{":x": s("b")}})
			return err
		}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"},
		{"syntax error", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1")}, ConditionExpression: aws.String("pk = = pk")})
			return err
		}, "Invalid ConditionExpression: Syntax error"},
		{"bad number", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s("a"), "sk": n("x1")}})
			return err
		}, "The parameter cannot be converted to a numeric value: x1"},
		{"bad return values", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tab"), Item: map[string]types.AttributeValue{"pk": s("a"), "sk": n("1")}, ReturnValues: types.ReturnValueAllNew})
			return err
		}, "ReturnValues can only be ALL_OLD or NONE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
				t.Fatalf("want ValidationException, got %v", err)
			}
			if !strings.Contains(ae.ErrorMessage(), tc.want) {
				t.Fatalf("message %q, want it to contain %q", ae.ErrorMessage(), tc.want)
			}
		})
	}
}

// TestSDKLeaseRace is the race a lease table needs: many writers try to
// take one lease at the same version; exactly one wins, the others get
// ConditionalCheckFailedException.
func TestSDKLeaseRace(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s("d1"), "owner": s("none"), "ver": n("0")}}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 20; round++ {
		const writers = 8
		var wg sync.WaitGroup
		results := make([]error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[w] = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName:                 aws.String("leases"),
					Key:                       map[string]types.AttributeValue{"id": s("d1")},
					UpdateExpression:          aws.String("SET #o = :me, ver = ver + :one"),
					ConditionExpression:       aws.String("ver = :v"),
					ExpressionAttributeNames:  map[string]string{"#o": "owner"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":me": s(string(rune('a' + w))), ":one": n("1"), ":v": n(itoa(round))},
				})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			var ccf *types.ConditionalCheckFailedException
			switch {
			case err == nil:
				wins++
			case errors.As(err, &ccf):
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, wins)
		}
	}
	got, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("d1")}, ConsistentRead: aws.Bool(true)})
	if got.Item["ver"].(*types.AttributeValueMemberN).Value != "20" {
		t.Fatalf("version %v, want 20", got.Item["ver"])
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
