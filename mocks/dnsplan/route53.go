package dnsplan

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
)

// Route53Store is a Store over aws-sdk-go-v2's Route53 client: what the
// planner, the enactors and the operator's restore use against the mock.
type Route53Store struct {
	c *route53.Client
}

var _ Store = (*Route53Store)(nil)

// NewRoute53Store wraps c.
func NewRoute53Store(c *route53.Client) *Route53Store { return &Route53Store{c: c} }

// List implements Store with ListResourceRecordSets.
func (s *Route53Store) List(ctx context.Context, zoneID string, start Cursor, max int) (Page, error) {
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)}
	if max > 0 {
		in.MaxItems = aws.Int32(int32(max))
	}
	if start.Name != "" {
		in.StartRecordName = aws.String(start.Name)
		if start.Type != "" {
			in.StartRecordType = types.RRType(start.Type)
			if start.SetID != "" {
				in.StartRecordIdentifier = aws.String(start.SetID)
			}
		}
	}
	out, err := s.c.ListResourceRecordSets(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("list record sets of %s: %w", zoneID, mapError(err))
	}
	p := Page{Records: make([]Record, 0, len(out.ResourceRecordSets))}
	for _, rs := range out.ResourceRecordSets {
		p.Records = append(p.Records, fromSDK(rs))
	}
	if out.IsTruncated && out.NextRecordName != nil {
		p.Next = &Cursor{Name: *out.NextRecordName, Type: string(out.NextRecordType), SetID: aws.ToString(out.NextRecordIdentifier)}
	}
	return p, nil
}

// Change implements Store with ChangeResourceRecordSets.
func (s *Route53Store) Change(ctx context.Context, zoneID string, changes []Change) error {
	batch := &types.ChangeBatch{Changes: make([]types.Change, 0, len(changes))}
	for _, c := range changes {
		batch.Changes = append(batch.Changes, types.Change{Action: types.ChangeAction(c.Action), ResourceRecordSet: toSDK(c.Record)})
	}
	_, err := s.c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), ChangeBatch: batch})
	if err != nil {
		return fmt.Errorf("change record sets of %s: %w", zoneID, mapError(err))
	}
	return nil
}

// mapError is the one place Route53 error codes become this package's errors.
func mapError(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	var sentinel error
	switch ae.ErrorCode() {
	case "InvalidChangeBatch":
		sentinel = ErrInvalidChangeBatch
	case "PriorRequestNotComplete":
		sentinel = ErrConflict
	case "Throttling", "ThrottlingException":
		sentinel = ErrThrottled
	case "NoSuchHostedZone":
		sentinel = ErrNoSuchZone
	default:
		return err
	}
	return fmt.Errorf("%w: %s", sentinel, ae.ErrorMessage())
}

func fromSDK(rs types.ResourceRecordSet) Record {
	r := Record{Name: Canonical(unescape(aws.ToString(rs.Name))), Type: string(rs.Type), SetID: aws.ToString(rs.SetIdentifier), TTL: aws.ToInt64(rs.TTL)}
	if rs.Weight != nil {
		r.Weight = *rs.Weight
	}
	for _, v := range rs.ResourceRecords {
		r.Values = append(r.Values, aws.ToString(v.Value))
	}
	return r
}

func toSDK(r Record) *types.ResourceRecordSet {
	rs := &types.ResourceRecordSet{Name: aws.String(r.Name), Type: types.RRType(r.Type), TTL: aws.Int64(r.TTL)}
	if r.SetID != "" {
		rs.SetIdentifier = aws.String(r.SetID)
		rs.Weight = aws.Int64(r.Weight)
	}
	for _, v := range r.Values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

// unescape undoes Route53's octal escapes of names (\052 for '*').
func unescape(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) {
			o := name[i+1 : i+4]
			if o[0] >= '0' && o[0] <= '3' && o[1] >= '0' && o[1] <= '7' && o[2] >= '0' && o[2] <= '7' {
				b.WriteByte((o[0]-'0')<<6 | (o[1]-'0')<<3 | (o[2] - '0'))
				i += 3
				continue
			}
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

// LookupZones finds the hosted zones named in names through ListHostedZones.
// A zone that does not exist is created when create is set (the planner's
// bootstrap), and is an error wrapping ErrNoSuchZone otherwise.
func LookupZones(ctx context.Context, c *route53.Client, names []string, create bool) (ZoneIDs, error) {
	ids := ZoneIDs{}
	var marker *string
	for {
		out, err := c.ListHostedZones(ctx, &route53.ListHostedZonesInput{Marker: marker})
		if err != nil {
			return nil, fmt.Errorf("list hosted zones: %w", mapError(err))
		}
		for _, hz := range out.HostedZones {
			ids[Canonical(aws.ToString(hz.Name))] = strings.TrimPrefix(aws.ToString(hz.Id), "/hostedzone/")
		}
		if !out.IsTruncated || out.NextMarker == nil {
			break
		}
		marker = out.NextMarker
	}
	for _, n := range names {
		n = Canonical(n)
		if _, ok := ids[n]; ok {
			continue
		}
		if !create {
			return nil, fmt.Errorf("hosted zone %s: %w", n, ErrNoSuchZone)
		}
		out, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(n), CallerReference: aws.String("cascade-" + n)})
		if err != nil {
			return nil, fmt.Errorf("create hosted zone %s: %w", n, mapError(err))
		}
		ids[n] = strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
	}
	return ids, nil
}

// Zones looks the automation's hosted zones up (creating them when create is set).
func (s *Route53Store) Zones(ctx context.Context, create bool) (ZoneIDs, error) {
	return LookupZones(ctx, s.c, Zones, create)
}
