package sts

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// memStore is an in-memory Store.
type memStore map[string]Record

func (m memStore) Get(_ context.Context, k string) (Record, bool, error) {
	r, ok := m[k]
	return r, ok, nil
}
func (m memStore) Put(_ context.Context, r Record) error { m[r.Key] = r; return nil }

// FuzzServe sends arbitrary form bodies to the API: every answer is a
// well-formed STS document (a result or an ErrorResponse), never a panic.
func FuzzServe(f *testing.F) {
	for _, s := range []string{
		"Action=GetCallerIdentity&Version=2011-06-15",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/cascade-app&RoleSessionName=s&DurationSeconds=900",
		"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=-1",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=%zz",
		"Version=2011-06-15", "Action=Nope&Version=1",
	} {
		f.Add(s, true)
	}
	srv, err := New(Config{Store: memStore{}}, kit.NewEnv("sts", clockwork.NewFakeClockAt(kit.IncidentStart), nil, 1))
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body string, signed bool) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if signed {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDCASCADE/20251020/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var doc struct {
			XMLName xml.Name
			Code    string `xml:"Error>Code"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("status %d, body not XML: %q", rec.Code, rec.Body.String())
		}
		if (rec.Code == http.StatusOK) != (doc.XMLName.Local != "ErrorResponse") || (rec.Code != http.StatusOK && doc.Code == "") {
			t.Fatalf("status %d with document %s code %q", rec.Code, doc.XMLName.Local, doc.Code)
		}
	})
}
