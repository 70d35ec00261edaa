package ec2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// fakeDWFM answers allocations while capacity is on.
type fakeDWFM struct {
	capacity atomic.Bool
	n        atomic.Int64
}

func (f *fakeDWFM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.capacity.Load() {
		kit.WriteJSON(w, http.StatusConflict, map[string]string{"error": "no droplet with a valid lease"})
		return
	}
	kit.WriteJSON(w, http.StatusOK, map[string]string{"droplet": fmt.Sprintf("d-%d", f.n.Add(1)), "az": "use1-az1"})
}

// fakeNetMgr accepts hand-offs once up, and reports propagation once told.
type fakeNetMgr struct {
	mu        sync.Mutex
	up        bool
	propagate bool
	got       map[string]string
}

func (f *fakeNetMgr) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.up {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/instances":
		var req map[string]string
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.got[req["instanceId"]] = req["az"]
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodGet:
		kit.WriteJSON(w, http.StatusOK, map[string]bool{"propagated": f.propagate})
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

type fixture struct {
	srv    *Server
	client *ec2.Client
	dwfm   *fakeDWFM
	net    *fakeNetMgr
	env    *kit.Env
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dwfm: &fakeDWFM{}, net: &fakeNetMgr{got: map[string]string{}}}
	f.dwfm.capacity.Store(true)
	d := httptest.NewServer(f.dwfm)
	t.Cleanup(d.Close)
	n := httptest.NewServer(f.net)
	t.Cleanup(n.Close)
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, 60)
	f.env = kit.NewEnv("ec2", clock, nil, 1)
	srv, err := New(Config{DWFM: map[string]string{"use1-az1": d.URL}, NetMgrURL: n.URL}, f.env)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f.srv = srv
	f.client, err = awsclient.EC2(srv.URL(), awsclient.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T, az string, tags ...types.Tag) (*ec2.RunInstancesOutput, error) {
	t.Helper()
	in := &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeM5Large}
	if az != "" {
		in.Placement = &types.Placement{AvailabilityZone: aws.String(az)}
	}
	if len(tags) > 0 {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags}}
	}
	return f.client.RunInstances(context.Background(), in)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRunDescribeTerminateWithTheSDK(t *testing.T) {
	f := newFixture(t)
	out, err := f.run(t, "us-east-1a", types.Tag{Key: aws.String("probe"), Value: aws.String("ec2-launch")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 1 || !ValidInstanceID(aws.ToString(out.Instances[0].InstanceId)) || out.ReservationId == nil {
		t.Fatalf("RunInstances output %+v", out)
	}
	in := out.Instances[0]
	if aws.ToString(in.Placement.AvailabilityZone) != "us-east-1a" || in.InstanceType != types.InstanceTypeM5Large ||
		len(in.Tags) != 1 || aws.ToString(in.Tags[0].Key) != "probe" || in.LaunchTime == nil {
		t.Fatalf("instance %+v", in)
	}
	id := aws.ToString(in.InstanceId)

	desc, err := f.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag:probe"), Values: []string{"ec2-*"}}, {Name: aws.String("availability-zone"), Values: []string{"us-east-1a"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Reservations) != 1 || aws.ToString(desc.Reservations[0].Instances[0].InstanceId) != id {
		t.Fatalf("describe by filter: %+v", desc.Reservations)
	}
	none, err := f.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag:probe"), Values: []string{"other"}}}})
	if err != nil || len(none.Reservations) != 0 {
		t.Fatalf("non-matching filter: %v %+v", err, none)
	}

	term, err := f.client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(term.TerminatingInstances) != 1 || term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Fatalf("terminate: %+v", term.TerminatingInstances)
	}
}

func TestInstanceRunsAfterBootAndGetsConnectivityFromNetMgr(t *testing.T) {
	f := newFixture(t)
	out, err := f.run(t, "")
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	waitFor(t, func(g gomega.Gomega) {
		d, err := f.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(d.Reservations[0].Instances[0].State.Name).To(gomega.Equal(types.InstanceStateNameRunning))
	}, "instance running")
	// Network Manager was down: the hand-off is pending and retried
	if st := f.srv.Instances()[0]; st.HandedOff || st.Propagated || st.State != StateRunning {
		t.Fatalf("running without Network Manager: %+v", st)
	}
	f.net.mu.Lock()
	f.net.up = true
	f.net.mu.Unlock()
	waitFor(t, func(g gomega.Gomega) { g.Expect(f.srv.Instances()[0]).To(gomega.HaveField("HandedOff", true)) },
		"hand-off accepted once Network Manager is up")
	if st := f.srv.Instances()[0]; st.Propagated {
		t.Fatal("propagated before Network Manager said so")
	}
	f.net.mu.Lock()
	f.net.propagate = true
	f.net.mu.Unlock()
	waitFor(t, func(g gomega.Gomega) { g.Expect(f.srv.Instances()[0]).To(gomega.HaveField("Propagated", true)) },
		"connectivity after propagation")
}

// waitFor polls cond every 5 ms until its assertions hold, failing the test
// after 5 s with what cond last observed.
func waitFor(t *testing.T, cond func(g gomega.Gomega), what string) {
	t.Helper()
	gomega.NewWithT(t).Eventually(cond).WithTimeout(5*time.Second).WithPolling(5*time.Millisecond).Should(gomega.Succeed(),
		"timed out waiting for %s", what)
}

func TestNoLeasedDropletIsInsufficientCapacity(t *testing.T) {
	f := newFixture(t)
	f.dwfm.capacity.Store(false)
	_, err := f.run(t, "us-east-1a")
	if LaunchOutcome(err) != CodeInsufficientCapacity {
		t.Fatalf("outcome %q (%v); want InsufficientInstanceCapacity", LaunchOutcome(err), err)
	}
	// a zone without a DWFM host has no capacity either
	if _, err := f.run(t, "us-east-1b"); code(err) != CodeInsufficientCapacity {
		t.Fatalf("zone without DWFM: %v", err)
	}
}

