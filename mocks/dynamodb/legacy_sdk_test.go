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

// TestSDKLegacyParameters drives the pre-expression parameters the way
// libraries written for DynamoDB Local send them: KeyConditions,
// QueryFilter, ScanFilter, Expected, AttributeUpdates, AttributesToGet and
// ConditionalOperator, each checked against the items it must select.
func TestSDKLegacyParameters(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "legacy", "pk", "sk", "N")
	for i := 1; i <= 6; i++ {
		item := map[string]types.AttributeValue{"pk": s("p"), "sk": n(strconv.Itoa(i)), "color": s([]string{"red", "blue"}[i%2])}
		if i <= 3 {
			item["tag"] = s("t" + strconv.Itoa(i))
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("legacy"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	sks := func(items []map[string]types.AttributeValue) string {
		var out []string
		for _, it := range items {
			out = append(out, it["sk"].(*types.AttributeValueMemberN).Value)
		}
		return strings.Join(out, ",")
	}

	t.Run("KeyConditions with QueryFilter and AttributesToGet", func(t *testing.T) {
		out, err := c.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String("legacy"),
			KeyConditions: map[string]types.Condition{
				"pk": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("p")}},
				"sk": {ComparisonOperator: types.ComparisonOperatorBetween, AttributeValueList: []types.AttributeValue{n("2"), n("5")}},
			},
			QueryFilter: map[string]types.Condition{
				"color": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("red")}},
				"tag":   {ComparisonOperator: types.ComparisonOperatorNotNull},
			},
			ConditionalOperator: types.ConditionalOperatorOr,
			AttributesToGet:     []string{"sk", "tag"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// sk 2..5; red is even, tag on 1..3: 2 (red, tag), 3 (tag), 4 (red).
		if got := sks(out.Items); got != "2,3,4" || out.Count != 3 || out.ScannedCount != 4 {
			t.Fatalf("items %s count %d scanned %d, want 2,3,4 / 3 / 4", got, out.Count, out.ScannedCount)
		}
		if _, ok := out.Items[0]["color"]; ok || len(out.Items[0]) != 2 {
			t.Fatalf("AttributesToGet [sk tag] returned %v", out.Items[0])
		}
	})

	t.Run("KeyConditions with a FilterExpression", func(t *testing.T) {
		out, err := c.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String("legacy"),
			KeyConditions: map[string]types.Condition{
				"pk": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("p")}},
				"sk": {ComparisonOperator: types.ComparisonOperatorGt, AttributeValueList: []types.AttributeValue{n("3")}},
			},
			FilterExpression:          aws.String("color = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": s("blue")},
			ScanIndexForward:          aws.Bool(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := sks(out.Items); got != "5" {
			t.Fatalf("items %s, want 5", got)
		}
	})

	t.Run("ScanFilter", func(t *testing.T) {
		out, err := c.Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String("legacy"),
			ScanFilter: map[string]types.Condition{
				"color": {ComparisonOperator: types.ComparisonOperatorIn, AttributeValueList: []types.AttributeValue{s("blue"), s("green")}},
				"tag":   {ComparisonOperator: types.ComparisonOperatorNull},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := sks(out.Items); got != "5" || out.ScannedCount != 6 {
			t.Fatalf("items %s scanned %d, want 5 / 6", got, out.ScannedCount)
		}
	})

	key := map[string]types.AttributeValue{"pk": s("p"), "sk": n("1")}
	t.Run("Expected and AttributeUpdates", func(t *testing.T) {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("legacy"), Item: key,
			Expected: map[string]types.ExpectedAttributeValue{"pk": {Exists: aws.Bool(false)}}})
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			t.Fatalf("put over an existing item with Exists=false: %v", err)
		}
		_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("legacy"), Key: key,
			Expected: map[string]types.ExpectedAttributeValue{
				"color": {Value: s("green")},
				"tag":   {ComparisonOperator: types.ComparisonOperatorBeginsWith, AttributeValueList: []types.AttributeValue{s("t")}},
			},
			ConditionalOperator: types.ConditionalOperatorOr,
			AttributeUpdates: map[string]types.AttributeValueUpdate{
				"color": {Action: types.AttributeActionPut, Value: s("green")},
				"tag":   {Action: types.AttributeActionDelete},
				"hits":  {Action: types.AttributeActionAdd, Value: n("2")},
				"tags":  {Action: types.AttributeActionAdd, Value: &types.AttributeValueMemberSS{Value: []string{"a", "b"}}},
				"log":   {Action: types.AttributeActionAdd, Value: &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("legacy"), Key: key,
			Expected: map[string]types.ExpectedAttributeValue{"hits": {Value: n("2")}},
			AttributeUpdates: map[string]types.AttributeValueUpdate{
				"hits": {Action: types.AttributeActionAdd, Value: n("1")},
				"tags": {Action: types.AttributeActionDelete, Value: &types.AttributeValueMemberSS{Value: []string{"a"}}},
				"log":  {Action: types.AttributeActionAdd, Value: &types.AttributeValueMemberL{Value: []types.AttributeValue{s("y")}}},
			},
			ReturnValues: types.ReturnValueAllNew,
		})
		if err != nil {
			t.Fatal(err)
		}
		a := out.Attributes
		if _, ok := a["tag"]; ok {
			t.Errorf("tag survived DELETE: %v", a)
		}
		if a["color"].(*types.AttributeValueMemberS).Value != "green" || a["hits"].(*types.AttributeValueMemberN).Value != "3" {
			t.Errorf("color/hits: %v", a)
		}
		if ss := a["tags"].(*types.AttributeValueMemberSS).Value; len(ss) != 1 || ss[0] != "b" {
			t.Errorf("tags %v, want [b]", ss)
		}
		if l := a["log"].(*types.AttributeValueMemberL).Value; len(l) != 2 || l[1].(*types.AttributeValueMemberS).Value != "y" {
			t.Errorf("log %v, want [x y]", l)
		}
		_, err = c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("legacy"), Key: key,
			Expected: map[string]types.ExpectedAttributeValue{"hits": {ComparisonOperator: types.ComparisonOperatorLt, AttributeValueList: []types.AttributeValue{n("3")}}}})
		if !errors.As(err, &ccf) {
			t.Fatalf("delete with hits < 3 on hits=3: %v", err)
		}
		got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("legacy"), Key: key, AttributesToGet: []string{"hits"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Item) != 1 || got.Item["hits"] == nil {
			t.Fatalf("GetItem AttributesToGet [hits]: %v", got.Item)
		}
	})

	t.Run("validation messages", func(t *testing.T) {
		eq := func(v types.AttributeValue) types.Condition {
			return types.Condition{ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{v}}
		}
		cases := []struct {
			name string
			call func() error
			want string
		}{
			{"mixed Query", func() error {
				_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("legacy"), KeyConditions: map[string]types.Condition{"pk": eq(s("p"))},
					QueryFilter: map[string]types.Condition{"color": eq(s("red"))}, FilterExpression: aws.String("attribute_exists(tag)")})
				return err
			}, "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter} Expression parameters: {FilterExpression}"},
			{"mixed UpdateItem", func() error {
				_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("legacy"), Key: key, UpdateExpression: aws.String("REMOVE tag"),
					Expected: map[string]types.ExpectedAttributeValue{"tag": {Exists: aws.Bool(false)}}})
				return err
			}, "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {UpdateExpression}"},
			{"argument count", func() error {
				_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("legacy"), ScanFilter: map[string]types.Condition{"sk": {ComparisonOperator: types.ComparisonOperatorBetween, AttributeValueList: []types.AttributeValue{n("1")}}}})
				return err
			}, "One or more parameter values were invalid: Invalid number of argument(s) for the BETWEEN ComparisonOperator"},
			{"operator type", func() error {
				_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("legacy"), ScanFilter: map[string]types.Condition{"tags": {ComparisonOperator: types.ComparisonOperatorLt, AttributeValueList: []types.AttributeValue{&types.AttributeValueMemberSS{Value: []string{"a"}}}}}})
				return err
			}, "One or more parameter values were invalid: ComparisonOperator LT is not valid for SS AttributeValue type"},
			{"Exists without Value", func() error {
				_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("legacy"), Item: key, Expected: map[string]types.ExpectedAttributeValue{"tag": {Exists: aws.Bool(true)}}})
				return err
			}, "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: tag"},
			{"missing key element", func() error {
				_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("legacy"), KeyConditions: map[string]types.Condition{"sk": eq(n("1"))}})
				return err
			}, "Query condition missed key schema element: pk"},
			{"not indexable", func() error {
				_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("legacy"), KeyConditions: map[string]types.Condition{"pk": eq(s("p")), "sk": {ComparisonOperator: types.ComparisonOperatorNe, AttributeValueList: []types.AttributeValue{n("1")}}}})
				return err
			}, "Attempted conditional constraint is not an indexable operation"},
			{"filter on a key", func() error {
				_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("legacy"), KeyConditions: map[string]types.Condition{"pk": eq(s("p"))}, QueryFilter: map[string]types.Condition{"sk": eq(n("1"))}})
				return err
			}, "QueryFilter can only contain non-primary key attributes: Primary key attribute: sk"},
			{"PUT without a value", func() error {
				_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("legacy"), Key: key, AttributeUpdates: map[string]types.AttributeValueUpdate{"tag": {Action: types.AttributeActionPut}}})
				return err
			}, "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"},
			{"duplicate AttributesToGet", func() error {
				_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("legacy"), Key: key, AttributesToGet: []string{"a", "a"}})
				return err
			}, "One or more parameter values were invalid: Duplicate value in attribute name: a"},
		}
		for _, tc := range cases {
			err := tc.call()
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != tc.want {
				t.Errorf("%s: got %v, want ValidationException %q", tc.name, err, tc.want)
			}
		}
	})
}
