package sts

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Errors the core returns; the transport maps them to STS error codes in one
// place (errorOf in server.go).
var (
	// ErrThrottled: the fleet's healthy capacity is used up this second.
	ErrThrottled = errors.New("rate exceeded")
	// ErrNoCapacity: no healthy STS host is left behind the load balancer.
	ErrNoCapacity = errors.New("no healthy capacity")
	// ErrStoreUnavailable: the role/key store (DynamoDB) could not be read
	// and no usable cached record exists.
	ErrStoreUnavailable = errors.New("credential store unavailable")
	// ErrNotFound: the store has no such role or access key.
	ErrNotFound = errors.New("no such principal")
	// ErrInvalid: malformed input.
	ErrInvalid = errors.New("invalid request")
)

// Capacity is the healthy capacity of STS's own fleet. The wiring points it
// at the NLB in front of the fleet (its healthy-target state); until then a
// StaticCapacity stands in.
type Capacity interface {
	// Healthy returns how many of the fleet's hosts the load balancer
	// currently routes to, and how many there are.
	Healthy() (healthy, total int)
}

// StaticCapacity is a fleet whose hosts are all healthy.
type StaticCapacity int

// Healthy implements Capacity.
func (s StaticCapacity) Healthy() (int, int) { return int(s), int(s) }

// Record is what the store holds about a role or a long-term access key.
type Record struct {
	// Key is the role ARN or the access key id.
	Key string
	// Account owns the principal.
	Account string
	// ID is the role id (AROA...) or user id (AIDA...).
	ID string
	// ARN is the principal's ARN (the role's, or the user's).
	ARN string
}

// CoreConfig parameterises STS's two mechanisms.
type CoreConfig struct {
	// Mode: as-was a record is served only while fresh; fixed a cached
	// record keeps being served while the store is unreadable, up to MaxStale.
	Mode kit.Mode
	// Capacity is the fleet's healthy-host source (default StaticCapacity(Hosts)).
	Capacity Capacity
	// Hosts is the default fleet size when Capacity is nil.
	Hosts int
	// PerHostPerSecond is the requests one healthy host serves per incident
	// second. Admission counts requests per AdmitWindow: beyond
	// round(healthy * PerHostPerSecond * AdmitWindow seconds) in one window
	// they are throttled.
	PerHostPerSecond float64
	// AdmitWindow is the window admission counts requests in (default 1 s).
	// A longer window with a lower rate is the same fleet rescaled: the
	// replay uses a minute, so a load of a few requests per incident minute
	// stays within what real sockets carry at replay speed.
	AdmitWindow time.Duration
	// FreshTTL is how long a record read from the store is used without
	// reading it again (both modes).
	FreshTTL time.Duration
	// MaxStale bounds how old a cached record fixed mode still serves while
	// the store is unreadable (the hard TTL).
	MaxStale time.Duration
}

func (c *CoreConfig) validate() error {
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.Hosts == 0 {
		c.Hosts = 6
	}
	if c.Hosts < 0 {
		return fmt.Errorf("hosts %d: must be positive", c.Hosts)
	}
	if c.Capacity == nil {
		c.Capacity = StaticCapacity(c.Hosts)
	}
	if c.PerHostPerSecond == 0 {
		c.PerHostPerSecond = 50
	}
	if c.AdmitWindow == 0 {
		c.AdmitWindow = time.Second
	}
	if c.FreshTTL == 0 {
		c.FreshTTL = time.Minute
	}
	if c.MaxStale == 0 {
		c.MaxStale = 4 * time.Hour
	}
	if c.PerHostPerSecond < 0 || c.PerHostPerSecond != c.PerHostPerSecond || c.AdmitWindow < 0 || c.FreshTTL < 0 || c.MaxStale < 0 {
		return fmt.Errorf("per-host rate %g, admit window %v, fresh TTL %v, max stale %v: must be positive", c.PerHostPerSecond, c.AdmitWindow, c.FreshTTL, c.MaxStale)
	}
	return nil
}

// Credentials are temporary credentials STS issues.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// Session is an issued credential set and whom it stands for.
type Session struct {
	Credentials
	Account string
	// UserID is what GetCallerIdentity returns as UserId.
	UserID string
	// ARN is the assumed-role (or federated/user) ARN.
	ARN string
}

type cached struct {
	rec  Record
	read time.Time
}

// Core is STS's mechanism: fleet admission by healthy capacity, the record
// cache in front of the store, and credential issue. It is not safe for
// concurrent use: the transport serialises calls. Time comes from the clock,
// randomness from rng.
type Core struct {
	cfg   CoreConfig
	clock kit.Clock
	rng   *rand.Rand

	window time.Time
	used   int

	cache    map[string]cached
	sessions map[string]Session
}

// NewCore validates cfg and returns a core.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sts core: %w", err)
	}
	if clock == nil || rng == nil {
		panic("sts: NewCore needs a clock and a rand")
	}
	return &Core{cfg: cfg, clock: clock, rng: rng, cache: map[string]cached{}, sessions: map[string]Session{}}, nil
}

// Config is the validated configuration.
func (c *Core) Config() CoreConfig { return c.cfg }