func TestThrottleIsRequestLimitExceededAndTheSDKRetriesIt(t *testing.T) {
	f := newFixture(t)
	f.srv.SetThrottle(0.001, 1) // one call, then nothing for the test's life
	if _, err := f.run(t, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.run(t, ""); LaunchOutcome(err) != CodeRequestLimitExceeded {
		t.Fatalf("throttled launch: %v", err)
	}
	var attempts atomic.Int64
	counting := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	retrying, _ := awsclient.EC2(f.srv.URL(), awsclient.WithMaxAttempts(3), awsclient.WithHTTPClient(counting))
	_, err := retrying.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if code(err) != CodeRequestLimitExceeded || attempts.Load() != 3 {
		t.Fatalf("retrying client: %v after %d attempts; want RequestLimitExceeded after 3", err, attempts.Load())
	}
	f.srv.SetThrottle(0, 0)
	if _, err := f.run(t, ""); err != nil {
		t.Fatalf("after the throttle is removed: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFailpointThrottles(t *testing.T) {
	f := newFixture(t)
	if err := f.env.Failpoints.Enable("ec2/run-instances", "1*error(busy)"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.run(t, ""); code(err) != CodeRequestLimitExceeded {
		t.Fatalf("failpoint: %v", err)
	}
	if _, err := f.run(t, ""); err != nil {
		t.Fatalf("after the failpoint's one shot: %v", err)
	}
}

func TestDescribePaging(t *testing.T) {
	f := newFixture(t)
	for range 12 {
		if _, err := f.run(t, ""); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	p := ec2.NewDescribeInstancesPaginator(f.client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				seen[aws.ToString(in.InstanceId)] = true
			}
		}
	}
	if len(seen) != 12 || pages != 3 {
		t.Fatalf("paging saw %d instances in %d pages; want 12 in 3", len(seen), pages)
	}
}

func TestBadInputGetsEC2ErrorShape(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	if code(err) != CodeInstanceNotFound {
		t.Fatalf("unknown instance: %v", err)
	}
	_, err = f.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"vol-123"}})
	if code(err) != CodeInstanceMalformed {
		t.Fatalf("malformed instance id: %v", err)
	}
	_, err = f.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("no-such-filter"), Values: []string{"x"}}}})
	if code(err) != CodeInvalidParameterValue {
		t.Fatalf("unknown filter: %v", err)
	}
	_, err = f.client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(2), MaxCount: aws.Int32(1)})
	if code(err) != CodeInvalidParameterValue {
		t.Fatalf("max < min: %v", err)
	}
	_, err = f.client.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if code(err) != CodeMissingParameter {
		t.Fatalf("no image: %v", err)
	}
	_, err = f.run(t, "eu-west-1a")
	if code(err) != CodeInvalidParameterValue {
		t.Fatalf("unknown zone: %v", err)
	}
	_, err = f.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("garbage!")})
	if code(err) != CodeInvalidPaginationToken {
		t.Fatalf("bad token: %v", err)
	}

	// raw requests: the error document itself
	for _, tc := range []struct {
		form   string
		auth   bool
		status int
		code   string
	}{
		{"Action=CreateVpc&Version=2016-11-15", true, 400, CodeInvalidAction},
		{"Version=2016-11-15", true, 400, CodeMissingAction},
		{"Action=DescribeInstances", true, 400, CodeMissingParameter},
		{"Action=DescribeInstances&Version=2016-11-15&InstanceId.x=i-1", true, 400, CodeInvalidParameterValue},
		{"Action=DescribeInstances&Version=2016-11-15", false, 401, CodeAuthFailure},
		{"Action=TerminateInstances&Version=2016-11-15", true, 400, CodeMissingParameter},
	} {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL(), strings.NewReader(tc.form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.auth {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), "<Response><Errors><Error><Code>"+tc.code+"</Code><Message>") ||
			!strings.Contains(string(body), "<RequestID>") {
			t.Errorf("%s: %d %s; want %d with code %s", tc.form, resp.StatusCode, body, tc.status, tc.code)
		}
	}
}

func FuzzEC2QueryDecode(f *testing.F) {
	for _, s := range []string{
		"Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MinCount=1&MaxCount=2&Placement.AvailabilityZone=us-east-1a&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
		"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Ak&Filter.1.Value.1=v*&MaxResults=5&NextToken=abc",
		"Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
		"Action=DescribeInstances&Version=2016-11-15&InstanceId.0=x&Filter.1001.Name=a",
		"Action=RunInstances&Version=1&TagSpecification.1.Tag.1.Key=&MinCount=-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req, err := DecodeQuery(form)
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code == "" || ae.Status() < 400 {
				t.Fatalf("error %v is not an EC2 API error", err)
			}
			return
		}
		switch req.Action {
		case "RunInstances":
			if req.Run == nil || req.Run.MinCount < 1 || req.Run.MaxCount < req.Run.MinCount || req.Run.MaxCount > MaxLaunch || req.Run.ImageID == "" {
				t.Fatalf("accepted a bad RunInstances: %+v", req.Run)
			}
		case "DescribeInstances":
			if req.Describe == nil {
				t.Fatal("no describe input")
			}
		case "TerminateInstances":
			if req.Terminate == nil || len(req.Terminate.IDs) == 0 {
				t.Fatal("no terminate input")
			}
		default:
			t.Fatalf("accepted action %q", req.Action)
		}
	})
}
