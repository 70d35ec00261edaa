package kit

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// One post is in flight at a time; a refused remainder is owed again and
// waits a backoff that doubles from Base up to Max; a full admission resets
// the backoff.
func TestOwedBacksOffWhileRefusedAndResetsOnFullAdmission(t *testing.T) {
	clock := clockwork.NewFakeClockAt(IncidentStart)
	o := Owed{Base: time.Minute, Max: 4 * time.Minute}
	if n := o.Take(clock.Now()); n != 0 {
		t.Fatalf("nothing owed: took %d", n)
	}
	o.Add(120)
	if n := o.Take(clock.Now()); n != 120 {
		t.Fatalf("took %d; want 120", n)
	}
	o.Add(5)
	if n := o.Take(clock.Now()); n != 0 {
		t.Fatalf("took %d while a post is in flight; want 0", n)
	}
	o.Done(clock.Now(), 100) // the peer admitted 100 of 120
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
		clock.Advance(wait - time.Second)
		if n := o.Take(clock.Now()); n != 0 {
			t.Fatalf("retry %d: took %d before its backoff of %v ended", i, n, wait)
		}
		clock.Advance(time.Second)
		if n := o.Take(clock.Now()); n != 25 {
			t.Fatalf("retry %d: took %d; want the 20 refused and the 5 added", i, n)
		}
		o.Done(clock.Now(), 0)
	}
	clock.Advance(4 * time.Minute)
	if n := o.Take(clock.Now()); n != 25 {
		t.Fatalf("took %d; want 25", n)
	}
	o.Done(clock.Now(), 25)
	if o.Owed() != 0 || o.Posted() != 125 || o.Refused() != 20+4*25 {
		t.Fatalf("owed %d posted %d refused %d; want 0, 125, 120", o.Owed(), o.Posted(), o.Refused())
	}
	o.Add(1)
	if n := o.Take(clock.Now()); n != 1 {
		t.Fatalf("after a full admission the next post goes at once: took %d", n)
	}
}

// Forget drops what is owed and in flight; a result that arrives after it
// changes nothing, and the counters survive.
func TestOwedForget(t *testing.T) {
	clock := clockwork.NewFakeClockAt(IncidentStart)
	var o Owed // zero value: one-minute base
	o.Add(10)
	o.Take(clock.Now())
	o.Done(clock.Now(), 4)
	o.Add(3)
	if n := o.Forget(); n != 9 {
		t.Fatalf("forgot %d; want the 6 refused and the 3 added", n)
	}
	o.Done(clock.Now(), 7) // a post from before the restart
	if o.Owed() != 0 || o.Posted() != 4 || o.Refused() != 6 {
		t.Fatalf("owed %d posted %d refused %d; want 0, 4, 6", o.Owed(), o.Posted(), o.Refused())
	}
	o.Add(2)
	if n := o.Take(clock.Now()); n != 2 {
		t.Fatalf("Forget cleared the backoff: took %d; want 2", n)
	}
}

// The zero value's backoff starts at a minute and stops doubling at 16.
func TestOwedDefaultBackoff(t *testing.T) {
	clock := clockwork.NewFakeClockAt(IncidentStart)
	var o Owed
	o.Add(1)
	want := []time.Duration{1, 2, 4, 8, 16, 16}
	for i, w := range want {
		if n := o.Take(clock.Now()); n != 1 {
			t.Fatalf("round %d: took %d", i, n)
		}
		o.Done(clock.Now(), 0)
		clock.Advance(w*time.Minute - time.Second)
		if o.Take(clock.Now()) != 0 {
			t.Fatalf("round %d: taken before %v", i, w*time.Minute)
		}
		clock.Advance(time.Second)
	}
}
