package lambda

import (
	zipfile "archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	sqssdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/jonboulle/clockwork"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/dynamodb"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/route53"
	"github.com/cascade-lab/cascade/mocks/sqs"
)

// rig is Lambda and SQS on one fake incident clock, with DynamoDB (real
// clock, short connection age) reached by name through the real Route53
// mock's DNS, whose regional record the test can empty and restore.
type rig struct {
	t        *testing.T
	g        gomega.Gomega
	ctx      context.Context
	clock    *clockwork.FakeClock
	srv      *Server
	env      *kit.Env
	lambda   *lambdasdk.Client
	sqs      *sqssdk.Client
	r53      *r53.Client
	zone     string
	db       *dynamodb.Server
	capacity atomic.Uint64
}

var regional = &r53types.ResourceRecordSet{
	Name:            aws.String(awsclient.DynamoDBHost + "."),
	Type:            r53types.RRTypeA,
	TTL:             aws.Int64(5),
	ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("127.0.0.1")}},
}

func newRig(t *testing.T, mode kit.Mode) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{t: t, g: gomega.NewWithT(t), ctx: ctx, clock: clockwork.NewFakeClockAt(kit.IncidentStart)}
	r.capacity.Store(math.Float64bits(1))
	real := clockwork.NewRealClock()
	dns, err := route53.New(route53.Config{Zones: route53.DefaultZones}, kit.NewEnv("route53", real, nil, 1))
	r.must(err)
	r.must(dns.Start(ctx))
	t.Cleanup(func() { _ = dns.Close() })
	db, err := dynamodb.New(dynamodb.Config{Addr: "127.0.0.1:0", MaxConnAge: 100 * time.Millisecond}, kit.NewEnv("dynamodb", real, nil, 1))
	r.must(err)
	r.must(db.Start(ctx))
	t.Cleanup(func() { _ = db.Close() })
	r.db = db
	r.r53, err = awsclient.Route53(dns.APIURL(), awsclient.WithMaxAttempts(1))
	r.must(err)
	var ok bool
	r.zone, ok = dns.ZoneID("us-east-1.amazonaws.com.")
	if !ok {
		t.Fatal("zone us-east-1.amazonaws.com. not served")
	}
	r.record(r53types.ChangeActionUpsert)

	q, err := sqs.New(sqs.Config{}, kit.NewEnv("sqs", r.clock, nil, 2))
	r.must(err)
	r.must(q.Start(ctx))
	t.Cleanup(func() { _ = q.Close() })
	r.sqs, err = awsclient.SQS(q.URL(), awsclient.WithMaxAttempts(1))
	r.must(err)

	r.env = kit.NewEnv("lambda", r.clock, nil, 3)
	r.srv, err = New(Config{Mode: mode, DNSAddr: dns.DNSAddr(), DynamoDBPort: db.Port(), SQSURL: q.URL(),
		OpTimeout: 2 * time.Second, // wall, on a fake clock
		Capacity: CapacityFunc(func(context.Context) (float64, error) {
			return math.Float64frombits(r.capacity.Load()), nil
		})}, r.env)
	r.must(err)
	r.must(r.srv.Start(ctx))
	t.Cleanup(func() { _ = r.srv.Close() })
	r.lambda, err = awsclient.Lambda(r.srv.URL(), awsclient.WithMaxAttempts(1))
	r.must(err)
	r.g.Eventually(r.srv.ready.Load).WithTimeout(10*time.Second).Should(gomega.BeTrue(), "tables created")
	return r
}

func (r *rig) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

// record changes the DynamoDB regional record (Upsert/Create publish it,
// Delete empties the name). After a Delete it waits until every connection
// dialled before has aged out (MaxConnAge is wall time here): a kept-alive
// connection would otherwise carry the next calls however many incident
// minutes the fake clock runs, and whether it did would depend on how fast
// the machine steps.
func (r *rig) record(action r53types.ChangeAction) {
	r.t.Helper()
	_, err := r.r53.ChangeResourceRecordSets(r.ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(r.zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: regional}}}})
	r.must(err)
	if action == r53types.ChangeActionDelete {
		r.g.Eventually(r.db.OpenConns).WithTimeout(10*time.Second).WithPolling(5*time.Millisecond).
			Should(gomega.BeZero(), "connections dialled before the record emptied")
	}
}

