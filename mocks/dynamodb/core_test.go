package dynamodb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestCoreUsesTheInjectedClock(t *testing.T) {
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c := ddb.NewCore(clock)
	clock.Advance(90 * time.Minute)
	out, err := c.TableCreate(ddb.TableSpec{Name: "leases", HashKey: "id"}.Input())
	if err != nil {
		t.Fatal(err)
	}
	if got := time.UnixMilli(int64(out.TableDescription.CreationDateTime * 1000)).UTC(); !got.Equal(kit.IncidentStart.Add(90 * time.Minute)) {
		t.Fatalf("CreationDateTime %v, want incident start + 90m", got)
	}
}

// TestCoreNumericKeysOrderAsDecimals: range keys of type N sort by value
// ("10" after "9", "1e2" equal to "100"), and one number is one key however
// it is written.
func TestCoreNumericKeysOrderAsDecimals(t *testing.T) {
	c := ddb.NewCore(clockwork.NewFakeClock())
	if _, err := c.TableCreate(ddb.TableSpec{Name: "events", HashKey: "pk", RangeKey: "sk", RangeType: "N"}.Input()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"10", "9", "-1.5", "1e2", "0.001", "99.99"} {
		v, _ := expr.N(n)
		if _, err := c.ItemPut(&ddb.PutItemInput{TableName: "events", Item: expr.Item{"pk": expr.S("a"), "sk": v}}); err != nil {
			t.Fatal(err)
		}
	}
	hundred, _ := expr.N("100.00")
	out, err := c.ItemGet(&ddb.GetItemInput{TableName: "events", Key: expr.Item{"pk": expr.S("a"), "sk": hundred}})
	if err != nil || out.Item == nil {
		t.Fatalf("100.00 should find 1e2: %v %v", err, out)
	}
	q := &ddb.QueryInput{TableName: "events", KeyConditionExpression: "pk = :p"}
	q.ExpressionAttributeValues = map[string]expr.Value{":p": expr.S("a")}
	res, err := c.ItemQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range res.Items {
		got = append(got, it["sk"].Number())
	}
	want := []string{"-1.5", "0.001", "9", "10", "99.99", "100"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		a, _ := expr.N(got[i])
		b, _ := expr.N(want[i])
		if !expr.Equal(a, b) {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestCoreConditionalPutIsCompareAndSwap(t *testing.T) {
	c := ddb.NewCore(clockwork.NewFakeClock())
	if _, err := c.TableCreate(ddb.TableSpec{Name: "leases", HashKey: "id"}.Input()); err != nil {
		t.Fatal(err)
	}
	put := func(owner string) error {
		in := &ddb.PutItemInput{TableName: "leases", Item: expr.Item{"id": expr.S("d1"), "owner": expr.S(owner)}, ConditionExpression: "attribute_not_exists(id)"}
		_, err := c.ItemPut(in)
		return err
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	var e *ddb.Error
	if err := put("b"); !errors.As(err, &e) || e.Code != ddb.CodeConditionalCheckFailed {
		t.Fatalf("second put: %v", err)
	}
}
