package dwfm

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbsdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/jonboulle/clockwork"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// serverRig is a DWFM host on a fake clock against the real DynamoDB mock
// (on loopback, on the wall clock), through a proxy that can make DynamoDB
// unavailable. The host's loop runs for real; the test advances incident
// time a minute at a time and waits until the host has no call in flight,
// so the whole lease cycle runs in a few hundred milliseconds.
type serverRig struct {
	t     *testing.T
	clock *clockwork.FakeClock
	env   *kit.Env
	srv   *Server
	ddb   *ddbsdk.Client
	down  atomic.Bool
	proxy *httptest.Server
	cfg   Config
}

func newServerRig(t *testing.T, mode kit.Mode) *serverRig {
	t.Helper()
	r := &serverRig{t: t, clock: clockwork.NewFakeClockAt(kit.IncidentStart)}
	db, err := dynamodb.New(dynamodb.Config{Addr: "127.0.0.1:0"}, kit.NewEnv("dynamodb", clockwork.NewRealClock(), nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	target, _ := url.Parse(db.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	r.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"down"}`))
			return
		}
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(r.proxy.Close)
	port := r.proxy.Listener.Addr().(*net.TCPAddr).Port
	r.ddb, err = awsclient.DynamoDB("127.0.0.1:1", port, awsclient.WithHost("127.0.0.1"), awsclient.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = Config{CoreConfig: CoreConfig{Workers: 2}, AZ: "use1-az1", Mode: mode, Droplets: 4, DNSAddr: "127.0.0.1:1", DynamoDBHost: "127.0.0.1", DynamoDBPort: port}
	return r
}

// start starts a host named name and waits until its loop runs.
func (r *serverRig) start(name string) {
	r.t.Helper()
	r.env = kit.NewEnv(name, r.clock, nil, 3)
	srv, err := New(r.cfg, r.env)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = srv.Close() })
	r.srv = srv
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clock.BlockUntilContext(ctx, 1); err != nil { // the loop's ticker
		r.t.Fatalf("host loop did not start: %v", err)
	}
}

// run advances incident time by d, a minute at a time, letting the host
// finish each minute's calls.
func (r *serverRig) run(d time.Duration) {
	r.t.Helper()
	g := gomega.NewWithT(r.t)
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); {
		before := r.srv.rounds.Load()
		r.clock.Advance(time.Minute)
		g.Eventually(func(g gomega.Gomega) {
			g.Expect(r.srv.rounds.Load()).NotTo(gomega.Equal(before), "the loop's rounds: no round ran")
			g.Expect(r.srv.inflight.Load()).To(gomega.BeZero(), "calls in flight")
		}).WithTimeout(5*time.Second).WithPolling(time.Millisecond).Should(gomega.Succeed(),
			"host did not settle at %v", r.clock.Now())
	}
}

func (r *serverRig) item(droplet string) (owner string, epoch int64, ok bool) {
	r.t.Helper()
	out, err := r.ddb.GetItem(context.Background(), &ddbsdk.GetItemInput{TableName: aws.String("dwfm-leases"), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"droplet": &types.AttributeValueMemberS{Value: droplet}}})
	if err != nil {
		r.t.Fatal(err)
	}
	if out.Item == nil {
		return "", 0, false
	}
	owner = out.Item["owner"].(*types.AttributeValueMemberS).Value
	epoch, _ = strconv.ParseInt(out.Item["epoch"].(*types.AttributeValueMemberN).Value, 10, 64)
	return owner, epoch, true
}

func (r *serverRig) allocate() int {
	r.t.Helper()
	resp, err := http.Post(r.srv.URL()+"/v1/allocate", "application/json", bytes.NewReader([]byte(`{"az":"use1-az1"}`)))
	if err != nil {
		r.t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// The lease cycle through the real SDK and the real DynamoDB mock: checks
// renew the leases with conditional writes; an outage longer than the TTL
// loses them all and allocation fails; when DynamoDB returns the host
// re-leases every droplet, bumping each lease item's epoch.
func TestServerLeaseCycleOnFakeClock(t *testing.T) {
	r := newServerRig(t, kit.AsWas)
	r.start("dwfm-test")
	r.run(45 * time.Minute)
	st := r.srv.State()
	if st.LeasesHeld != 4 || st.ChecksOK < 8 || st.ChecksFailed != 0 {
		t.Fatalf("steady state: %+v; want 4 leases renewed twice each", st.Stats)
	}
	for _, d := range DropletIDs("use1-az1-d", 4) {
		if owner, epoch, ok := r.item(d); !ok || owner != "dwfm-test" || epoch != 0 {
			t.Fatalf("lease item %s: owner %q epoch %d present %v; want dwfm-test, 0", d, owner, epoch, ok)
		}
	}
	if code := r.allocate(); code != http.StatusOK {
		t.Fatalf("allocate in the steady state: %d", code)
	}

	r.down.Store(true)
	r.run(DefaultLeaseTTL + DefaultCheckPeriod)
	if st := r.srv.State(); st.LeasesHeld != 0 || st.ChecksFailed == 0 {
		t.Fatalf("after an outage longer than the TTL: %+v; want no lease", st.Stats)
	}
	if code := r.allocate(); code != http.StatusConflict {
		t.Fatalf("allocate without leases: %d; want 409", code)
	}

	r.down.Store(false)
	r.run(2 * DefaultCheckPeriod)
	if st := r.srv.State(); st.LeasesHeld != 4 {
		t.Fatalf("40 min after DynamoDB returned: %+v; want every lease back (a fleet this small cannot collapse)", st.Stats)
	}
	for _, d := range DropletIDs("use1-az1-d", 4) {
		if owner, epoch, _ := r.item(d); owner != "dwfm-test" || epoch < 1 {
			t.Fatalf("lease item %s after the re-lease: owner %q epoch %d; want dwfm-test, >= 1", d, owner, epoch)
		}
	}
}

// A lease item that another owner holds fails the renewal's condition
// (Conflict, not Failed): the host drops the lease and takes the droplet
// over by a re-lease at the next epoch.
func TestServerConflictTakesOver(t *testing.T) {
	r := newServerRig(t, kit.Fixed)
	r.start("dwfm-test")
	r.run(time.Minute)
	_, err := r.ddb.PutItem(context.Background(), &ddbsdk.PutItemInput{TableName: aws.String("dwfm-leases"), Item: map[string]types.AttributeValue{
		"droplet": &types.AttributeValueMemberS{Value: "use1-az1-d-0001"}, "owner": &types.AttributeValueMemberS{Value: "other"},
		"epoch": &types.AttributeValueMemberN{Value: "7"}, "expiry": &types.AttributeValueMemberN{Value: "0"}}})
	if err != nil {
		t.Fatal(err)
	}
	r.run(2 * DefaultCheckPeriod)
	st := r.srv.State()
	if st.Expired == 0 || st.LeasesHeld != 4 {
		t.Fatalf("%+v; want the conflicting lease lost and re-established", st.Stats)
	}
	if owner, epoch, _ := r.item("use1-az1-d-0001"); owner != "dwfm-test" || epoch != 8 {
		t.Fatalf("taken-over item: owner %q epoch %d; want dwfm-test at epoch 8", owner, epoch)
	}
}

// A host process that comes back and finds its own lease items is a restart:
// it remembers no lease and re-leases every droplet, through the throttle
// the operators set on the process before (the runbook: throttle, restart).
func TestServerRestartedProcessRemembersNoLease(t *testing.T) {
	r := newServerRig(t, kit.AsWas)
	r.start("dwfm-test")
	r.run(30 * time.Minute)
	r.srv.SetThrottle(3)
	_ = r.srv.Close()
	r.start("dwfm-test")
	if st := r.srv.State(); st.LeasesHeld != 0 || st.Restarts != 1 || st.IntakePerMinute != 3 {
		t.Fatalf("restarted process: %+v; want no lease, one restart, the throttle of 3/min", st.Stats)
	}
	r.run(2 * DefaultCheckPeriod)
	if st := r.srv.State(); st.LeasesHeld != 4 {
		t.Fatalf("restarted process 40 min later: %+v; want every lease back", st.Stats)
	}
}

// Operator actions refuse bad input with a message naming the valid shape.
func TestServerAdminBadInput(t *testing.T) {
	r := newServerRig(t, kit.AsWas)
	r.start("dwfm-test")
	mux := http.NewServeMux()
	r.srv.AdminRoutes(mux)
	for _, body := range []string{``, `{}`, `{"ratePerMinute": -1}`, `not json`} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/throttle", bytes.NewReader([]byte(body))))
		var e map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || e["error"] == "" {
			t.Fatalf("POST /admin/throttle %q: %d %s; want 400 naming the shape", body, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/throttle", bytes.NewReader([]byte(`{"ratePerMinute": 1.5}`))))
	if rec.Code != http.StatusOK || r.srv.State().IntakePerMinute != 1.5 {
		t.Fatalf("POST /admin/throttle 1.5: %d %s", rec.Code, rec.Body)
	}
}
