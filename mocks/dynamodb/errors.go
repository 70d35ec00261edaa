package dynamodb

import (
	"errors"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// ErrorCode is the name of a DynamoDB error, the part of the wire `__type`
// after the '#'. The transport maps each code to its namespace and HTTP
// status in one place (api.go).
type ErrorCode string

// The errors the mock returns.
const (
	CodeValidation                    ErrorCode = "ValidationException"
	CodeConditionalCheckFailed        ErrorCode = "ConditionalCheckFailedException"
	CodeResourceNotFound              ErrorCode = "ResourceNotFoundException"
	CodeResourceInUse                 ErrorCode = "ResourceInUseException"
	CodeTransactionCanceled           ErrorCode = "TransactionCanceledException"
	CodeTransactionConflict           ErrorCode = "TransactionConflictException"
	CodeIdempotentParameterMismatch   ErrorCode = "IdempotentParameterMismatchException"
	CodeProvisionedThroughputExceeded ErrorCode = "ProvisionedThroughputExceededException"
	CodeThrottling                    ErrorCode = "ThrottlingException"
	CodeRequestLimitExceeded          ErrorCode = "RequestLimitExceeded"
	CodeInternalServerError           ErrorCode = "InternalServerError"
	CodeServiceUnavailable            ErrorCode = "ServiceUnavailable"
	CodeSerialization                 ErrorCode = "SerializationException"
	CodeUnknownOperation              ErrorCode = "UnknownOperationException"
	CodeMissingAuthenticationToken    ErrorCode = "MissingAuthenticationTokenException"
	CodeRequestEntityTooLarge         ErrorCode = "RequestEntityTooLarge"
	CodeLimitExceeded                 ErrorCode = "LimitExceededException"
)

// Messages DynamoDB uses for the common errors.
const (
	MsgResourceNotFound      = "Requested resource not found"
	MsgConditionalCheck      = "The conditional request failed"
	MsgKeySchemaMismatch     = "The provided key element does not match the schema"
	MsgItemTooLarge          = "Item size has exceeded the maximum allowed size"
	MsgUpdateItemTooLarge    = "Item size to update has exceeded the maximum allowed size"
	MsgThrottling            = "Rate of requests exceeds the allowed throughput."
	MsgProvisionedThroughput = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
	MsgInternalServerError   = "Internal server error"
	MsgMissingAuth           = "Request is missing Authentication Token"
	MsgDuplicateKeys         = "Provided list of item keys contains duplicates"
)

// Error is a DynamoDB error as a value: the core returns it and the
// transport writes it. Item is set on a ConditionalCheckFailedException when
// the request asked for ReturnValuesOnConditionCheckFailure=ALL_OLD;
// CancellationReasons on a TransactionCanceledException.
type Error struct {
	Code                ErrorCode
	Message             string
	Item                expr.Item
	CancellationReasons []CancellationReason
}

// Error returns "Code: Message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// CancellationReason is one entry of a TransactionCanceledException's
// CancellationReasons, in the order of the request's items; Code "None"
// marks an item that did not cause the cancellation.
type CancellationReason struct {
	Code    string    `json:"Code"`
	Message string    `json:"Message,omitempty"`
	Item    expr.Item `json:"Item,omitempty"`
}

func newError(code ErrorCode, msg string) *Error { return &Error{Code: code, Message: msg} }

func validationErr(msg string) *Error { return newError(CodeValidation, msg) }

func notFound() *Error { return newError(CodeResourceNotFound, MsgResourceNotFound) }

// asError converts any error of the core (including the expression
// package's *expr.ValidationError) into an *Error.
func asError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ve *expr.ValidationError
	if errors.As(err, &ve) {
		return validationErr(ve.Message)
	}
	return newError(CodeInternalServerError, err.Error())
}
