package kit

import "time"

// Owed is work a core owes a peer (items of work to post to Network
// Manager, say) and the peer's admission decides how much of it is taken:
//
//	Add(n) ──> owed ──Take(now)──> in flight ──Done(now, admitted)──> posted
//	             ^                                  │ refused remainder
//	             └──────── after backoff ───────────┘
//
// At most one post is in flight. A remainder the peer refused (or a post
// that never arrived) is owed again and may be taken only after a backoff
// that doubles from Base up to Max while posts keep falling short; a post
// taken in full resets it. Time comes in as arguments: Owed reads no clock.
// The zero value is usable (Base and Max then default to one minute and 16
// times Base). Not safe for concurrent use.
type Owed struct {
	// Base is the first backoff after a refusal; Max caps the doubling.
	Base, Max time.Duration

	owed, inFlight  int
	posted, refused uint64
	backoff         time.Duration
	notBefore       time.Time
}

// Add owes n more items (n <= 0 changes nothing).
func (o *Owed) Add(n int) {
	if n > 0 {
		o.owed += n
	}
}

// Take returns the items to post now (0: none) and counts them in flight
// until Done: nothing while a post is in flight or a backoff runs.
func (o *Owed) Take(now time.Time) int {
	if o.inFlight > 0 || o.owed == 0 || now.Before(o.notBefore) {
		return 0
	}
	o.inFlight, o.owed = o.owed, 0
	return o.inFlight
}

// Done takes how many of the items in flight the peer admitted; the rest is
// owed again after the backoff. A result with nothing in flight (a post from
// before Forget) changes nothing.
func (o *Owed) Done(now time.Time, admitted int) {
	if o.inFlight == 0 {
		return
	}
	admitted = max(0, min(admitted, o.inFlight))
	rest := o.inFlight - admitted
	o.inFlight = 0
	o.posted += uint64(admitted)
	if rest == 0 {
		o.backoff, o.notBefore = 0, time.Time{}
		return
	}
	o.refused += uint64(rest)
	o.owed += rest
	base := o.Base
	if base <= 0 {
		base = time.Minute
	}
	limit := o.Max
	if limit < base {
		limit = 16 * base
	}
	o.backoff = min(max(2*o.backoff, base), limit)
	o.notBefore = now.Add(o.backoff)
}

// Forget drops everything owed and in flight and the backoff (a process
// restart: the new process does not know what the old one owed), keeping the
// counters. It returns how many items were owed and not in flight.
func (o *Owed) Forget() int {
	n := o.owed
	o.owed, o.inFlight, o.backoff, o.notBefore = 0, 0, 0, time.Time{}
	return n
}

// Owed is how many items are owed, in flight included.
func (o *Owed) Owed() int { return o.owed + o.inFlight }

// Posted is how many items the peer admitted in all.
func (o *Owed) Posted() uint64 { return o.posted }

// Refused is how many items the peer refused in all (each owed again).
func (o *Owed) Refused() uint64 { return o.refused }