// step advances incident time by one poller tick and waits until the
// round ran and its calls finished.
func (r *rig) step() {
	r.t.Helper()
	before := r.srv.rounds.Load()
	bctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	r.must(r.clock.BlockUntilContext(bctx, 1)) // the loop waits on its ticker
	r.clock.Advance(r.srv.cfg.TickInterval)
	r.g.Eventually(func(g gomega.Gomega) {
		g.Expect(r.srv.rounds.Load()).To(gomega.BeNumerically(">", before))
		g.Expect(r.srv.inflight.Load()).To(gomega.BeZero())
	}).WithTimeout(10 * time.Second).WithPolling(time.Millisecond).Should(gomega.Succeed())
}

// runUntil steps until cond holds, at most limit of incident time; it
// reports whether cond held.
func (r *rig) runUntil(limit time.Duration, cond func() bool) bool {
	for end := r.clock.Now().Add(limit); r.clock.Now().Before(end); {
		if cond() {
			return true
		}
		r.step()
	}
	return cond()
}

func (r *rig) run(d time.Duration) { r.runUntil(d, func() bool { return false }) }

func (r *rig) createFunction(name string) (*lambdasdk.CreateFunctionOutput, error) {
	return r.lambda.CreateFunction(r.ctx, &lambdasdk.CreateFunctionInput{FunctionName: aws.String(name),
		Role: aws.String("arn:aws:iam::000000000000:role/cascade"), Runtime: ltypes.RuntimePython312,
		Handler: aws.String("echo"), Code: &ltypes.FunctionCode{ZipFile: []byte("PK fake zip")}})
}

func isService(err error) bool {
	var se *ltypes.ServiceException
	return errors.As(err, &se)
}

// Function metadata lives in DynamoDB, reached by name: create and update
// fail with ServiceException while the regional record is empty and work
// again when it returns; invocations of a known function go on.
func TestControlPlaneFollowsDynamoDBResolution(t *testing.T) {
	r := newRig(t, kit.AsWas)
	out, err := r.createFunction("orders")
	r.must(err)
	if aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:orders" || out.State != ltypes.StateActive {
		t.Fatalf("CreateFunction: %+v", out)
	}
	got, err := r.lambda.GetFunction(r.ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("orders")})
	r.must(err)
	if aws.ToString(got.Configuration.Handler) != "echo" {
		t.Fatalf("GetFunction: %+v", got.Configuration)
	}

	r.record(r53types.ChangeActionDelete)
	attempt := 0
	r.g.Eventually(func() error { // until the pooled connection ages out and the client resolves again
		attempt++
		_, err := r.createFunction("billing-" + strconv.Itoa(attempt))
		return err
	}).
		WithTimeout(10*time.Second).WithPolling(20*time.Millisecond).Should(gomega.Satisfy(isService), "create while unresolvable")
	_, err = r.lambda.UpdateFunctionConfiguration(r.ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), Timeout: aws.Int32(10)})
	if !isService(err) || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("update while unresolvable: %v", err)
	}
	inv, err := r.lambda.Invoke(r.ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("orders"), Payload: []byte(`{"a":1}`)})
	if err != nil || string(inv.Payload) != `{"a":1}` {
		t.Fatalf("invoke of a known function while DynamoDB is unresolvable: %v %s", err, inv.Payload)
	}

	r.record(r53types.ChangeActionCreate)
	r.g.Eventually(func() error { _, err := r.createFunction("billing"); return err }).
		WithTimeout(10*time.Second).WithPolling(20*time.Millisecond).Should(gomega.Succeed(), "create after the record returned")
	upd, err := r.lambda.UpdateFunctionConfiguration(r.ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), Timeout: aws.Int32(10)})
	if err != nil || aws.ToInt32(upd.Timeout) != 10 {
		t.Fatalf("update after the record returned: %v", err)
	}
}

