package ecs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

type nopFleet struct{}

func (nopFleet) Launch(context.Context) (string, error)          { return "i-0123456789abcdef0", nil }
func (nopFleet) Terminate(context.Context, string) error         { return nil }
func (nopFleet) Connected(context.Context, string) (bool, error) { return true, nil }

// FuzzServe sends arbitrary operations and bodies: every answer is JSON, an
// error carries __type, and nothing panics.
func FuzzServe(f *testing.F) {
	for _, s := range [][2]string{
		{"CreateCluster", `{"clusterName":"prod"}`},
		{"RunTask", `{"cluster":"prod","taskDefinition":"web:1","count":2,"launchType":"FARGATE"}`},
		{"DescribeTasks", `{"cluster":"prod","tasks":["x"]}`},
		{"CreateService", `{"cluster":"prod","serviceName":"api","taskDefinition":"api:1","desiredCount":3}`},
		{"UpdateService", `{"cluster":"prod","service":"api","desiredCount":-1}`},
		{"DescribeServices", `{"cluster":"prod","services":[]}`},
		{"RunTask", `{"count":"x"`}, {"Nope", `{}`},
	} {
		f.Add(s[0], s[1])
	}
	srv, err := New(Config{Fleet: nopFleet{}, TickInterval: time.Hour}, kit.NewEnv("ecs", clockwork.NewFakeClockAt(kit.IncidentStart), nil, 1))
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, op, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(body))
		req.Header.Set("X-Amz-Target", TargetPrefix+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.String())
		}
		if _, isErr := doc["__type"]; isErr == (rec.Code == http.StatusOK) {
			t.Fatalf("status %d with body %v", rec.Code, doc)
		}
	})
}
