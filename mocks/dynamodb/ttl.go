package dynamodb

import (
	"fmt"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// Time to live: a table may name a Number attribute holding an expiry time
// in Unix epoch seconds; items whose expiry has passed on the injected
// (incident) clock are deleted by ExpireItems, which the transport calls on
// a period, as DynamoDB's background sweeper does. Until the sweep reaches
// them, expired items are still read, as in DynamoDB.

// TimeToLiveSpecification enables or disables TTL on an attribute.
type TimeToLiveSpecification struct {
	AttributeName string `json:"AttributeName"`
	Enabled       *bool  `json:"Enabled"`
}

// UpdateTimeToLiveInput is UpdateTimeToLive's request.
type UpdateTimeToLiveInput struct {
	TableName               string                   `json:"TableName"`
	TimeToLiveSpecification *TimeToLiveSpecification `json:"TimeToLiveSpecification"`
}

// UpdateTimeToLiveOutput is UpdateTimeToLive's response.
type UpdateTimeToLiveOutput struct {
	TimeToLiveSpecification *TimeToLiveSpecification `json:"TimeToLiveSpecification"`
}

// TimeToLiveDescription is a table's TTL state.
type TimeToLiveDescription struct {
	TimeToLiveStatus string `json:"TimeToLiveStatus"`
	AttributeName    string `json:"AttributeName,omitempty"`
}

// DescribeTimeToLiveOutput is DescribeTimeToLive's response.
type DescribeTimeToLiveOutput struct {
	TimeToLiveDescription TimeToLiveDescription `json:"TimeToLiveDescription"`
}

// TimeToLiveUpdate enables or disables TTL on a table (UpdateTimeToLive).
// The change is ENABLED or DISABLED at once.
func (c *Core) TimeToLiveUpdate(in *UpdateTimeToLiveInput) (*UpdateTimeToLiveOutput, error) {
	spec := in.TimeToLiveSpecification
	if spec == nil {
		return nil, validationErr("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null")
	}
	if spec.Enabled == nil {
		return nil, validationErr("1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null")
	}
	if n := len(spec.AttributeName); n < 1 || n > 255 {
		return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length %s", spec.AttributeName, map[bool]string{true: "greater than or equal to 1", false: "less than or equal to 255"}[n < 1]))
	}
	t, err := c.table(in.TableName)
	if err != nil {
		return nil, err
	}
	switch {
	case *spec.Enabled && t.ttl != "":
		return nil, validationErr("TimeToLive is already enabled")
	case !*spec.Enabled && t.ttl == "":
		return nil, validationErr("TimeToLive is already disabled")
	case !*spec.Enabled && t.ttl != spec.AttributeName:
		return nil, validationErr("TimeToLive is active on a different AttributeName: current AttributeName is " + t.ttl)
	}
	t.ttl = ""
	if *spec.Enabled {
		t.ttl = spec.AttributeName
	}
	return &UpdateTimeToLiveOutput{TimeToLiveSpecification: spec}, nil
}

// TimeToLiveDescribe reports a table's TTL state (DescribeTimeToLive).
func (c *Core) TimeToLiveDescribe(in *TableNameInput) (*DescribeTimeToLiveOutput, error) {
	t, err := c.table(in.TableName)
	if err != nil {
		return nil, err
	}
	if t.ttl == "" {
		return &DescribeTimeToLiveOutput{TimeToLiveDescription: TimeToLiveDescription{TimeToLiveStatus: "DISABLED"}}, nil
	}
	return &DescribeTimeToLiveOutput{TimeToLiveDescription: TimeToLiveDescription{TimeToLiveStatus: "ENABLED", AttributeName: t.ttl}}, nil
}

// Expired is what one sweep deleted from one table.
type Expired struct {
	Table string
	Items int
}

// ExpireItems deletes every item whose TTL attribute is a Number of epoch
// seconds at or before the clock's now, in every table with TTL enabled.
// Items without the attribute, or with another type, never expire.
func (c *Core) ExpireItems() []Expired {
	now := expr.Num(c.clock.Now().Unix())
	var out []Expired
	for _, name := range c.TableNames() {
		t := c.tables[name]
		if t.ttl == "" {
			continue
		}
		var doomed []*record
		for _, p := range t.items.parts {
			for _, r := range p.recs {
				v, ok := r.item[t.ttl]
				if !ok || v.Type() != expr.TypeN {
					continue
				}
				if cmp, ok := expr.Compare(v, now); ok && cmp <= 0 {
					doomed = append(doomed, r)
				}
			}
		}
		for _, r := range doomed {
			t.remove(r.item, r.pk)
		}
		if len(doomed) > 0 {
			out = append(out, Expired{Table: name, Items: len(doomed)})
		}
	}
	return out
}