// SetCapacity points the core at a new healthy-capacity source.
func (c *Core) SetCapacity(cap Capacity) { c.cfg.Capacity = cap }

// Admit decides whether the fleet has capacity for one more request now:
// each healthy host serves PerHostPerSecond requests per incident second,
// counted per AdmitWindow.
func (c *Core) Admit() error {
	healthy, _ := c.cfg.Capacity.Healthy()
	if healthy <= 0 {
		return ErrNoCapacity
	}
	win := c.clock.Now().Truncate(c.cfg.AdmitWindow)
	if !win.Equal(c.window) {
		c.window, c.used = win, 0
	}
	if c.used >= c.WindowCapacity(healthy) {
		return ErrThrottled
	}
	c.used++
	return nil
}

// WindowCapacity is the requests healthy hosts admit in one AdmitWindow,
// rounded to whole requests.
func (c *Core) WindowCapacity(healthy int) int {
	return int(math.Round(float64(healthy) * c.cfg.PerHostPerSecond * c.cfg.AdmitWindow.Seconds()))
}

// Cached returns the record for key if it was read from the store within
// FreshTTL; otherwise the transport must read the store and report with Read.
func (c *Core) Cached(key string) (Record, bool) {
	e, ok := c.cache[key]
	if !ok || c.clock.Since(e.read) >= c.cfg.FreshTTL {
		return Record{}, false
	}
	return e.rec, true
}

// Read reports the outcome of a store read for key: the record (found), or
// found=false, or the read's error. It returns the record to use. A store
// error fails the call as-was; fixed serves the cached record while it is
// younger than MaxStale (the soft/hard TTL of the Builders' Library).
func (c *Core) Read(key string, rec Record, found bool, err error) (Record, error) {
	now := c.clock.Now()
	switch {
	case err == nil && found:
		c.cache[key] = cached{rec: rec, read: now}
		return rec, nil
	case err == nil:
		delete(c.cache, key)
		return Record{}, ErrNotFound
	}
	if e, ok := c.cache[key]; ok && c.cfg.Mode.IsFixed() && now.Sub(e.read) < c.cfg.MaxStale {
		return e.rec, nil
	}
	return Record{}, fmt.Errorf("%w: %v", ErrStoreUnavailable, err)
}

// Duration limits of the STS API.
const (
	MinDuration             = 900 * time.Second
	MaxAssumeRoleDuration   = 12 * time.Hour
	MaxSessionTokenDuration = 36 * time.Hour
)

// AssumeRole issues credentials for role (read through Cached/Read) under
// sessionName, valid for d (0: one hour).
func (c *Core) AssumeRole(role Record, sessionName string, d time.Duration) (Session, error) {
	if d == 0 {
		d = time.Hour
	}
	if d < MinDuration || d > MaxAssumeRoleDuration {
		return Session{}, fmt.Errorf("%w: DurationSeconds %d out of range [900, 43200]", ErrInvalid, int(d/time.Second))
	}
	if err := validSessionName(sessionName); err != nil {
		return Session{}, err
	}
	name := role.ARN[strings.LastIndex(role.ARN, "/")+1:]
	s := Session{Credentials: c.issue(d), Account: role.Account, UserID: role.ID + ":" + sessionName,
		ARN: "arn:aws:sts::" + role.Account + ":assumed-role/" + name + "/" + sessionName}
	c.sessions[s.AccessKeyID] = s
	return s, nil
}

// GetSessionToken issues credentials standing for the user of key, valid for d
// (0: twelve hours).
func (c *Core) GetSessionToken(user Record, d time.Duration) (Session, error) {
	if d == 0 {
		d = 12 * time.Hour
	}
	if d < MinDuration || d > MaxSessionTokenDuration {
		return Session{}, fmt.Errorf("%w: DurationSeconds %d out of range [900, 129600]", ErrInvalid, int(d/time.Second))
	}
	s := Session{Credentials: c.issue(d), Account: user.Account, UserID: user.ID, ARN: user.ARN}
	c.sessions[s.AccessKeyID] = s
	return s, nil
}

// Session returns an issued, unexpired session by its access key id; the
// transport answers GetCallerIdentity for temporary credentials with it.
func (c *Core) Session(accessKeyID string) (Session, bool) {
	s, ok := c.sessions[accessKeyID]
	if ok && !c.clock.Now().Before(s.Expiration) {
		delete(c.sessions, accessKeyID)
		return Session{}, false
	}
	return s, ok
}

func validSessionName(n string) error {
	if len(n) < 2 || len(n) > 64 {
		return fmt.Errorf("%w: RoleSessionName must be 2 to 64 characters", ErrInvalid)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@-_", r)) {
			return fmt.Errorf("%w: RoleSessionName %q must match [\\w+=,.@-]*", ErrInvalid, n)
		}
	}
	return nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func (c *Core) random(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[c.rng.Intn(len(alphabet))]
	}
	return string(b)
}

func (c *Core) issue(d time.Duration) Credentials {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	return Credentials{
		AccessKeyID:     "ASIA" + c.random(16, alnum),
		SecretAccessKey: c.random(40, b64),
		SessionToken:    "FwoGZXIvYXdzE" + c.random(120, b64),
		Expiration:      c.clock.Now().Add(d).UTC().Truncate(time.Second),
	}
}
