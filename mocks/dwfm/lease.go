package dwfm

import "strconv"

// LeaseKey is the lease table's hash key attribute (type S).
const LeaseKey = "droplet"

// LeaseCall is the DynamoDB request that performs one Op on the lease table.
// It is the one mapping of the core's operations onto DynamoDB: the server
// sends it through the SDK, the simulation backend hands it to DynamoDB's
// core, so both run the same conditions.
type LeaseCall struct {
	// Get is a strongly consistent GetItem of Droplet; otherwise the call is
	// an UpdateItem with Update and Condition.
	Get       bool
	Droplet   string
	Update    string
	Condition string
	Names     map[string]string
	// Strings and Numbers are the expression attribute values (S and N).
	Strings map[string]string
	Numbers map[string]int64
}

// LeaseRequest is the DynamoDB request of op:
//
//	OpRead   GetItem (consistent)
//	OpRenew  UpdateItem SET owner, epoch, expiry IF the item is missing or still owner's at epoch
//	OpWrite  UpdateItem SET owner, the new epoch, expiry IF the stored epoch is still Epoch
//	         (or, for epoch 0, the item is missing)
func LeaseRequest(op Op) LeaseCall {
	if op.Kind == OpRead {
		return LeaseCall{Get: true, Droplet: op.Droplet}
	}
	c := LeaseCall{Droplet: op.Droplet, Names: map[string]string{"#o": "owner", "#e": "epoch", "#x": "expiry"},
		Strings: map[string]string{":me": op.Owner},
		Numbers: map[string]int64{":e": op.Epoch, ":x": op.Expiry.UnixMilli()}}
	switch op.Kind {
	case OpRenew:
		c.Update = "SET #o = :me, #e = :e, #x = :x"
		c.Condition = "attribute_not_exists(droplet) OR (#o = :me AND #e = :e)"
	default: // OpWrite
		c.Update = "SET #o = :me, #e = :ne, #x = :x"
		c.Numbers[":ne"] = op.NewEpoch
		c.Condition = "#e = :e"
		if op.Epoch == 0 {
			c.Condition = "attribute_not_exists(droplet) OR #e = :e"
		}
	}
	return c
}

// ReadResult is the Result of an OpRead's GetItem that succeeded: found
// reports an item, epoch its epoch attribute's number text ("" if none).
func ReadResult(found bool, epoch string) Result {
	res := Result{Outcome: OK, Exists: found}
	if epoch != "" {
		res.Epoch, _ = strconv.ParseInt(epoch, 10, 64)
	}
	return res
}
