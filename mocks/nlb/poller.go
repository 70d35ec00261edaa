package nlb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TargetGroupTag is the tag key that puts an EC2 instance in a target group:
// an instance tagged cascade:target-group=<Config.TargetGroup> is a target.
const TargetGroupTag = "cascade:target-group"

// ec2Poller registers running instances tagged for the target group and
// deregisters the ones that stopped running (an auto-scaling group's
// target-group attachment). Targets registered by hand are left alone.
func (s *Server) ec2Poller(ctx context.Context) {
	t := s.env.Clock.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	mine := map[string]bool{}
	for {
		if err := s.pollOnce(ctx, mine); err != nil && ctx.Err() == nil {
			s.env.Events.Emit("ec2-poll-failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

func (s *Server) pollOnce(ctx context.Context, mine map[string]bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + TargetGroupTag), Values: []string{s.cfg.TargetGroup}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}}
	seen := map[string]string{}
	for {
		out, err := s.ec2.DescribeInstances(ctx, in)
		if err != nil {
			return err
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				az := ""
				if i.Placement != nil {
					az = aws.ToString(i.Placement.AvailabilityZoneId)
				}
				seen[aws.ToString(i.InstanceId)] = az
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, az := range seen {
		if mine[id] {
			continue
		}
		if err := s.core.RegisterTarget(id, az); err != nil {
			continue // an AZ this NLB does not span
		}
		mine[id] = true
	}
	for id := range mine {
		if _, ok := seen[id]; !ok {
			_ = s.core.DeregisterTarget(id)
			delete(mine, id)
		}
	}
	return nil
}
