package expr

// ValidationError is a client error that DynamoDB reports as
// com.amazonaws.dynamodb.v20120810#ValidationException. Message is the exact
// text the service would return so callers can forward it unchanged.
type ValidationError struct {
	Message string
}

// Error returns the DynamoDB message.
func (e *ValidationError) Error() string { return e.Message }

// validation builds a *ValidationError; it keeps call sites as short as the
// messages they produce.
func validation(msg string) *ValidationError { return &ValidationError{Message: msg} }
