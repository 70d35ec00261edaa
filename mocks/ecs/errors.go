package ecs

import (
	"errors"
	"fmt"
	"net/http"
)

// APIError is an ECS error: an exception name (the JSON __type) and a message.
type APIError struct {
	Type    string
	Message string
}

func (e *APIError) Error() string { return e.Type + ": " + e.Message }

// ECS exception names the mock returns.
const (
	TypeClusterNotFound  = "ClusterNotFoundException"
	TypeServiceNotFound  = "ServiceNotFoundException"
	TypeInvalidParameter = "InvalidParameterException"
	TypeClient           = "ClientException"
	TypeServer           = "ServerException"
	TypeUnknownOperation = "UnknownOperationException"
	TypeSerialization    = "SerializationException"
)

func apiErr(typ, format string, args ...any) *APIError {
	return &APIError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// Status is the HTTP status ECS answers the error with.
func (e *APIError) Status() int {
	if e.Type == TypeServer {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// toAPIError maps a core error to the wire, in one place.
func toAPIError(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrClusterNotFound):
		return apiErr(TypeClusterNotFound, "Cluster not found.")
	case errors.Is(err, ErrServiceNotFound):
		return apiErr(TypeServiceNotFound, "Service not found.")
	case errors.Is(err, ErrServiceExists):
		return apiErr(TypeInvalidParameter, "Creation of service was not idempotent.")
	case errors.Is(err, ErrInvalid):
		return apiErr(TypeInvalidParameter, "%v", err)
	}
	return apiErr(TypeServer, "Service encountered an internal error.")
}
