package lambda

import "errors"

// LeaseCall is the DynamoDB UpdateItem that performs one poller Op on the
// lease table (key "mapping"). It is the one mapping of the pollers'
// operations onto DynamoDB: the server sends it through the SDK, the
// simulation backend hands it to DynamoDB's core, so both run the same
// conditions (acquire takes an unowned record or the caller's own, and,
// with ExpiryCheck, one whose expiry has passed).
type LeaseCall struct {
	Mapping   string
	Update    string
	Condition string // empty: unconditional
	Names     map[string]string
	// Strings and Numbers are the expression attribute values (S and N).
	Strings map[string]string
	Numbers map[string]int64
}

// LeaseRequest maps a lease Op (acquire, renew, release) to its UpdateItem;
// false for OpPoll, which is not a DynamoDB call.
func LeaseRequest(op Op) (LeaseCall, bool) {
	c := LeaseCall{Mapping: op.Mapping, Names: map[string]string{"#o": "owner", "#e": "expires"},
		Strings: map[string]string{}, Numbers: map[string]int64{}}
	switch op.Kind {
	case OpAcquire:
		c.Update, c.Condition = "SET #o = :me, #e = :exp", "attribute_not_exists(#o) OR #o = :me"
		c.Strings[":me"], c.Numbers[":exp"] = op.Worker, op.Expires.UnixMilli()
		if op.ExpiryCheck {
			c.Condition += " OR #e < :now"
			c.Numbers[":now"] = op.Now.UnixMilli()
		}
	case OpRenew:
		c.Update, c.Condition = "SET #e = :exp, #c = :cp", "#o = :me"
		c.Names["#c"] = "checkpoint"
		c.Strings[":me"], c.Numbers[":exp"], c.Numbers[":cp"] = op.Worker, op.Expires.UnixMilli(), op.Checkpoint
	case OpRelease:
		c.Update, c.Names = "REMOVE #o", map[string]string{"#o": "owner"}
	default:
		return LeaseCall{}, false
	}
	return c, true
}

// Conditions of the metadata store's PutItem (the name attribute is "#n").
const (
	// CreateCondition: CreateFunction writes only a free name.
	CreateCondition = "attribute_not_exists(#n)"
	// UpdateCondition: UpdateFunctionConfiguration writes only an existing one.
	UpdateCondition = "attribute_exists(#n)"
)

// ErrorType is the x-amzn-ErrorType Lambda answers err with (the transport's
// one mapping; the simulation backend reports the same codes).
func ErrorType(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "ResourceNotFoundException"
	case errors.Is(err, ErrConflict):
		return "ResourceConflictException"
	case errors.Is(err, ErrInvalidParameter):
		return "InvalidParameterValueException"
	case errors.Is(err, ErrInvalidContent):
		return "InvalidRequestContentException"
	case errors.Is(err, ErrThrottled):
		return "TooManyRequestsException"
	case errors.Is(err, errNoRoute):
		return "UnknownOperationException"
	case errors.Is(err, errMissingAuth):
		return "MissingAuthenticationTokenException"
	}
	return "ServiceException"
}