// Bad requests get Lambda's modelled errors through the SDK, and the wire
// carries x-amzn-ErrorType.
func TestErrorShapes(t *testing.T) {
	r := newRig(t, kit.AsWas)
	_, err := r.lambda.GetFunction(r.ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("absent")})
	var nf *ltypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(aws.ToString(nf.Message), "Function not found") {
		t.Fatalf("GetFunction of a missing function: %v", err)
	}
	_, err = r.createFunction("dup")
	r.must(err)
	_, err = r.createFunction("dup")
	var conflict *ltypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("CreateFunction twice: %v", err)
	}
	_, err = r.lambda.Invoke(r.ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("dup"), Payload: []byte(`{not json`)})
	var content *ltypes.InvalidRequestContentException
	if !errors.As(err, &content) {
		t.Fatalf("Invoke with a non-JSON payload: %v", err)
	}
	_, err = r.lambda.UpdateFunctionConfiguration(r.ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("dup"), MemorySize: aws.Int32(64)})
	var param *ltypes.InvalidParameterValueException
	if !errors.As(err, &param) {
		t.Fatalf("UpdateFunctionConfiguration with 64 MB: %v", err)
	}
	_, err = r.lambda.CreateEventSourceMapping(r.ctx, &lambdasdk.CreateEventSourceMappingInput{FunctionName: aws.String("absent"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
	if !errors.As(err, &nf) {
		t.Fatalf("mapping to a missing function: %v", err)
	}

	req, _ := http.NewRequest(http.MethodGet, r.srv.URL()+"/2015-03-31/functions/absent", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	resp, err := http.DefaultClient.Do(req)
	r.must(err)
	defer resp.Body.Close()
	var body map[string]string
	b, _ := io.ReadAll(resp.Body)
	r.must(json.Unmarshal(b, &body))
	if resp.StatusCode != 404 || resp.Header.Get("x-amzn-ErrorType") != "ResourceNotFoundException" || body["Type"] != "User" || body["Message"] == "" {
		t.Fatalf("raw GetFunction error: %d %v %s", resp.StatusCode, resp.Header, b)
	}
}

// Invocations are throttled with TooManyRequestsException when the fleet
// capacity Lambda can reach falls, and served again when it returns.
func TestInvokeThrottledByFleetCapacity(t *testing.T) {
	r := newRig(t, kit.AsWas)
	_, err := r.createFunction("fn")
	r.must(err)
	invoke := func() error {
		_, err := r.lambda.Invoke(r.ctx, &lambdasdk.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{}`)})
		return err
	}
	r.must(invoke())
	r.capacity.Store(math.Float64bits(0))
	r.step() // the loop reads the capacity
	var tmr *ltypes.TooManyRequestsException
	if err := invoke(); !errors.As(err, &tmr) || tmr.Reason != ltypes.ThrottleReasonConcurrentInvocationLimitExceeded {
		t.Fatalf("invoke with no reachable capacity: %v", err)
	}
	r.capacity.Store(math.Float64bits(1))
	r.step()
	r.must(invoke())
}

// The event-source poller end to end: messages sent to SQS are received,
// passed to the function and deleted. As-was, a DynamoDB outage that fails
// a lease renewal wedges the mapping (its record still names the dead
// worker) until the operator's restart; fixed, it recovers by itself.
func TestPollerThroughSQSAndDynamoDB(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			r := newRig(t, mode)
			_, err := r.createFunction("consumer")
			r.must(err)
			q, err := r.sqs.CreateQueue(r.ctx, &sqssdk.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "30"}})
			r.must(err)
			m, err := r.lambda.CreateEventSourceMapping(r.ctx, &lambdasdk.CreateEventSourceMappingInput{FunctionName: aws.String("consumer"),
				EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:jobs"), BatchSize: aws.Int32(5)})
			r.must(err)
			list, err := r.lambda.ListEventSourceMappings(r.ctx, &lambdasdk.ListEventSourceMappingsInput{FunctionName: aws.String("consumer")})
			r.must(err)
			if len(list.EventSourceMappings) != 1 || aws.ToString(list.EventSourceMappings[0].UUID) != aws.ToString(m.UUID) {
				t.Fatalf("ListEventSourceMappings: %+v", list.EventSourceMappings)
			}
			send := func(n int) {
				for range n {
					_, err := r.sqs.SendMessage(r.ctx, &sqssdk.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"job":1}`)})
					r.must(err)
				}
			}
			processed := func() int64 { return r.srv.Pollers()[0].Processed }
			send(12)
			if !r.runUntil(5*time.Minute, func() bool { return processed() == 12 }) {
				t.Fatalf("steady state: %+v", r.srv.Pollers())
			}

			r.record(r53types.ChangeActionDelete)
			lost := func() bool { return r.srv.Pollers()[0].Owner == "" }
			if !r.runUntil(10*time.Minute, lost) {
				t.Fatalf("lease kept through the outage: %+v", r.srv.Pollers())
			}
			r.run(5 * time.Minute)
			r.record(r53types.ChangeActionCreate)
			send(3)
			recovered := r.runUntil(30*time.Minute, func() bool { return processed() == 15 })
			if mode.IsFixed() {
				if !recovered {
					t.Fatalf("fixed pollers did not recover by themselves: %+v", r.srv.Pollers())
				}
				return
			}
			if recovered {
				t.Fatal("as-was pollers recovered without the operator")
			}
			resp, err := http.Post(adminURL(t, r.srv)+"/admin/pollers/restart", "application/json", nil)
			r.must(err)
			_ = resp.Body.Close()
			if !r.runUntil(5*time.Minute, func() bool { return processed() == 15 }) {
				t.Fatalf("no recovery after the operator's restart: %+v", r.srv.Pollers())
			}
		})
	}
}

