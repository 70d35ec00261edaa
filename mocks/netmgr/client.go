package netmgr

import (
	"net/http"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr/netmgrclient"
)

// The API's client and wire types live in package netmgrclient (EC2 and
// DWFM import that alone); these names keep netmgr's own code and its
// callers' code short. The wire errors compare with netmgrclient's
// sentinels (netmgrclient.ErrThrottled), the core's with this package's.
type (
	// Client talks to a Network Manager API.
	Client = netmgrclient.Client
	// APIError is the error shape of every netmgr API answer.
	APIError = netmgrclient.APIError
	// RegisterRequest is the body of POST /v1/instances.
	RegisterRequest = netmgrclient.RegisterRequest
	// WorkRequest is the body of POST /v1/work.
	WorkRequest = netmgrclient.WorkRequest
	// WorkResponse answers POST /v1/work (also inside a 429's body).
	WorkResponse = netmgrclient.WorkResponse
)

// NewClient returns a client for baseURL (see netmgrclient.NewClient).
func NewClient(baseURL string, clock kit.Clock, hc *http.Client) *Client {
	return netmgrclient.NewClient(baseURL, clock, hc)
}
