package sqs

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func newTestCore(t *testing.T) (*Core, *clockwork.FakeClock, string) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, err := NewCore(CoreConfig{}, clock, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.CreateQueue("orders", map[string]string{"VisibilityTimeout": "60"})
	if err != nil {
		t.Fatal(err)
	}
	return c, clock, url
}

func intp(i int) *int { return &i }

// A received message is hidden for the visibility timeout and comes back
// when it passes unless deleted; a delete with the latest handle removes it.
func TestVisibilityTimeoutRequeues(t *testing.T) {
	c, clock, url := newTestCore(t)
	if _, err := c.SendMessage(url, "a", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.Receive(ReceiveRequest{QueueURL: url, Max: 10})
	if err != nil || len(got) != 1 || got[0].Body != "a" || got[0].MD5OfBody != MD5Hex("a") {
		t.Fatalf("first receive: %v %v", got, err)
	}
	if again, _ := c.Receive(ReceiveRequest{QueueURL: url, Max: 10}); len(again) != 0 {
		t.Fatalf("in-flight message received again before its timeout: %v", again)
	}
	if next := c.Next(url); !next.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("Next = %v, want visibility expiry %v", next, clock.Now().Add(time.Minute))
	}
	clock.Advance(59 * time.Second)
	if again, _ := c.Receive(ReceiveRequest{QueueURL: url, Max: 10}); len(again) != 0 {
		t.Fatal("message visible before its 60 s timeout")
	}
	clock.Advance(time.Second)
	again, _ := c.Receive(ReceiveRequest{QueueURL: url, Max: 10, AttributeNames: []string{"All"}})
	if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the timeout: %v", again)
	}
	if err := c.DeleteMessage(url, got[0].ReceiptHandle); err != nil {
		t.Fatalf("stale handle: %v", err)
	}
	if st := c.Stats(); st[0].InFlight != 1 {
		t.Fatalf("a superseded handle deleted the message: %+v", st)
	}
	if err := c.DeleteMessage(url, again[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if st := c.Stats(); st[0] != (QueueStats{Name: "orders"}) {
		t.Fatalf("after delete: %+v", st)
	}
}

func TestReceiveLimitsAndOrder(t *testing.T) {
	c, clock, url := newTestCore(t)
	for _, b := range []string{"1", "2", "3"} {
		if _, err := c.SendMessage(url, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SendMessage(url, "late", intp(30)); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Receive(ReceiveRequest{QueueURL: url, Max: 2, Visibility: intp(0)})
	if len(got) != 2 || got[0].Body != "1" || got[1].Body != "2" {
		t.Fatalf("max 2: %v", got)
	}
	attrs, err := c.Attributes(url, []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"})
	if err != nil || attrs["ApproximateNumberOfMessages"] != "3" || attrs["ApproximateNumberOfMessagesDelayed"] != "1" {
		t.Fatalf("attributes: %v %v", attrs, err)
	}
	clock.Advance(30 * time.Second)
	got, _ = c.Receive(ReceiveRequest{QueueURL: url, Max: 10})
	if len(got) != 4 {
		t.Fatalf("after the delay: %d messages", len(got))
	}
}

func TestCoreErrors(t *testing.T) {
	c, _, url := newTestCore(t)
	for name, tc := range map[string]struct {
		err  error
		want error
	}{
		"missing queue":          {err2(c.SendMessage(url+"x", "b", nil)), ErrQueueDoesNotExist},
		"empty body":             {err2(c.SendMessage(url, "", nil)), ErrMissingParameter},
		"bad characters":         {err2(c.SendMessage(url, "a\x00b", nil)), ErrInvalidMessageContents},
		"delay":                  {err2(c.SendMessage(url, "b", intp(901))), ErrInvalidParameterValue},
		"max 11":                 {err2(c.Receive(ReceiveRequest{QueueURL: url, Max: 11})), ErrInvalidParameterValue},
		"bad handle":             {c.DeleteMessage(url, "nope"), ErrReceiptHandleIsInvalid},
		"attribute name":         {err2(c.Attributes(url, []string{"Colour"})), ErrInvalidAttributeName},
		"create attribute":       {err2(c.CreateQueue("q2", map[string]string{"Colour": "red"})), ErrInvalidAttributeName},
		"create value":           {err2(c.CreateQueue("q2", map[string]string{"VisibilityTimeout": "-1"})), ErrInvalidAttributeValue},
		"name in use, differing": {err2(c.CreateQueue("orders", nil)), ErrQueueNameExists},
		"bad name":               {err2(c.CreateQueue("a b", nil)), ErrInvalidParameterValue},
		"fifo":                   {err2(c.CreateQueue("a.fifo", nil)), ErrUnsupportedOperation},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, tc.err, tc.want)
		}
	}
	if again, err := c.CreateQueue("orders", map[string]string{"VisibilityTimeout": "60"}); err != nil || again != url {
		t.Errorf("create with the same attributes: %q %v, want %q", again, err, url)
	}
}

func err2[T any](_ T, err error) error { return err }
