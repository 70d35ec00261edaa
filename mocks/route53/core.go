package route53

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Error codes the store returns; api.go maps them to HTTP statuses.
const (
	CodeInvalidChangeBatch      = "InvalidChangeBatch"
	CodeInvalidInput            = "InvalidInput"
	CodeNoSuchHostedZone        = "NoSuchHostedZone"
	CodeNoSuchChange            = "NoSuchChange"
	CodeInvalidDomainName       = "InvalidDomainName"
	CodeHostedZoneAlreadyExists = "HostedZoneAlreadyExists"
	CodeConflictingDomainExists = "ConflictingDomainExists"
)

// Error is a Route53 error: a code and its message; InvalidChangeBatch
// carries one message per problem, as Route53 reports them all at once.
type Error struct {
	Code     string
	Message  string
	Messages []string
}

// Error implements error.
func (e *Error) Error() string {
	return e.Code + ": " + e.message()
}

// message is the text Route53 puts in the error's Message: the problems of an
// InvalidChangeBatch bracketed and joined, as the real service writes them.
func (e *Error) message() string {
	if len(e.Messages) > 0 {
		return "[" + strings.Join(e.Messages, ", ") + "]"
	}
	return e.Message
}

func errInput(format string, a ...any) *Error {
	return &Error{Code: CodeInvalidInput, Message: fmt.Sprintf(format, a...)}
}

// AliasTarget is an alias record's target.
type AliasTarget struct {
	HostedZoneID         string
	DNSName              string
	EvaluateTargetHealth bool
}

// RecordSet is a resource record set as the API carries it. Name is
// canonical once stored. A stored RecordSet is never modified: a change
// replaces it whole, so readers may keep it.
type RecordSet struct {
	Name          string
	Type          string
	SetIdentifier string
	Weight        *int64
	TTL           *int64
	Values        []string
	Alias         *AliasTarget
}

// Change actions.
const (
	ActionCreate = "CREATE"
	ActionDelete = "DELETE"
	ActionUpsert = "UPSERT"
)

// Change is one change of a change batch.
type Change struct {
	Action string
	Set    RecordSet
}

// ChangeInfo is a change batch's receipt. Changes apply at once, so Status
// is always INSYNC.
type ChangeInfo struct {
	ID          string
	Status      string
	SubmittedAt time.Time
	Comment     string
}

// HostedZone is a hosted zone and its records, indexed by name.
type HostedZone struct {
	ID              string
	Name            string
	CallerReference string
	Comment         string

	names map[string]*node // canonical name -> its record sets
	index nameIndex        // the same nodes in Route53's listing order
	count int              // record sets
}

// RecordSetCount is the number of record sets in the zone.
func (z *HostedZone) RecordSetCount() int { return z.count }

// node is one name of a zone with its record sets, sorted by type then set
// identifier (Route53's listing order within a name).
type node struct {
	name string
	key  string
	sets []*RecordSet
}

// refKey names a record set that points at another name (CNAME or alias).
type refKey struct{ zone, name, typ, id string }

// StoreConfig configures a Store.
type StoreConfig struct {
	// Mode fixed is a shorthand for CNAMEGuard (kept for the --mode flag).
	Mode kit.Mode
	// CNAMEGuard refuses a batch that leaves a CNAME or alias pointing at a
	// name with no records. Real Route53 does not do this and AWS did not
	// announce it: it is an option of its own (the harness's
	// route53-cname-guard), not part of the Enactor's fix.
	CNAMEGuard         bool
	MaxChangesPerBatch int
	Clock              kit.Clock
	Rand               *rand.Rand
}

// Store holds the hosted zones, validates and applies change batches, and
// answers DNS lookups. It does no I/O and is not safe for concurrent use: the
// server guards it with a lock (reads under a read lock: Resolve, List and the
// getters do not modify it).
type Store struct {
	clock      kit.Clock
	rng        *rand.Rand
	maxChanges int
	// extraCheck is the fixed mode's protection (nil as-was): more reasons
	// to refuse a batch, judged on the state the batch would leave.
	extraCheck func(b *batch) []string

	zones      []*HostedZone
	byID       map[string]*HostedZone
	byName     map[string]*HostedZone
	callerRefs map[string]*HostedZone

	changeSeq   int
	changes     map[string]ChangeInfo
	changeOrder []string

	refs    map[string]map[refKey]struct{} // target name -> sets pointing at it
	records int
}

// maxRememberedChanges bounds GetChange's memory.
const maxRememberedChanges = 100000

