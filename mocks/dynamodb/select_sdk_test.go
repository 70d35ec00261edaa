package dynamodb_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// TestSDKSelectCountsUnderFiltersLimitsAndSegments pages through Query and
// Scan with Select COUNT, a filter and a Limit: Count sums to the items the
// filter keeps and ScannedCount to the items read; SPECIFIC_ATTRIBUTES with
// AttributesToGet returns just those; the segments of a parallel scan
// partition the table.
func TestSDKSelectCountsUnderFiltersLimitsAndSegments(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "sel", "pk", "sk", "N")
	const perPart, parts = 20, 5
	for p := 0; p < parts; p++ {
		for i := 0; i < perPart; i++ {
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("sel"), Item: map[string]types.AttributeValue{
				"pk": s("p" + strconv.Itoa(p)), "sk": n(strconv.Itoa(i)), "odd": &types.AttributeValueMemberBOOL{Value: i%2 == 1}, "v": n(strconv.Itoa(i)),
			}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	odd := map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}

	count, scanned, pages := int32(0), int32(0), 0
	qp := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{TableName: aws.String("sel"), KeyConditionExpression: aws.String("pk = :p"),
		FilterExpression: aws.String("odd = :t"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("p1"), ":t": odd[":t"]},
		Select: types.SelectCount, Limit: aws.Int32(7)})
	for qp.HasMorePages() {
		out, err := qp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if out.Items != nil {
			t.Fatalf("Select COUNT returned items: %v", out.Items)
		}
		count, scanned, pages = count+out.Count, scanned+out.ScannedCount, pages+1
	}
	if count != perPart/2 || scanned != perPart || pages != 3 {
		t.Fatalf("Query COUNT pages: count %d scanned %d pages %d, want %d / %d / 3", count, scanned, pages, perPart/2, perPart)
	}

	seen := map[string]bool{}
	total := int32(0)
	for seg := int32(0); seg < 3; seg++ {
		sp := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("sel"), Segment: aws.Int32(seg), TotalSegments: aws.Int32(3),
			FilterExpression: aws.String("odd = :t"), ExpressionAttributeValues: odd, Limit: aws.Int32(9),
			Select: types.SelectSpecificAttributes, ProjectionExpression: aws.String("pk, sk")})
		for sp.HasMorePages() {
			out, err := sp.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total += out.Count
			for _, it := range out.Items {
				if len(it) != 2 {
					t.Fatalf("SPECIFIC_ATTRIBUTES pk, sk returned %v", it)
				}
				k := it["pk"].(*types.AttributeValueMemberS).Value + "/" + it["sk"].(*types.AttributeValueMemberN).Value
				if seen[k] {
					t.Fatalf("%s in two segments", k)
				}
				seen[k] = true
			}
		}
	}
	if total != parts*perPart/2 || len(seen) != parts*perPart/2 {
		t.Fatalf("parallel scan: count %d, distinct %d, want %d", total, len(seen), parts*perPart/2)
	}

	_, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("sel"), TotalSegments: aws.Int32(2)})
	if err == nil || !strings.Contains(err.Error(), "The Segment parameter is required but was not present in the request when parameter TotalSegments is present") {
		t.Fatalf("TotalSegments without Segment: %v", err)
	}
}
