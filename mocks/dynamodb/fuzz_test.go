package dynamodb_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// FuzzRequestDecode sends arbitrary bodies to every operation through the
// server's handler (no network): the answer is always a well-formed
// DynamoDB response, a 200 or an error with a __type, never a panic.
func FuzzRequestDecode(f *testing.F) {
	seeds := []struct{ op, body string }{
		{"PutItem", `{"TableName":"leases","Item":{"id":{"S":"a"},"n":{"N":"1.5"},"m":{"M":{"l":{"L":[{"BOOL":true},{"NULL":true}]}}},"ss":{"SS":["a","b"]},"bs":{"BS":["AQ=="]}}}`},
		{"PutItem", `{"TableName":"leases","Item":{"id":{"S":"a"}},"ConditionExpression":"attribute_not_exists(id) OR #v < :v","ExpressionAttributeNames":{"#v":"v"},"ExpressionAttributeValues":{":v":{"N":"3"}}}`},
		{"GetItem", `{"TableName":"leases","Key":{"id":{"S":"a"}},"ProjectionExpression":"a.b[1], c"}`},
		{"UpdateItem", `{"TableName":"leases","Key":{"id":{"S":"a"}},"UpdateExpression":"SET a = list_append(a, :l) REMOVE b ADD c :n DELETE d :s","ExpressionAttributeValues":{":l":{"L":[]},":n":{"N":"1"},":s":{"SS":["x"]}},"ReturnValues":"ALL_NEW"}`},
		{"DeleteItem", `{"TableName":"leases","Key":{"id":{"S":"a"}},"ReturnValues":"ALL_OLD"}`},
		{"Query", `{"TableName":"events","KeyConditionExpression":"pk = :p AND sk BETWEEN :a AND :b","ExpressionAttributeValues":{":p":{"S":"x"},":a":{"N":"1"},":b":{"N":"9"}},"Limit":2,"ScanIndexForward":false,"ExclusiveStartKey":{"pk":{"S":"x"},"sk":{"N":"3"}}}`},
		{"Scan", `{"TableName":"events","Segment":1,"TotalSegments":3,"FilterExpression":"size(v) > :z","ExpressionAttributeValues":{":z":{"N":"0"}},"Select":"COUNT"}`},
		{"BatchGetItem", `{"RequestItems":{"leases":{"Keys":[{"id":{"S":"a"}},{"id":{"S":"b"}}]}}}`},
		{"BatchWriteItem", `{"RequestItems":{"leases":[{"PutRequest":{"Item":{"id":{"S":"a"}}}},{"DeleteRequest":{"Key":{"id":{"S":"b"}}}}]}}`},
		{"TransactWriteItems", `{"TransactItems":[{"Put":{"TableName":"leases","Item":{"id":{"S":"z"}}}},{"ConditionCheck":{"TableName":"leases","Key":{"id":{"S":"a"}},"ConditionExpression":"attribute_exists(id)"}}]}`},
		{"TransactGetItems", `{"TransactItems":[{"Get":{"TableName":"leases","Key":{"id":{"S":"a"}}}}]}`},
		{"CreateTable", `{"TableName":"t2","AttributeDefinitions":[{"AttributeName":"k","AttributeType":"N"}],"KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"DescribeTable", `{"TableName":"leases"}`},
		{"ListTables", `{"Limit":1,"ExclusiveStartTableName":"a"}`},
		{"DeleteTable", `{"TableName":"nope"}`},
		{"GetItem", `{"TableName":"leases","Key":{"id":{"S":"a","N":"1"}}}`},
		{"GetItem", `[1,2,3]`},
		{"GetItem", ``},
		{"GetItem", `{"TableName":null,"Key":{"id":null}}`},
		{"PutItem", `{"TableName":"leases","Item":{"id":{"M":{"a":{"M":{"a":{"M":{"a":{"L":[[[[]]]]}}}}}}}}}`},
		{"Query", `{"TableName":"events","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"x"}]},"sk":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"1"},{"N":"9"}]}},"QueryFilter":{"v":{"ComparisonOperator":"IN","AttributeValueList":[{"S":"a"},{"S":"b"}]}},"ConditionalOperator":"OR","AttributesToGet":["v"]}`},
		{"Scan", `{"TableName":"events","ScanFilter":{"v":{"ComparisonOperator":"NOT_CONTAINS","AttributeValueList":[{"S":"a"}]},"w":{"ComparisonOperator":"NULL"}},"Select":"COUNT"}`},
		{"PutItem", `{"TableName":"leases","Item":{"id":{"S":"a"}},"Expected":{"id":{"Exists":false},"v":{"ComparisonOperator":"GE","Value":{"N":"1"}}},"ConditionalOperator":"AND"}`},
		{"UpdateItem", `{"TableName":"leases","Key":{"id":{"S":"a"}},"AttributeUpdates":{"a":{"Action":"PUT","Value":{"S":"x"}},"b":{"Action":"DELETE"},"c":{"Action":"ADD","Value":{"L":[{"N":"1"}]}},"d":{"Action":"DELETE","Value":{"SS":["x"]}}},"Expected":{"a":{"Value":{"S":"y"}}}}`},
		{"GetItem", `{"TableName":"leases","Key":{"id":{"S":"a"}},"AttributesToGet":["a","b"]}`},
		{"UpdateTimeToLive", `{"TableName":"leases","TimeToLiveSpecification":{"AttributeName":"exp","Enabled":true}}`},
		{"DescribeTimeToLive", `{"TableName":"leases"}`},
		{"TransactWriteItems", `{"ReturnConsumedCapacity":"INDEXES","TransactItems":[{"Update":{"TableName":"leases","Key":{"id":{"S":"z"}},"UpdateExpression":"SET v = :v","ExpressionAttributeValues":{":v":{"N":"1"}}}}]}`},
	}
	for _, sd := range seeds {
		f.Add(sd.op, []byte(sd.body))
	}
	env := kit.NewEnv("dynamodb", clockwork.NewFakeClockAt(kit.IncidentStart), io.Discard, 1)
	srv, err := ddb.New(ddb.Config{MaxBodyBytes: 64 << 10, Tables: []ddb.TableSpec{
		{Name: "leases", HashKey: "id"},
		{Name: "events", HashKey: "pk", RangeKey: "sk", RangeType: "N"},
	}}, env)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.Header.Set("X-Amz-Target", ddb.TargetPrefix+op)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: response is not a JSON object: %q", op, body, rec.Body.String())
		}
		switch rec.Code {
		case 200:
		case 400, 413:
			if typ, _ := out["__type"].(string); !strings.Contains(typ, "#") {
				t.Fatalf("%s %q: error without __type: %s", op, body, rec.Body.String())
			}
		default:
			t.Fatalf("%s %q: status %d: %s", op, body, rec.Code, rec.Body.String())
		}
	})
}

// TestOversizedBodyIsRefused streams a body larger than MaxBodyBytes: the
// answer is a 413 in DynamoDB's shape, and the server stops reading.
func TestOversizedBodyIsRefused(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{MaxBodyBytes: 1 << 20})
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 1024; i++ { // 64 MB unless the server hangs up
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL(), pr)
	req.Header.Set("X-Amz-Target", ddb.TargetPrefix+"PutItem")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pr.CloseWithError(io.ErrClosedPipe)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), "RequestEntityTooLarge") {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}
