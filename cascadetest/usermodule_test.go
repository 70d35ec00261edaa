package cascadetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// userTest is the test of a team's own module: it uses cascade only through
// its public API, as a module outside this repository would.
const userTest = `package userteam

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/cascadetest"
)

func TestDynamoDBUnderTheOutage(t *testing.T) {
	g := NewWithT(t)
	tmp, err := os.MkdirTemp("", "userteam")
	g.Expect(err).NotTo(HaveOccurred())
	defer os.RemoveAll(tmp)
	t.Setenv("TMPDIR", tmp)
	goroutines := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stack, err := cascadetest.Start(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	defer stack.Close(ctx)
	cfg, err := stack.AWSConfig(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	ddb := dynamodb.NewFromConfig(cfg)
	_, err = ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("users"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("users"),
		Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "u-1"}}})
	g.Expect(err).NotTo(HaveOccurred())

	// the team's service: one GetItem per request, on the SDK client
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := ddb.GetItem(r.Context(), &dynamodb.GetItemInput{TableName: aws.String("users"),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "u-1"}}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	res, err := stack.Replay(ctx, cascadetest.Until(cascadetest.IncidentTime(3, 15)),
		cascadetest.WithProbes(cascadetest.HTTPProbe("users-get", srv.URL, cascadetest.InComponent("users"))))
	g.Expect(err).NotTo(HaveOccurred())
	t.Log(res.Report())
	g.Expect(res).NotTo(cascadetest.StayHealthyWhileEmpty("users"), "DynamoDB fails while the record is empty")
	g.Expect(res).To(cascadetest.RecoverWithin("users", 30*time.Minute), "and answers again after the restore")

	ep := stack.Endpoints()
	srv.Close()
	g.Expect(stack.Close(ctx)).To(Succeed())

	// nothing left behind: no listening port, no goroutine, no file
	addrs := []string{ep.DNS, ep.Toxiproxy, strings.TrimPrefix(ep.Route53API, "http://"), strings.TrimPrefix(ep.EC2API, "http://")}
	for _, lb := range ep.LoadBalancers {
		addrs = append(addrs, lb.Addr)
	}
	for _, u := range ep.Admin {
		addrs = append(addrs, strings.TrimPrefix(u, "http://"))
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listens after Close", a)
		}
	}
	g.Eventually(runtime.NumGoroutine, 10*time.Second, 50*time.Millisecond).Should(BeNumerically("<=", goroutines+2),
		func() string { b := make([]byte, 1<<20); return string(b[:runtime.Stack(b, true)]) })
	left, err := os.ReadDir(tmp)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(left).To(BeEmpty(), "files left in TMPDIR")
}
`

// TestUserModule builds a module outside this repository (a temporary
// directory, with a replace to this checkout), whose test starts a stack
// through the public API, gets an aws.Config, sees DynamoDB fail while the
// regional record is empty and recover after the restore, closes the stack
// and finds no port, goroutine or file left. About 15 s of replay plus the
// module's build.
func TestUserModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and replays 22:40-03:15 (about 30 s)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/userteam\n\ngo 1.26.0\n\nrequire github.com/cascade-lab/cascade v0.0.0\n\nreplace github.com/cascade-lab/cascade => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sum, "outage_test.go": []byte(userTest)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "./...")
	cmd.Dir = dir
	// the module's requirements come from the checkout's go.mod through the
	// local module cache (the proxy only when something is missing)
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CASCADE_BACKEND=embedded")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the user's module failed: %v\n%s", err, out)
	}
	for _, want := range []string{"--- PASS: TestDynamoDBUnderTheOutage", "users"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}
