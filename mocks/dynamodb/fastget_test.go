package dynamodb_test

import (
	"context"
	"hash/crc32"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// getItemFastSeeds are GetItem bodies on both sides of the fast path's
// subset.
var getItemFastSeeds = []string{
	`{"Key":{"id":{"S":"droplet-0042"}},"TableName":"leases"}`,
	`{"TableName":"events","Key":{"pk":{"S":"x"},"sk":{"N":"-1.50E+3"}},"ConsistentRead":true,"ReturnConsumedCapacity":"TOTAL"}`,
	`{"TableName":"bin","Key":{"k":{"B":"AQID"}},"ConsistentRead":false}`,
	` { "TableName" : "leases" , "Key" : { "id" : { "S" : "é" } } } `,
	`{"TableName":"leases","Key":{"id":{"S":"a"}},"ProjectionExpression":"#o, version","ExpressionAttributeNames":{"#o":"owner"}}`,
	`{"TableName":"leases","Key":{},"ExpressionAttributeNames":{}}`,
	`{}`,
	// Outside the subset: the general path decides.
	`{"TableName":"lea\u0073es","Key":{"id":{"S":"a"}}}`,
	`{"TableName":"leases","Key":{"id":{"S":"a"}},"TableName":"other"}`,
	`{"tablename":"leases","Key":{"id":{"S":"a"}}}`,
	`{"TableName":"leases","Key":{"id":{"S":"a"},"id":{"S":"b"}}}`,
	`{"TableName":"leases","Key":{"id":{"S":"a","N":"1"}}}`,
	`{"TableName":"leases","Key":{"id":{"N":"1e999"}}}`,
	`{"TableName":"leases","Key":{"id":{"B":"not base64"}}}`,
	`{"TableName":"leases","Key":{"id":{"BOOL":true}}}`,
	`{"TableName":null,"Key":{"id":null}}`,
	`{"TableName":"leases","Key":{"id":{"S":"a"}},"AttributesToGet":["a"]}`,
	`{"TableName":"leases","Key":{"id":{"S":"a"}},"ExpressionAttributeValues":{":v":{"S":"x"}}}`,
	`{"TableName":"leases","Key":{"id":{"S":"a"}}} x`,
	`{"TableName":"leases","Key":{"id":{"S":"a"}},}`,
	"{\"TableName\":\"le\xffases\"}",
	`[1,2,3]`,
	``,
}

// FuzzGetItemFastDecode holds the fast GetItem decoder to the general one:
// whatever it accepts, encoding/json accepts too and decodes to the same
// request; anything else it refuses, so the general path answers with its
// own errors. Never a panic.
func FuzzGetItemFastDecode(f *testing.F) {
	for _, s := range getItemFastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := ddb.DecodeGetItemFast(body)
		if !ok {
			return
		}
		var slow ddb.GetItemInput
		if err := ddb.DecodeRequest(body, &slow); err != nil {
			t.Fatalf("%q: fast path accepted what the general path refuses: %v", body, err)
		}
		if !reflect.DeepEqual(*fast, slow) {
			t.Fatalf("%q: fast path decoded\n%#v\ngeneral path\n%#v", body, *fast, slow)
		}
	})
}

// TestGetItemFastDecodeSubset checks the seeds one by one: the fast path
// takes the common bodies (so the fuzz compares something) and refuses the
// unusual ones.
func TestGetItemFastDecodeSubset(t *testing.T) {
	for i, s := range getItemFastSeeds {
		_, ok := ddb.DecodeGetItemFast([]byte(s))
		if want := i < 7; ok != want {
			t.Errorf("%q: fast path %v, want %v", s, ok, want)
		}
	}
}

// TestSDKGetItemBodyTakesFastPath captures the bodies aws-sdk-go-v2 sends
// for GetItem, plain and with every option the fast path knows, and checks
// that each takes the fast path: a change in the SDK's serialisation would
// otherwise silently send every GetItem down the slow one.
func TestSDKGetItemBodyTakesFastPath(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	url := startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte("{}"))), 10))
		_, _ = io.WriteString(w, "{}")
	}))
	c := newClient(t, url)
	ins := []*dynamodb.GetItemInput{
		{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("droplet-0042")}},
		{
			TableName:                aws.String("events"),
			Key:                      map[string]types.AttributeValue{"pk": s("x"), "sk": n("12.5"), "b": &types.AttributeValueMemberB{Value: []byte{1, 2, 3}}},
			ConsistentRead:           aws.Bool(true),
			ProjectionExpression:     aws.String("#o, version"),
			ExpressionAttributeNames: map[string]string{"#o": "owner"},
			ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
		},
	}
	for _, in := range ins {
		if _, err := c.GetItem(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if len(bodies) != len(ins) {
		t.Fatalf("captured %d bodies, want %d", len(bodies), len(ins))
	}
	for _, b := range bodies {
		in, ok := ddb.DecodeGetItemFast(b)
		if !ok {
			t.Fatalf("the SDK's body %s does not take the fast path", b)
		}
		var slow ddb.GetItemInput
		if err := ddb.DecodeRequest(b, &slow); err != nil || !reflect.DeepEqual(*in, slow) {
			t.Fatalf("%s: fast %#v, general %#v (%v)", b, *in, slow, err)
		}
	}
}

// TestGetItemErrorsUnchangedOffFastPath sends bodies the fast path refuses
// through the server: they get the general path's DynamoDB errors.
func TestGetItemErrorsUnchangedOffFastPath(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	for body, want := range map[string]string{
		`{"TableName":"leases","Key":{"id":{"N":"1e999"}}}`:                            "ValidationException",
		`{"TableName":"leases","Key":{"id":{"S":"a","N":"1"}}}`:                        "ValidationException",
		`{"TableName":"leases","Key":{"id":{"S":"a"}}} x`:                              "SerializationException",
		`{"TableName":"leases","Key":{"id":{"B":"not base64"}}}`:                       "ValidationException",
		`{"TableName":"nope","Key":{"id":{"S":"a"}}}`:                                  "ResourceNotFoundException",
		`{"TableName":"leases","Key":{"id":{"S":"a"}},"ReturnConsumedCapacity":"ALL"}`: "ValidationException",
	} {
		r := post(t, srv.URL(), ddb.TargetPrefix+"GetItem", body, true)
		typ, _ := r.body["__type"].(string)
		if r.status != 400 || !strings.HasSuffix(typ, "#"+want) {
			t.Errorf("%s: got %d %s, want 400 %s", body, r.status, r.text, want)
		}
	}
}

// TestResponseHeadersPerRequest checks the headers rendered together on
// every response: a request id of 52 upper-case letters and digits, new
// for each request; the body's length; the JSON 1.0 content type (post
// checks the CRC32).
func TestResponseHeadersPerRequest(t *testing.T) {
	srv, _ := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	seen := map[string]bool{}
	for _, body := range []string{sdkGetItemBody, sdkGetItemBody, `{"TableName":"nope","Key":{"id":{"S":"a"}}}`} {
		r := post(t, srv.URL(), ddb.TargetPrefix+"GetItem", body, true)
		id := r.header.Get("X-Amzn-Requestid")
		if seen[id] || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Errorf("request id %q: repeated or not upper-case alphanumeric (seen %v)", id, seen)
		}
		seen[id] = true
		if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.text)) {
			t.Errorf("Content-Length %s for a %d-byte body", got, len(r.text))
		}
		if got := r.header.Values("Content-Type"); len(got) != 1 || got[0] != "application/x-amz-json-1.0" {
			t.Errorf("Content-Type %q", got)
		}
	}
}
