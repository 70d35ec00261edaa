package sts

import (
	"errors"
	"fmt"
	"net/http"
)

// APIError is an STS error: a code from STS's catalogue and a message,
// written as STS's ErrorResponse document.
type APIError struct {
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// STS error codes the mock returns.
const (
	CodeMissingAction        = "MissingAction"
	CodeInvalidAction        = "InvalidAction"
	CodeMalformed            = "MalformedQueryString"
	CodeMissingAuth          = "MissingAuthenticationToken"
	CodeInvalidClientTokenID = "InvalidClientTokenId"
	CodeExpiredToken         = "ExpiredToken"
	CodeValidation           = "ValidationError"
	CodeAccessDenied         = "AccessDenied"
	CodeThrottling           = "Throttling"
	CodeServiceUnavailable   = "ServiceUnavailable"
	CodeInternalFailure      = "InternalFailure"
)

func apiErr(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Status is the HTTP status STS answers the error with.
func (e *APIError) Status() int {
	switch e.Code {
	case CodeMissingAuth, CodeInvalidClientTokenID, CodeExpiredToken, CodeAccessDenied:
		return http.StatusForbidden
	case CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	case CodeInternalFailure:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// Type is the ErrorResponse's Type: Receiver for the service's own failures.
func (e *APIError) Type() string {
	if e.Status() >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// toAPIError maps a core error to the wire, in one place.
func toAPIError(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrThrottled):
		return apiErr(CodeThrottling, "Rate exceeded")
	case errors.Is(err, ErrNoCapacity):
		return apiErr(CodeServiceUnavailable, "Service is unable to handle request.")
	case errors.Is(err, ErrInvalid):
		return apiErr(CodeValidation, "%v", err)
	case errors.Is(err, ErrNotFound):
		return apiErr(CodeAccessDenied, "%v", err)
	}
	// ErrStoreUnavailable and anything unforeseen: STS's own failure.
	return apiErr(CodeInternalFailure, "An internal error occurred. Try again.")
}

// Code is the STS error code a core error is answered with (the simulation
// backend reports the same codes as the transport).
func Code(err error) string { return toAPIError(err).Code }
