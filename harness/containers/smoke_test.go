package containers_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/containers"
	"github.com/cascade-lab/cascade/harness/containers/engine"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// TestStackSmoke starts the whole stack of containers and checks that the
// host reaches DynamoDB through the mock DNS and a load balancer's IP, that
// events arrive from the containers' logs, and that a restart is a real
// container restart.
func TestStackSmoke(t *testing.T) {
	if err := engine.Available(context.Background()); err != nil {
		t.Skipf("SKIPPING: %v", err)
	}
	if testing.Short() {
		t.Skip("short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t0 := time.Now()
	st, err := harness.Start(ctx, harness.WithBackend(containers.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	t.Logf("started in %v", time.Since(t0))
	events, stop := st.Events(4096)
	defer stop()
	ep := st.Endpoints()

	res := ep.Resolver()
	var addrs []string
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		var err error
		addrs, err = res.LookupHost(ctx, awsclient.DynamoDBHost)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(addrs).NotTo(gomega.BeEmpty())
	}).WithTimeout(2*time.Minute).WithPolling(200*time.Millisecond).Should(gomega.Succeed(),
		"%s never resolved through %s", awsclient.DynamoDBHost, ep.DNS)
	t.Logf("%s -> %v", awsclient.DynamoDBHost, addrs)
	ddb, err := st.DynamoDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(10)}); err != nil {
		t.Fatalf("ListTables through DNS and a load balancer: %v", err)
	}
	select {
	case ev := <-events:
		t.Logf("first event %+v", ev)
	case <-time.After(time.Minute):
		t.Fatal("no event from the containers in a minute")
	}
	for _, a := range []harness.Action{harness.ActionRestart, harness.ActionPause, harness.ActionResume} {
		t1 := time.Now()
		if err := st.Control(ctx, "dwfm-a", a); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s took %v", a, time.Since(t1))
	}
	for _, s := range st.Services() {
		if s.State != harness.Running {
			t.Errorf("%s is %s", s.Name, s.State)
		}
	}
}
