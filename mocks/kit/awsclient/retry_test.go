package awsclient

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"
)

// A call that lost its connection is made again, up to the SDK's three
// attempts; a DNS failure or any other error is returned at once.
func TestRetryLostConnection(t *testing.T) {
	reset := fmt.Errorf("read: %w", syscall.ECONNRESET)
	for _, c := range []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   bool
	}{
		{"reset twice, then answered", []error{reset, reset, nil}, 3, false},
		{"reset every time", []error{reset, reset, reset, nil}, 3, true},
		{"no such host", []error{&net.DNSError{Err: "no such host", IsNotFound: true}, nil}, 1, true},
		{"answered", []error{nil}, 1, false},
	} {
		calls := 0
		err := RetryLostConnection(context.Background(), func() error { calls++; return c.errs[calls-1] })
		if calls != c.wantCalls || (err != nil) != c.wantErr {
			t.Errorf("%s: %d calls, err %v; want %d calls, error %v", c.name, calls, err, c.wantCalls, c.wantErr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_ = RetryLostConnection(ctx, func() error { calls++; return reset })
	if calls != 1 {
		t.Errorf("cancelled context: %d calls, want 1", calls)
	}
}
