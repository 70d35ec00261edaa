package nlb

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/netmgr"
)

// TestPollerRegistersTaggedInstancesFromEC2 runs the real EC2 mock (with a
// DWFM that always has capacity) handing instances to the real Network
// Manager, and checks the NLB picks up the tagged ones through the SDK.
func TestPollerRegistersTaggedInstancesFromEC2(t *testing.T) {
	clock := kit.NewScaledClock(time.Now(), kit.IncidentStart, 30)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	dwfm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, map[string]string{"droplet": fmt.Sprintf("d-%d", n.Add(1)), "az": "use1-az1"})
	}))
	defer dwfm.Close()
	nm, err := netmgr.New(netmgr.Config{}, kit.NewEnv("netmgr", clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := nm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer nm.Close()
	e, err := ec2.New(ec2.Config{DWFM: map[string]string{"use1-az1": dwfm.URL}, NetMgrURL: nm.URL()}, kit.NewEnv("ec2", clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	lb, err := New(Config{NetMgrURL: nm.URL(), EC2API: "http://" + e.APIAddr()}, kit.NewEnv("nlb", clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer lb.Close()

	client, err := awsclient.EC2("http://" + e.APIAddr())
	if err != nil {
		t.Fatal(err)
	}
	run := func(tags []ec2types.Tag) string {
		in := &awsec2.RunInstancesInput{ImageId: aws.String("ami-1"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")}}
		if tags != nil {
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}}
		}
		out, err := client.RunInstances(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Instances[0].InstanceId)
	}
	tagged := run([]ec2types.Tag{{Key: aws.String(TargetGroupTag), Value: aws.String("cascade-nlb")}})
	other := run(nil)
	gomega.NewWithT(t).Eventually(func(g gomega.Gomega) {
		st := lb.State(true)
		for _, tg := range st.Targets {
			if tg.ID == other {
				gomega.StopTrying(fmt.Sprintf("untagged instance %s registered", other)).Attach("targets", st.Targets).Now()
			}
		}
		g.Expect(len(st.Targets) == 1 && st.Targets[0].ID == tagged && st.Targets[0].AZ == "use1-az1").To(gomega.BeTrue(),
			"targets %+v: want only %s in use1-az1", st.Targets, tagged)
	}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(gomega.Succeed())
}
