package dwfm

import "github.com/cascade-lab/cascade/mocks/dwfm/dwfmclient"

// The allocation API's client and wire types live in package dwfmclient
// (EC2 imports that alone); these names keep dwfm's own code and tests short.
type (
	// Client calls a DWFM host's allocation API.
	Client = dwfmclient.Client
	// AllocateRequest is the body of POST /v1/allocate.
	AllocateRequest = dwfmclient.AllocateRequest
	// AllocateResponse is a successful allocation.
	AllocateResponse = dwfmclient.AllocateResponse
	// Capacity is the body of GET /v1/capacity.
	Capacity = dwfmclient.Capacity
)

// ErrNoCapacity is returned by Allocate when no droplet holds a valid lease.
var ErrNoCapacity = dwfmclient.ErrNoCapacity
