package faults

import (
	"context"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/kit/admin"
)

// adminOf is the admin client of a service instance of the stack.
func adminOf(s harness.Stack, instance string) (*admin.Client, error) {
	base, err := s.Endpoints().AdminURL(instance)
	if err != nil {
		return nil, err
	}
	return admin.New(base, admin.WithName(instance)), nil
}

// adminDo calls an admin API of a service instance (body: nil, a string
// sent as is, or JSON) and returns the answer's body; a non-2xx status is an
// *admin.Error carrying the service's message.
func adminDo(ctx context.Context, s harness.Stack, instance, method, path string, body any) ([]byte, error) {
	c, err := adminOf(s, instance)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = c.Do(ctx, method, path, body, &out)
	return out, err
}

// instancesOf lists the stack's instances of a service kind, sorted.
func instancesOf(s harness.Stack, kind string) []string {
	var out []string
	for _, n := range s.Endpoints().Instances() {
		if harness.KindOf(n) == kind {
			out = append(out, n)
		}
	}
	return out
}
