package dynamodb

import (
	"fmt"
	"strings"
)

// GlobalSecondaryIndexUpdate is one entry of UpdateTable's
// GlobalSecondaryIndexUpdates: exactly one of Create, Update, Delete.
type GlobalSecondaryIndexUpdate struct {
	Create *SecondaryIndex `json:"Create,omitempty"`
	Update *struct {
		IndexName             string                 `json:"IndexName"`
		ProvisionedThroughput *ProvisionedThroughput `json:"ProvisionedThroughput,omitempty"`
	} `json:"Update,omitempty"`
	Delete *struct {
		IndexName string `json:"IndexName"`
	} `json:"Delete,omitempty"`
}

// UpdateTableInput is UpdateTable's request (the members the mock acts on).
type UpdateTableInput struct {
	TableName                   string                       `json:"TableName"`
	AttributeDefinitions        []AttributeDefinition        `json:"AttributeDefinitions,omitempty"`
	BillingMode                 string                       `json:"BillingMode,omitempty"`
	ProvisionedThroughput       *ProvisionedThroughput       `json:"ProvisionedThroughput,omitempty"`
	GlobalSecondaryIndexUpdates []GlobalSecondaryIndexUpdate `json:"GlobalSecondaryIndexUpdates,omitempty"`
	DeletionProtectionEnabled   *bool                        `json:"DeletionProtectionEnabled,omitempty"`
}

// TableUpdate changes a table (UpdateTable): adds or removes a global
// secondary index (one per request, as DynamoDB allows), changes billing,
// throughput or deletion protection. A new index is ACTIVE at once and
// holds the table's existing items.
func (c *Core) TableUpdate(in *UpdateTableInput) (*TableOutput, error) {
	t, err := c.table(in.TableName)
	if err != nil {
		return nil, err
	}
	if len(in.GlobalSecondaryIndexUpdates) > 1 {
		creates := 0
		for _, u := range in.GlobalSecondaryIndexUpdates {
			if u.Create != nil || u.Delete != nil {
				creates++
			}
		}
		if creates > 1 {
			return nil, newError(CodeLimitExceeded, "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table")
		}
	}
	attrs := map[string]string{}
	for k, v := range t.attrs {
		attrs[k] = v
	}
	for _, a := range in.AttributeDefinitions {
		switch a.AttributeType {
		case "S", "N", "B":
		default:
			return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", a.AttributeType))
		}
		if old, ok := attrs[a.AttributeName]; ok && old != a.AttributeType {
			return nil, validationErr("One or more parameter values were invalid: Cannot change the type of an attribute used in a key: " + a.AttributeName)
		}
		attrs[a.AttributeName] = a.AttributeType
	}
	// Work on a copy so a refused request changes nothing.
	next := *t
	next.attrs = attrs
	next.indexes = map[string]*index{}
	for k, v := range t.indexes {
		next.indexes[k] = v
	}
	for _, u := range in.GlobalSecondaryIndexUpdates {
		switch {
		case u.Create != nil && u.Update == nil && u.Delete == nil:
			if _, dup := next.indexes[u.Create.IndexName]; dup {
				return nil, validationErr("One or more parameter values were invalid: Attempting to create an index which already exists")
			}
			ix, err := next.newIndex(*u.Create, true)
			if err != nil {
				return nil, err
			}
			next.indexes[u.Create.IndexName] = ix
		case u.Delete != nil && u.Create == nil && u.Update == nil:
			ix, ok := next.indexes[u.Delete.IndexName]
			if !ok || !ix.global {
				return nil, newError(CodeResourceNotFound, "Requested resource not found: Index: "+u.Delete.IndexName+" not found")
			}
			delete(next.indexes, u.Delete.IndexName)
		case u.Update != nil && u.Create == nil && u.Delete == nil:
			ix, ok := next.indexes[u.Update.IndexName]
			if !ok || !ix.global {
				return nil, newError(CodeResourceNotFound, "Requested resource not found: Index: "+u.Update.IndexName+" not found")
			}
			if pt := u.Update.ProvisionedThroughput; pt != nil {
				cp := *ix
				cp.desc.ProvisionedThroughput = &ProvisionedThroughputDescription{ReadCapacityUnits: pt.ReadCapacityUnits, WriteCapacityUnits: pt.WriteCapacityUnits}
				next.indexes[u.Update.IndexName] = &cp
			}
		default:
			return nil, validationErr("One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update or GlobalSecondaryIndexUpdate.Delete must be specified")
		}
	}
	// Definitions no key uses any more (a deleted index's) are dropped, as
	// DynamoDB does; a new definition no key uses is refused.
	for name := range attrs {
		used := t.keys.hash.name == name || t.keys.rng.name == name
		for _, ix := range next.indexes {
			used = used || ix.keys.hash.name == name || ix.keys.rng.name == name
		}
		if used {
			continue
		}
		if _, old := t.attrs[name]; !old {
			return nil, validationErr("One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [" + strings.Join(sortedNames(attrs), ", ") + "]")
		}
		delete(attrs, name)
	}
	switch in.BillingMode {
	case "":
	case "PAY_PER_REQUEST":
		next.desc.BillingModeSummary = &BillingModeSummary{BillingMode: in.BillingMode}
		next.desc.ProvisionedThroughput = &ProvisionedThroughputDescription{}
	case "PROVISIONED":
		if in.ProvisionedThroughput == nil {
			return nil, validationErr("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
		}
		next.desc.BillingModeSummary = &BillingModeSummary{BillingMode: in.BillingMode}
	default:
		return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", in.BillingMode))
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		next.desc.ProvisionedThroughput = &ProvisionedThroughputDescription{ReadCapacityUnits: pt.ReadCapacityUnits, WriteCapacityUnits: pt.WriteCapacityUnits}
	}
	if in.DeletionProtectionEnabled != nil {
		next.desc.DeletionProtectionEnabled = *in.DeletionProtectionEnabled
	}
	var defs []AttributeDefinition
	for _, name := range sortedNames(attrs) {
		defs = append(defs, AttributeDefinition{AttributeName: name, AttributeType: attrs[name]})
	}
	next.desc.AttributeDefinitions = defs
	*t = next
	return &TableOutput{TableDescription: c.describe(t)}, nil
}