// NewStore returns an empty store.
func NewStore(cfg StoreConfig) *Store {
	if cfg.MaxChangesPerBatch <= 0 {
		cfg.MaxChangesPerBatch = 1000
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewSource(1))
	}
	s := &Store{
		clock:      cfg.Clock,
		rng:        cfg.Rand,
		maxChanges: cfg.MaxChangesPerBatch,
		byID:       map[string]*HostedZone{},
		byName:     map[string]*HostedZone{},
		callerRefs: map[string]*HostedZone{},
		changes:    map[string]ChangeInfo{},
		refs:       map[string]map[refKey]struct{}{},
	}
	if cfg.CNAMEGuard || cfg.Mode.IsFixed() {
		s.extraCheck = checkDangling
	}
	return s
}

// Records is the number of record sets across every zone.
func (s *Store) Records() int { return s.records }

func (s *Store) now() time.Time {
	if s.clock == nil {
		return time.Time{}
	}
	return s.clock.Now().UTC()
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (s *Store) randomID(prefix string, n int) string {
	b := []byte(prefix)
	for range n {
		b = append(b, idChars[s.rng.Intn(len(idChars))])
	}
	return string(b)
}

func (s *Store) newChange(comment string) ChangeInfo {
	s.changeSeq++
	ci := ChangeInfo{ID: s.randomID("C", 13) + strconv.Itoa(s.changeSeq), Status: "INSYNC", SubmittedAt: s.now(), Comment: comment}
	s.changes[ci.ID] = ci
	s.changeOrder = append(s.changeOrder, ci.ID)
	if len(s.changeOrder) > maxRememberedChanges {
		drop := len(s.changeOrder) - maxRememberedChanges/2
		for _, id := range s.changeOrder[:drop] {
			delete(s.changes, id)
		}
		s.changeOrder = append([]string(nil), s.changeOrder[drop:]...)
	}
	return ci
}

// GetChange returns a change's receipt.
func (s *Store) GetChange(id string) (ChangeInfo, error) {
	id = strings.TrimPrefix(id, "/change/")
	ci, ok := s.changes[id]
	if !ok {
		return ChangeInfo{}, &Error{Code: CodeNoSuchChange, Message: "A change with the specified change ID does not exist."}
	}
	return ci, nil
}

// CreateZone creates a public hosted zone with its SOA and NS record sets,
// as Route53 does.
func (s *Store) CreateZone(name, callerRef, comment string) (*HostedZone, ChangeInfo, error) {
	return s.createZone("", name, callerRef, comment)
}

// RecreateZone is CreateZone with the zone's id given: a new process of the
// server creating its zones again with the ids it drew before (a process
// started with the same seed draws the same ones). The sim's restart of
// Route53 uses it; an id in use is an error.
func (s *Store) RecreateZone(id, name, callerRef, comment string) (*HostedZone, ChangeInfo, error) {
	if id == "" || s.byID[id] != nil {
		return nil, ChangeInfo{}, errInput("Invalid request: zone id %q is empty or in use", id)
	}
	return s.createZone(id, name, callerRef, comment)
}

func (s *Store) createZone(id, name, callerRef, comment string) (*HostedZone, ChangeInfo, error) {
	if callerRef == "" {
		return nil, ChangeInfo{}, errInput("Invalid request: CallerReference is required")
	}
	if len(callerRef) > 128 {
		return nil, ChangeInfo{}, errInput("1 validation error detected: Value at 'callerReference' failed to satisfy constraint: Member must have length less than or equal to 128")
	}
	cn, err := CanonicalName(name)
	if err != nil || cn == "." {
		return nil, ChangeInfo{}, &Error{Code: CodeInvalidDomainName, Message: fmt.Sprintf("%s is not a valid domain name", name)}
	}
	if z, ok := s.callerRefs[callerRef]; ok {
		return nil, ChangeInfo{}, &Error{Code: CodeHostedZoneAlreadyExists, Message: fmt.Sprintf("A hosted zone has already been created with the specified caller reference (zone %s).", z.ID)}
	}
	if z, ok := s.byName[cn]; ok {
		// Route53 allows two public zones of one name; an authoritative
		// server cannot serve both, so the mock refuses the second.
		return nil, ChangeInfo{}, &Error{Code: CodeConflictingDomainExists, Message: fmt.Sprintf("Cannot create hosted zone %s: it is already served by hosted zone %s", cn, z.ID)}
	}
	z := &HostedZone{ID: id, Name: cn, CallerReference: callerRef, Comment: comment, names: map[string]*node{}}
	for z.ID == "" || s.byID[z.ID] != nil {
		z.ID = s.randomID("Z", 20)
	}
	s.zones = append(s.zones, z)
	s.byID[z.ID] = z
	s.byName[cn] = z
	s.callerRefs[callerRef] = z
	soaTTL, nsTTL := int64(900), int64(172800)
	ns := NameServers()
	s.commitSet(z, cn, nil, &RecordSet{Name: cn, Type: "SOA", TTL: &soaTTL, Values: []string{ns[0] + " awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}})
	s.commitSet(z, cn, nil, &RecordSet{Name: cn, Type: "NS", TTL: &nsTTL, Values: ns})
	return z, s.newChange(comment), nil
}

// NameServers are the name servers every zone's NS record set lists.
func NameServers() []string {
	return []string{"ns-1.awsdns-cascade.com.", "ns-2.awsdns-cascade.net.", "ns-3.awsdns-cascade.org.", "ns-4.awsdns-cascade.co.uk."}
}

// Zones lists the hosted zones in creation order.
func (s *Store) Zones() []*HostedZone { return s.zones }

// Zone returns a hosted zone by ID ("Z..." or "/hostedzone/Z...").
func (s *Store) Zone(id string) (*HostedZone, error) {
	z, ok := s.byID[strings.TrimPrefix(id, "/hostedzone/")]
	if !ok {
		return nil, &Error{Code: CodeNoSuchHostedZone, Message: fmt.Sprintf("No hosted zone found with ID: %s", id)}
	}
	return z, nil
}

// ZoneByName returns the hosted zone of a name (canonical or not).
func (s *Store) ZoneByName(name string) (*HostedZone, bool) {
	cn, err := CanonicalName(name)
	if err != nil {
		return nil, false
	}
	z, ok := s.byName[cn]
	return z, ok
}

// zoneFor returns the most specific hosted zone holding canonical name.
func (s *Store) zoneFor(name string) *HostedZone {
	for n := name; n != ""; n = parent(n) {
		if z, ok := s.byName[n]; ok {
			return z
		}
	}
	return nil
}

// Lookup returns the record sets stored at (name, type); type "" is every type.
func (s *Store) Lookup(name, typ string) []RecordSet {
	cn, err := CanonicalName(name)
	if err != nil {
		return nil
	}
	z := s.zoneFor(cn)
	if z == nil {
		return nil
	}
	n := z.names[cn]
	if n == nil {
		return nil
	}
	var out []RecordSet
	for _, rs := range n.sets {
		if typ == "" || rs.Type == typ {
			out = append(out, *rs)
		}
	}
	return out
}

// ----- change batches -----

type typeID struct{ typ, id string }

// batch is a change batch being judged: the changes so far as an overlay on
// the zone (nil: deleted), so a batch sees its own earlier changes (DELETE
// then CREATE of one set is Route53's atomic swap) and nothing reaches the
// zone unless every change is valid.
type batch struct {
	s     *Store
	z     *HostedZone
	over  map[string]map[typeID]*RecordSet
	order []string
}

func (b *batch) get(name, typ, id string) *RecordSet {
	if o, ok := b.over[name]; ok {
		if rs, ok := o[typeID{typ, id}]; ok {
			return rs
		}
	}
	if n := b.z.names[name]; n != nil {
		for _, rs := range n.sets {
			if rs.Type == typ && rs.SetIdentifier == id {
				return rs
			}
		}
	}
	return nil
}

func (b *batch) put(rs *RecordSet, name, typ, id string) {
	o, ok := b.over[name]
	if !ok {
		o = map[typeID]*RecordSet{}
		b.over[name] = o
		b.order = append(b.order, name)
	}
	o[typeID{typ, id}] = rs
}

// view is every record set at name once the batch applied.
func (b *batch) view(name string) []*RecordSet {
	o := b.over[name]
	var out []*RecordSet
	if n := b.z.names[name]; n != nil {
		for _, rs := range n.sets {
			if _, changed := o[typeID{rs.Type, rs.SetIdentifier}]; !changed {
				out = append(out, rs)
			}
		}
	}
	for _, rs := range o {
		if rs != nil {
			out = append(out, rs)
		}
	}
	return out
}

// written reports whether the batch wrote (created or upserted) rs.
func (b *batch) written(rs *RecordSet) bool {
	return b.over[rs.Name][typeID{rs.Type, rs.SetIdentifier}] == rs
}

// hasRecords reports whether canonical name has any record set in any
// served zone once the batch applied.
func (b *batch) hasRecords(name string) bool {
	if inZone(name, b.z.Name) && len(b.view(name)) > 0 {
		return true
	}
	for _, z := range b.s.zones {
		if z != b.z && inZone(name, z.Name) {
			if n := z.names[name]; n != nil && len(n.sets) > 0 {
				return true
			}
		}
	}
	return false
}

func describe(rs *RecordSet) string {
	if rs.SetIdentifier != "" {
		return fmt.Sprintf("[name='%s', type='%s', set-identifier='%s']", rs.Name, rs.Type, rs.SetIdentifier)
	}
	return fmt.Sprintf("[name='%s', type='%s']", rs.Name, rs.Type)
}

// Applied describes an applied batch for the event stream.
type Applied struct {
	Change  ChangeInfo
	Changes int
	Names   []string
}

// ChangeRecordSets validates a change batch against the zone and applies it
// whole, or returns an *Error and changes nothing.
func (s *Store) ChangeRecordSets(zoneID string, changes []Change, comment string) (Applied, error) {
	z, err := s.Zone(zoneID)
	if err != nil {
		return Applied{}, err
	}
	if len(changes) == 0 {
		return Applied{}, errInput("1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(changes) > s.maxChanges {
		return Applied{}, &Error{Code: CodeInvalidChangeBatch, Messages: []string{fmt.Sprintf("Number of records limit of %d exceeded.", s.maxChanges)}}
	}
	if len(comment) > 256 {
		return Applied{}, errInput("1 validation error detected: Value at 'changeBatch.comment' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	b := &batch{s: s, z: z, over: map[string]map[typeID]*RecordSet{}}
	var msgs []string
	for i, ch := range changes {
		rs, ierr := normalize(i+1, ch)
		if ierr != nil {
			return Applied{}, ierr
		}
		if !inZone(rs.Name, z.Name) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", rs.Name, z.Name))
			continue
		}
		msgs = append(msgs, valueProblems(rs)...)
		cur := b.get(rs.Name, rs.Type, rs.SetIdentifier)
		switch ch.Action {
		case ActionCreate:
			if cur != nil {
				msgs = append(msgs, fmt.Sprintf("Tried to create resource record set %s but it already exists", describe(rs)))
				continue
			}
			b.put(rs, rs.Name, rs.Type, rs.SetIdentifier)
		case ActionDelete:
			if cur == nil {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but it was not found", describe(rs)))
				continue
			}
			if !sameSet(cur, rs) {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", describe(rs)))
				continue
			}
			b.put(nil, rs.Name, rs.Type, rs.SetIdentifier)
		case ActionUpsert:
			b.put(rs, rs.Name, rs.Type, rs.SetIdentifier)
		}
	}
	for _, name := range b.order {
		msgs = append(msgs, b.nameProblems(name)...)
	}
	if len(msgs) == 0 && s.extraCheck != nil {
		msgs = append(msgs, s.extraCheck(b)...)
	}
	if len(msgs) > 0 {
		return Applied{}, &Error{Code: CodeInvalidChangeBatch, Messages: msgs}
	}
	for _, name := range b.order {
		for tid, rs := range b.over[name] {
			s.commitSet(z, name, b.getStored(name, tid), rs)
		}
	}
	return Applied{Change: s.newChange(comment), Changes: len(changes), Names: b.order}, nil
}

func (b *batch) getStored(name string, tid typeID) *RecordSet {
	if n := b.z.names[name]; n != nil {
		for _, rs := range n.sets {
			if rs.Type == tid.typ && rs.SetIdentifier == tid.id {
				return rs
			}
		}
	}
	return nil
}

// nameProblems checks the rules that hold across the record sets of one name.
func (b *batch) nameProblems(name string) []string {
	var msgs []string
	view := b.view(name)
	zone := b.z.Name
	var cname, other *RecordSet
	simple, weighted := map[string]*RecordSet{}, map[string]*RecordSet{}
	hasSOA, hasNS := false, false
	for _, rs := range view {
		switch rs.Type {
		case "CNAME":
			if cname == nil || b.written(rs) {
				cname = rs
			}
		case "SOA":
			hasSOA = true
		case "NS":
			hasNS = true
		}
		if rs.Type != "CNAME" && (other == nil || b.written(rs)) {
			other = rs
		}
		if rs.SetIdentifier == "" {
			simple[rs.Type] = rs
		} else if weighted[rs.Type] == nil || b.written(rs) {
			weighted[rs.Type] = rs
		}
	}
	if name == zone {
		if cname != nil {
			msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", name, zone))
		}
		if !hasSOA {
			msgs = append(msgs, "A HostedZone must contain exactly one SOA record.")
		}
		if !hasNS {
			msgs = append(msgs, "A HostedZone must contain at least one NS record for the zone itself.")
		}
	}
	if cname != nil && other != nil && name != zone {
		if b.written(cname) {
			msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", name, zone))
		} else {
			msgs = append(msgs, fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone %s", other.Type, name, zone))
		}
	}
	for typ, w := range weighted {
		if s := simple[typ]; s != nil {
			if b.written(w) {
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s, SetIdentifier %s cannot be created as a non-weighted set exists with the same name and type.", name, typ, w.SetIdentifier))
			} else {
				msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s, type %s cannot be created as weighted sets exist with the same name and type.", name, typ))
			}
		}
	}
	for _, rs := range view {
		if rs.Alias == nil || !b.written(rs) {
			continue
		}
		tz := b.s.byID[rs.Alias.HostedZoneID]
		if tz == nil {
			continue // an alias to a zone the mock does not serve (a load balancer's)
		}
		target := rs.Alias.DNSName
		if !inZone(target, tz.Name) {
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but the alias target name does not lie within the target zone", target, rs.Type, tz.ID))
			continue
		}
		found := false
		var sets []*RecordSet
		if tz == b.z {
			sets = b.view(target)
		} else if n := tz.names[target]; n != nil {
			sets = n.sets
		}
		for _, t := range sets {
			if t.Type == rs.Type && t != rs {
				found = true
			}
		}
		if !found {
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but that target was not found", target, rs.Type, tz.ID))
		}
	}
	return msgs
}

// pointsAt is the name a CNAME or alias record set leads to ("" otherwise).
func pointsAt(rs *RecordSet) string {
	if rs == nil {
		return ""
	}
	if rs.Alias != nil {
		return rs.Alias.DNSName
	}
	if rs.Type == "CNAME" && len(rs.Values) == 1 {
		if cn, err := CanonicalName(rs.Values[0]); err == nil {
			return cn
		}
	}
	return ""
}

// checkDangling is CNAMEGuard's protection: refuse a batch after which a
// CNAME or alias in a hosted zone leads to a served name with no records at
// all, the state the race left the regional endpoint in.
func checkDangling(b *batch) []string {
	var msgs []string
	for _, name := range b.order {
		for _, rs := range b.over[name] {
			t := pointsAt(rs)
			if t == "" || b.s.zoneFor(t) == nil || b.hasRecords(t) {
				continue
			}
			msgs = append(msgs, fmt.Sprintf("RRSet %s would point at %s, which has no records: refused because it would leave %s with no records", describe(rs), t, rs.Name))
		}
	}
	for _, name := range b.order {
		if b.hasRecords(name) {
			continue
		}
		for ref := range b.s.refs[name] {
			var cur *RecordSet
			if ref.zone == b.z.ID {
				cur = b.get(ref.name, ref.typ, ref.id)
			} else if z := b.s.byID[ref.zone]; z != nil {
				cur = (&batch{s: b.s, z: z}).get(ref.name, ref.typ, ref.id)
			}
			if pointsAt(cur) != name || (ref.zone == b.z.ID && b.written(cur)) {
				continue // gone, repointed, or already judged above
			}
			msgs = append(msgs, fmt.Sprintf("Tried to delete the last records of %s but RRSet %s still points at it: refused because it would leave %s with no records", name, describe(cur), cur.Name))
		}
	}
	slices.Sort(msgs)
	return msgs
}

// commitSet replaces old (nil: none) by rs (nil: delete) at name in z.
func (s *Store) commitSet(z *HostedZone, name string, old, rs *RecordSet) {
	n := z.names[name]
	if old != nil && n != nil {
		s.unref(z, old)
		i := slices.Index(n.sets, old)
		if i >= 0 {
			n.sets = slices.Delete(n.sets, i, i+1)
			z.count--
			s.records--
		}
	}
	if rs != nil {
		if n == nil {
			n = &node{name: name, key: sortKey(name)}
			z.names[name] = n
			z.index.insert(n)
		}
		i, _ := slices.BinarySearchFunc(n.sets, rs, compareSets)
		n.sets = slices.Insert(n.sets, i, rs)
		z.count++
		s.records++
		s.ref(z, rs)
	}
	if n != nil && len(n.sets) == 0 {
		delete(z.names, name)
		z.index.remove(n.key)
	}
}

func compareSets(a, b *RecordSet) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.SetIdentifier, b.SetIdentifier)
}

func (s *Store) ref(z *HostedZone, rs *RecordSet) {
	t := pointsAt(rs)
	if t == "" {
		return
	}
	m := s.refs[t]
	if m == nil {
		m = map[refKey]struct{}{}
		s.refs[t] = m
	}
	m[refKey{z.ID, rs.Name, rs.Type, rs.SetIdentifier}] = struct{}{}
}

func (s *Store) unref(z *HostedZone, rs *RecordSet) {
	t := pointsAt(rs)
	if m := s.refs[t]; m != nil {
		delete(m, refKey{z.ID, rs.Name, rs.Type, rs.SetIdentifier})
		if len(m) == 0 {
			delete(s.refs, t)
		}
	}
}

// sameSet is Route53's exact match for DELETE: name, type, set identifier,
// weight, TTL, alias target and the values (in any order).
func sameSet(a, b *RecordSet) bool {
	if a.Name != b.Name || a.Type != b.Type || a.SetIdentifier != b.SetIdentifier {
		return false
	}
	if !sameInt(a.Weight, b.Weight) || !sameInt(a.TTL, b.TTL) {
		return false
	}
	if (a.Alias == nil) != (b.Alias == nil) {
		return false
	}
	if a.Alias != nil && *a.Alias != *b.Alias {
		return false
	}
	if len(a.Values) != len(b.Values) {
		return false
	}
	av, bv := slices.Clone(a.Values), slices.Clone(b.Values)
	slices.Sort(av)
	slices.Sort(bv)
	return slices.Equal(av, bv)
}

func sameInt(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// validTypes are the record types Route53 accepts.
var validTypes = map[string]bool{
	"A": true, "AAAA": true, "CAA": true, "CNAME": true, "DS": true, "HTTPS": true, "MX": true, "NAPTR": true,
	"NS": true, "PTR": true, "SOA": true, "SPF": true, "SRV": true, "SSHFP": true, "SVCB": true, "TLSA": true, "TXT": true,
}

// normalize checks a change's shape (what Route53 reports as InvalidInput)
// and returns its record set with canonical names.
func normalize(i int, ch Change) (*RecordSet, *Error) {
	rs := ch.Set
	desc := func() string {
		id := "null"
		if rs.SetIdentifier != "" {
			id = rs.SetIdentifier
		}
		return fmt.Sprintf("[Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", ch.Action, rs.Name, rs.Type, id)
	}
	switch ch.Action {
	case ActionCreate, ActionDelete, ActionUpsert:
	default:
		return nil, errInput("1 validation error detected: Value '%s' at 'changeBatch.changes.%d.member.action' failed to satisfy constraint: Member must satisfy enum value set: [CREATE, DELETE, UPSERT]", ch.Action, i)
	}
	if !validTypes[rs.Type] {
		return nil, errInput("1 validation error detected: Value '%s' at 'changeBatch.changes.%d.member.resourceRecordSet.type' failed to satisfy constraint: Member must satisfy enum value set: [A, AAAA, CAA, CNAME, DS, HTTPS, MX, NAPTR, NS, PTR, SOA, SPF, SRV, SSHFP, SVCB, TLSA, TXT]", rs.Type, i)
	}
	name, err := CanonicalName(rs.Name)
	if err != nil || name == "." {
		return nil, &Error{Code: CodeInvalidChangeBatch, Messages: []string{fmt.Sprintf("FATAL problem: DomainNameInvalid (Domain name is invalid) encountered with '%s'", rs.Name)}}
	}
	rs.Name = name
	if len(rs.SetIdentifier) > 128 {
		return nil, errInput("1 validation error detected: Value at 'changeBatch.changes.%d.member.resourceRecordSet.setIdentifier' failed to satisfy constraint: Member must have length less than or equal to 128", i)
	}
	if rs.Weight != nil && (*rs.Weight < 0 || *rs.Weight > 255) {
		rel, bound := "less than or equal to 255", *rs.Weight
		if bound < 0 {
			rel = "greater than or equal to 0"
		}
		return nil, errInput("1 validation error detected: Value '%d' at 'changeBatch.changes.%d.member.resourceRecordSet.weight' failed to satisfy constraint: Member must have value %s", bound, i, rel)
	}
	if rs.SetIdentifier != "" && rs.Weight == nil {
		return nil, errInput("Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in Change with %s", desc())
	}
	if rs.SetIdentifier == "" && rs.Weight != nil {
		return nil, errInput("Invalid request: Missing field 'SetIdentifier' in Change with %s", desc())
	}
	if rs.TTL != nil && (*rs.TTL < 0 || *rs.TTL > 2147483647) {
		return nil, errInput("1 validation error detected: Value '%d' at 'changeBatch.changes.%d.member.resourceRecordSet.tTL' failed to satisfy constraint: Member must have value between 0 and 2147483647", *rs.TTL, i)
	}
	if rs.Alias != nil {
		if rs.TTL != nil || len(rs.Values) > 0 {
			return nil, errInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with %s", desc())
		}
		a := *rs.Alias
		t, err := CanonicalName(a.DNSName)
		if err != nil || a.HostedZoneID == "" {
			return nil, errInput("Invalid request: AliasTarget needs a valid DNSName and HostedZoneId in Change with %s", desc())
		}
		a.DNSName = t
		a.HostedZoneID = strings.TrimPrefix(a.HostedZoneID, "/hostedzone/")
		rs.Alias = &a
		return &rs, nil
	}
	if rs.TTL == nil || len(rs.Values) == 0 {
		return nil, errInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with %s", desc())
	}
	rs.Values = slices.Clone(rs.Values)
	return &rs, nil
}

// valueProblems checks a record set's values (what Route53 reports inside
// InvalidChangeBatch).
func valueProblems(rs *RecordSet) []string {
	var msgs []string
	seen := map[string]bool{}
	for _, v := range rs.Values {
		if seen[v] {
			msgs = append(msgs, fmt.Sprintf("Duplicate Resource Record: '%s'", v))
		}
		seen[v] = true
		switch rs.Type {
		case "A":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
				msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '%s''", v))
			}
		case "AAAA":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is6() {
				msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '%s''", v))
			}
		case "CNAME", "NS", "PTR":
			if _, err := CanonicalName(v); err != nil {
				msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with '%s''", v))
			}
		default:
			if strings.TrimSpace(v) == "" || len(v) > 4000 {
				msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '%s''", v))
			}
		}
	}
	if rs.Type == "CNAME" && len(rs.Values) > 1 {
		msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s has more than one value", rs.Name))
	}
	if rs.Type == "SOA" && len(rs.Values) > 1 {
		msgs = append(msgs, "A HostedZone must contain exactly one SOA record.")
	}
	return msgs
}

// ----- listing -----

// Page is one page of ListResourceRecordSets.
type Page struct {
	Sets      []RecordSet
	Truncated bool
	NextName  string
	NextType  string
	NextID    string
	MaxItems  int
}

// MaxListItems is the most record sets Route53 returns in one page.
const MaxListItems = 300

// List pages through a zone's record sets in Route53's order (name with
// labels reversed, then type, then set identifier), starting at the first set
// at or after (startName, startType, startID).
func (s *Store) List(zoneID, startName, startType, startID string, maxItems int) (Page, error) {
	z, err := s.Zone(zoneID)
	if err != nil {
		return Page{}, err
	}
	if startType != "" && startName == "" {
		return Page{}, errInput("The input is not valid: StartRecordType requires StartRecordName")
	}
	if startID != "" && startType == "" {
		return Page{}, errInput("The input is not valid: StartRecordIdentifier requires StartRecordType")
	}
	if startType != "" && !validTypes[startType] {
		return Page{}, errInput("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set", startType)
	}
	if maxItems < 0 {
		return Page{}, errInput("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must be positive", maxItems)
	}
	if maxItems == 0 || maxItems > MaxListItems {
		maxItems = MaxListItems
	}
	startKey := ""
	if startName != "" {
		cn, err := CanonicalName(startName)
		if err != nil {
			return Page{}, errInput("The input is not valid: StartRecordName %q: %v", startName, err)
		}
		startKey = sortKey(cn)
	}
	p := Page{MaxItems: maxItems}
	for at := z.index.seek(startKey); ; at = z.index.next(at) {
		n := z.index.at(at)
		if n == nil {
			return p, nil
		}
		for _, rs := range n.sets {
			if n.key == startKey && startType != "" {
				if c := strings.Compare(rs.Type, startType); c < 0 || c == 0 && rs.SetIdentifier < startID {
					continue
				}
			}
			if len(p.Sets) == maxItems {
				p.Truncated, p.NextName, p.NextType, p.NextID = true, rs.Name, rs.Type, rs.SetIdentifier
				return p, nil
			}
			p.Sets = append(p.Sets, *rs)
		}
	}
}

// ----- DNS -----

// Rcode is the outcome of a lookup.
type Rcode int

// Lookup outcomes, mapped to DNS rcodes by dns.go.
const (
	RcodeSuccess Rcode = iota
	RcodeNXDomain
	RcodeRefused
	RcodeServFail
)

// RR is one answer record; Name is canonical, Value in the record type's
// presentation format.
type RR struct {
	Name  string
	Type  string
	TTL   uint32
	Value string
}

// Answer is what Resolve found: the rcode, the answer records (a CNAME chain
// then the final records), and for negative answers the SOA of the zone the
// final name is in.
type Answer struct {
	Rcode   Rcode
	Records []RR
	SOA     *RR
}

// maxChain bounds CNAME and alias chains.
const maxChain = 16

// Resolve answers a query as an authoritative server for every hosted zone:
// CNAME chains inside the served zones are followed and the rcode is that of
// the final name (RFC 6604); a weighted group yields one of its sets, chosen
// by pick(total) (a uniform draw in [0, total)) by weight, as Route53 does.
// qname is canonical; qtype "ANY" returns every type.
func (s *Store) Resolve(qname, qtype string, pick func(n int64) int64) Answer {
	z := s.zoneFor(qname)
	if z == nil {
		return Answer{Rcode: RcodeRefused}
	}
	var ans Answer
	name := qname
	for range maxChain {
		sets, exists := s.setsAt(z, name)
		if !exists {
			ans.Rcode, ans.SOA = RcodeNXDomain, z.soa()
			return ans
		}
		groups := groupByType(sets)
		if qtype != "CNAME" && qtype != "ANY" && groups["CNAME"] != nil {
			rs := pickSet(groups["CNAME"], pick)
			ans.Records = append(ans.Records, RR{Name: name, Type: "CNAME", TTL: ttlOf(rs), Value: rs.Values[0]})
			target := pointsAt(rs)
			nz := s.zoneFor(target)
			if target == "" || nz == nil {
				return ans // leaves the served zones: the resolver follows it
			}
			name, z = target, nz
			continue
		}
		var found []RR
		if qtype == "ANY" {
			for _, g := range groups {
				found = append(found, s.setRRs(name, qtype, pickSet(g, pick), pick, 0)...)
			}
		} else if g := groups[qtype]; g != nil {
			found = s.setRRs(name, qtype, pickSet(g, pick), pick, 0)
		}
		if len(found) == 0 {
			ans.SOA = z.soa() // NODATA
			return ans
		}
		ans.Records = append(ans.Records, found...)
		return ans
	}
	ans.Rcode = RcodeServFail // a CNAME loop
	return ans
}

// setsAt returns the sets answering for name in z, applying wildcards, and
// whether the name exists (an empty non-terminal exists with no sets).
func (s *Store) setsAt(z *HostedZone, name string) ([]*RecordSet, bool) {
	if n := z.names[name]; n != nil {
		return n.sets, true
	}
	if z.hasDescendants(name) {
		return nil, true
	}
	// RFC 4592: a wildcard at the closest encloser answers for the name.
	for p := parent(name); p != "" && inZone(p, z.Name); p = parent(p) {
		if wc := z.names[`\052.`+p]; wc != nil {
			return wc.sets, true
		}
		if z.names[p] != nil || z.hasDescendants(p) {
			return nil, false
		}
	}
	return nil, false
}

// hasDescendants reports whether a name below name has records.
func (z *HostedZone) hasDescendants(name string) bool {
	// Names with key as a prefix are contiguous from key on; skip name itself.
	key := sortKey(name)
	at := z.index.seek(key)
	n := z.index.at(at)
	if n != nil && n.key == key {
		n = z.index.at(z.index.next(at))
	}
	return n != nil && strings.HasPrefix(n.key, key)
}

func (z *HostedZone) soa() *RR {
	n := z.names[z.Name]
	if n == nil {
		return nil
	}
	for _, rs := range n.sets {
		if rs.Type == "SOA" && len(rs.Values) == 1 {
			ttl := ttlOf(rs)
			// RFC 2308: negative answers carry min(SOA TTL, SOA minimum).
			if f := strings.Fields(rs.Values[0]); len(f) == 7 {
				if m, err := strconv.ParseUint(f[6], 10, 32); err == nil && uint32(m) < ttl {
					ttl = uint32(m)
				}
			}
			return &RR{Name: z.Name, Type: "SOA", TTL: ttl, Value: rs.Values[0]}
		}
	}
	return nil
}

func groupByType(sets []*RecordSet) map[string][]*RecordSet {
	g := make(map[string][]*RecordSet, 2)
	for _, rs := range sets {
		g[rs.Type] = append(g[rs.Type], rs)
	}
	return g
}

// pickSet chooses one set of a group: the only one, or one of a weighted
// group with probability weight/total (uniformly when every weight is 0).
func pickSet(g []*RecordSet, pick func(int64) int64) *RecordSet {
	if len(g) == 1 {
		return g[0]
	}
	var total int64
	for _, rs := range g {
		if rs.Weight != nil {
			total += *rs.Weight
		}
	}
	if total == 0 {
		return g[pick(int64(len(g)))]
	}
	r := pick(total)
	for _, rs := range g {
		if rs.Weight == nil {
			continue
		}
		if r < *rs.Weight {
			return rs
		}
		r -= *rs.Weight
	}
	return g[len(g)-1]
}

func ttlOf(rs *RecordSet) uint32 {
	if rs.TTL == nil {
		return 0
	}
	return uint32(*rs.TTL)
}

// setRRs returns the records of rs answered under owner; an alias answers
// with its target's records of the same type under the alias's own name.
func (s *Store) setRRs(owner, qtype string, rs *RecordSet, pick func(int64) int64, depth int) []RR {
	if rs.Alias == nil {
		out := make([]RR, 0, len(rs.Values))
		for _, v := range rs.Values {
			out = append(out, RR{Name: owner, Type: rs.Type, TTL: ttlOf(rs), Value: v})
		}
		return out
	}
	if depth >= maxChain {
		return nil
	}
	tz := s.byID[rs.Alias.HostedZoneID]
	if tz == nil {
		tz = s.zoneFor(rs.Alias.DNSName)
	}
	if tz == nil {
		return nil
	}
	sets, _ := s.setsAt(tz, rs.Alias.DNSName)
	g := groupByType(sets)[rs.Type]
	if g == nil {
		return nil
	}
	return s.setRRs(owner, qtype, pickSet(g, pick), pick, depth+1)
}