// adminURL serves the server's admin mux for the test.
func adminURL(t *testing.T, s *Server) string {
	h, err := kit.StartHTTP("127.0.0.1:0", kit.NewAdminMuxFor(s.env, nil, s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h.URL()
}

// TestAWSCLI drives the Lambda API with the unmodified AWS CLI. It skips
// when `aws` is not on PATH.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per command")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: apt-get install awscli to run this test")
	}
	r := newRig(t, kit.AsWas)
	home := t.TempDir()
	zip := filepath.Join(home, "fn.zip")
	var buf bytes.Buffer
	zw := zipfile.NewWriter(&buf)
	fw, err := zw.Create("handler.py")
	r.must(err)
	_, _ = fw.Write([]byte("def handler(event, context):\n    return event\n"))
	r.must(zw.Close())
	r.must(os.WriteFile(zip, buf.Bytes(), 0o600))
	run := func(args ...string) (string, string, error) {
		cmd := exec.Command(awsBin, append(append([]string{"lambda"}, args...), "--endpoint-url", r.srv.URL(), "--output", "json")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDCASCADE",
			"AWS_SECRET_ACCESS_KEY=cascade-secret", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=", "NO_PROXY=*"}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, err := run(args...)
		if err != nil {
			t.Fatalf("aws lambda %s: %v\n%s", args[0], err, errOut)
		}
		var v map[string]any
		if strings.TrimSpace(out) != "" {
			r.must(json.Unmarshal([]byte(out), &v))
		}
		return v
	}
	created := must("create-function", "--function-name", "cli", "--runtime", "python3.12", "--handler", "echo",
		"--role", "arn:aws:iam::000000000000:role/cascade", "--zip-file", "fileb://"+zip)
	if created["State"] != "Active" {
		t.Fatalf("create-function: %v", created)
	}
	updated := must("update-function-configuration", "--function-name", "cli", "--timeout", "20")
	if updated["Timeout"] != float64(20) {
		t.Fatalf("update-function-configuration: %v", updated)
	}
	got := must("get-function", "--function-name", "cli")
	if got["Configuration"].(map[string]any)["Timeout"] != float64(20) {
		t.Fatalf("get-function: %v", got)
	}
	outFile := filepath.Join(home, "out.json")
	inv := must("invoke", "--function-name", "cli", "--payload", `{"hello":"world"}`, outFile)
	if inv["StatusCode"] != float64(200) {
		t.Fatalf("invoke: %v", inv)
	}
	if b, _ := os.ReadFile(outFile); string(b) != `{"hello":"world"}` {
		t.Fatalf("invoke payload: %q", b)
	}
	must("create-event-source-mapping", "--function-name", "cli", "--event-source-arn", "arn:aws:sqs:us-east-1:000000000000:q")
	list := must("list-event-source-mappings", "--function-name", "cli")
	if len(list["EventSourceMappings"].([]any)) != 1 {
		t.Fatalf("list-event-source-mappings: %v", list)
	}
	_, errOut, err := run("get-function", "--function-name", "absent")
	if err == nil || !strings.Contains(errOut, "ResourceNotFoundException") {
		t.Fatalf("get-function of a missing function: %v %q", err, errOut)
	}
}
