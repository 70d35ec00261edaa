package ec2

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
)

// APIError is an EC2 error: a code from EC2's catalogue and a message. The
// transport writes it as EC2's error document with Status().
type APIError struct {
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// EC2 error codes the mock returns.
const (
	CodeInsufficientCapacity   = "InsufficientInstanceCapacity"
	CodeRequestLimitExceeded   = "RequestLimitExceeded"
	CodeInvalidAction          = "InvalidAction"
	CodeMissingAction          = "MissingAction"
	CodeInvalidParameterValue  = "InvalidParameterValue"
	CodeInvalidParameterCombo  = "InvalidParameterCombination"
	CodeMissingParameter       = "MissingParameter"
	CodeInstanceNotFound       = "InvalidInstanceID.NotFound"
	CodeInstanceMalformed      = "InvalidInstanceID.Malformed"
	CodeInvalidPaginationToken = "InvalidPaginationToken"
	CodeInternalError          = "InternalError"
	CodeAuthFailure            = "AuthFailure"
	CodeDryRunOperation        = "DryRunOperation"
)

func apiErr(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Status is the HTTP status EC2 answers the error with.
func (e *APIError) Status() int {
	switch e.Code {
	case CodeRequestLimitExceeded:
		return http.StatusServiceUnavailable
	case CodeInsufficientCapacity, CodeInternalError:
		return http.StatusInternalServerError
	case CodeAuthFailure:
		return http.StatusUnauthorized
	case CodeDryRunOperation:
		return http.StatusPreconditionFailed
	}
	return http.StatusBadRequest
}

// LaunchOutcome maps the result of an SDK RunInstances call to the outcome
// code probes record: "ok", the EC2 error code (InsufficientInstanceCapacity,
// RequestLimitExceeded, ...), "canceled" or "transport" for errors that never
// reached the API.
func LaunchOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	var ce *smithy.CanceledError
	if errors.As(err, &ce) {
		return "canceled"
	}
	return "transport"
}
