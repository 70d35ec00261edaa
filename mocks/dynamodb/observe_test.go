package dynamodb_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func counterValue(t *testing.T, env *kit.Env, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := env.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metric
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			if m.GetHistogram() != nil {
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func TestMetricsEventsAndAdmin(t *testing.T) {
	srv, env := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}})
	c := newClient(t, srv.URL())
	ctx := ctxT(t)
	createTable(t, c, "audit", "id", "", "")
	for i := 0; i < 3; i++ {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s(strconv.Itoa(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: map[string]types.AttributeValue{"id": s("0")}, ConditionExpression: aws.String("attribute_not_exists(id)")})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatal(err)
	}
	if err := env.Failpoints.Enable("dynamodb/GetItem", "return(ThrottlingException)"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("0")}})

	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"operation": "PutItem", "outcome": "ok"}, 3},
		{map[string]string{"operation": "PutItem", "outcome": "ConditionalCheckFailedException"}, 1},
		{map[string]string{"operation": "GetItem", "outcome": "ThrottlingException"}, 1},
		{map[string]string{"operation": "CreateTable", "outcome": "ok"}, 1},
	} {
		if got := counterValue(t, env, "cascade_dynamodb_requests_total", tc.labels); got != tc.want {
			t.Errorf("requests_total%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if got := counterValue(t, env, "cascade_dynamodb_request_duration_seconds", map[string]string{"operation": "PutItem"}); got != 4 {
		t.Errorf("PutItem latency samples %v, want 4", got)
	}
	if got := counterValue(t, env, "cascade_dynamodb_connections_opened_total", nil); got < 1 {
		t.Errorf("connections opened %v", got)
	}
	kinds := map[string][]string{}
	for _, ev := range env.Events.Recent() {
		table, _ := ev.Fields["table"].(string)
		kinds[ev.Kind] = append(kinds[ev.Kind], table)
	}
	if strings.Join(kinds["table-created"], ",") != "leases,audit" {
		t.Errorf("table-created events %v", kinds["table-created"])
	}
	if len(kinds["throttled"]) != 1 {
		t.Errorf("throttled events %v", kinds["throttled"])
	}

	mux := kit.NewAdminMuxFor(env, nil, srv)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/tables", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"name":"leases","items":3}`) {
		t.Errorf("/admin/tables: %d %s", rec.Code, rec.Body.String())
	}
}

// TestFailpointSleepUsesIncidentTime: sleep(2m) on GetItem holds the
// request until the incident clock has advanced two minutes.
func TestFailpointSleepUsesIncidentTime(t *testing.T) {
	// No TTL sweep: its timer would be a second waiter on the clock.
	srv, env := startServer(t, ddb.Config{Tables: []ddb.TableSpec{{Name: "leases", HashKey: "id"}}, TTLSweepInterval: -1})
	clock := env.Clock.(interface {
		BlockUntilContext(ctx context.Context, n int) error
		Advance(d time.Duration)
	})
	c := newClient(t, srv.URL())
	if err := env.Failpoints.Enable("dynamodb/GetItem", "sleep(2m)"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.GetItem(ctxT(t), &dynamodb.GetItemInput{TableName: aws.String("leases"), Key: map[string]types.AttributeValue{"id": s("a")}})
		done <- err
	}()
	if err := clock.BlockUntilContext(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("request finished before the clock advanced: %v", err)
	default:
	}
	clock.Advance(2 * time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
