package cascadetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cascade-lab/cascade/harness"
)

func TestWithAttachRefusesBadAttachmentsBeforeStarting(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, WithBackend("containers"), WithAttach("team/orders:local", AttachName("dwfm-a"))); !errors.Is(err, harness.ErrBadAttach) || !strings.Contains(err.Error(), "is taken") {
		t.Errorf("an attachment named after a mock: %v", err)
	}
	if _, err := Start(ctx, WithBackend("containers"), WithAttach("team/orders:local", AttachPort(70000))); !errors.Is(err, harness.ErrBadAttach) {
		t.Errorf("port 70000: %v", err)
	}
	if _, err := Start(ctx, WithBackend("containers"), WithAttach("a/orders:1"), WithAttach("b/orders:2")); !errors.Is(err, harness.ErrBadAttach) {
		t.Errorf("two attachments named orders: %v", err)
	}
	// The embedded backend runs no containers: it says what to do instead.
	if _, err := Start(ctx, WithBackend("embedded"), WithAttach("team/orders:local", AttachEnv("TABLE", "orders"))); !errors.Is(err, harness.ErrBadAttach) || !strings.Contains(err.Error(), "containers or compose") {
		t.Errorf("attaching to embedded: %v", err)
	}
}
