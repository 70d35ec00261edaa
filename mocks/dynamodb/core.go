package dynamodb

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// Limits DynamoDB enforces.
const (
	// MaxItemBytes is the largest item DynamoDB stores (400 KB).
	MaxItemBytes = 400 * 1024
	// maxPageBytes is the data a Query or Scan reads per page (1 MB).
	maxPageBytes = 1024 * 1024
	maxBatchGet  = 100
	maxBatchPut  = 25
	maxTransact  = 100
)

// Core is the DynamoDB mechanism: tables of items in memory, conditional
// writes, transactions and pagination. It is pure (no I/O, time only from
// the injected clock) and not safe for concurrent use: even reads fill
// caches (scan order, index views), so the transport serialises every
// operation under one mutex.
type Core struct {
	clock   kit.Clock
	account string
	region  string
	tables  map[string]*table
	nextID  int
	// tokens remembers TransactWriteItems' ClientRequestTokens for the
	// idempotency window, so an SDK retry of a transaction that did apply
	// succeeds instead of failing its own conditions.
	tokens map[string]txToken
}

// txToken is a ClientRequestToken seen: the request's fingerprint and when
// the token may be reused.
type txToken struct {
	fingerprint string
	expires     time.Time
}

// IdempotencyWindow is how long DynamoDB remembers a ClientRequestToken.
const IdempotencyWindow = 10 * time.Minute

// NewCore returns an empty core reading creation times from clock.
func NewCore(clock kit.Clock) *Core {
	return &Core{clock: clock, account: "000000000000", region: "us-east-1", tables: map[string]*table{}, tokens: map[string]txToken{}}
}

// TableSpec is a table to create at start: a hash key and an optional range
// key, each of type S, N or B (S when empty).
type TableSpec struct {
	Name      string
	HashKey   string
	HashType  string
	RangeKey  string
	RangeType string
}

// Input turns the spec into a CreateTable request (on-demand billing).
func (s TableSpec) Input() *CreateTableInput {
	typ := func(t string) string {
		if t == "" {
			return expr.TypeS
		}
		return t
	}
	in := &CreateTableInput{
		TableName:            s.Name,
		BillingMode:          "PAY_PER_REQUEST",
		AttributeDefinitions: []AttributeDefinition{{AttributeName: s.HashKey, AttributeType: typ(s.HashType)}},
		KeySchema:            []KeySchemaElement{{AttributeName: s.HashKey, KeyType: "HASH"}},
	}
	if s.RangeKey != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions, AttributeDefinition{AttributeName: s.RangeKey, AttributeType: typ(s.RangeType)})
		in.KeySchema = append(in.KeySchema, KeySchemaElement{AttributeName: s.RangeKey, KeyType: "RANGE"})
	}
	return in
}

// keyDef is one key attribute with its type.
type keyDef struct{ name, typ string }

// keySchema is a hash key and an optional range key (range.name == "").
type keySchema struct{ hash, rng keyDef }

func (k keySchema) names() []string {
	if k.rng.name == "" {
		return []string{k.hash.name}
	}
	return []string{k.hash.name, k.rng.name}
}

// record is a stored item with its size and its encoding, computed once at
// write time so reads of whole items never encode again. Records are
// immutable; a write replaces the record.
type record struct {
	item expr.Item
	pk   string // encoded primary key
	size int
	raw  []byte
}

func newRecord(item expr.Item, pk string, size int) *record {
	raw, err := item.MarshalJSON()
	if err != nil {
		raw = nil
	}
	return &record{item: item, pk: pk, size: size, raw: raw}
}

// index is a GSI or LSI: its key schema, projection, and a lazily built
// view of the table's items that carry its keys.
type index struct {
	desc   IndexDescription
	global bool
	keys   keySchema
	// keep is the attributes a KEYS_ONLY or INCLUDE projection holds.
	keep map[string]bool
	view *collection // nil when stale
}

type table struct {
	desc    TableDescription
	keys    keySchema
	attrs   map[string]string
	items   *collection
	indexes map[string]*index
	bytes   int64
	// ttl is the time-to-live attribute, "" when TTL is disabled.
	ttl string
}

func (t *table) stale() {
	for _, ix := range t.indexes {
		ix.view = nil
	}
}

// TableCreate creates a table (CreateTable). It is ACTIVE at once.
func (c *Core) TableCreate(in *CreateTableInput) (*TableOutput, error) {
	if err := validateTableName(in.TableName); err != nil {
		return nil, err
	}
	if _, ok := c.tables[in.TableName]; ok {
		return nil, newError(CodeResourceInUse, "Table already exists: "+in.TableName)
	}
	attrs := map[string]string{}
	for _, a := range in.AttributeDefinitions {
		switch a.AttributeType {
		case expr.TypeS, expr.TypeN, expr.TypeB:
		default:
			return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeDefinitions.%d.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", a.AttributeType, len(attrs)+1))
		}
		if _, dup := attrs[a.AttributeName]; dup {
			return nil, validationErr("Cannot have two attributes with the same name")
		}
		attrs[a.AttributeName] = a.AttributeType
	}
	keys, err := parseKeySchema(in.KeySchema, attrs, "")
	if err != nil {
		return nil, err
	}
	billing := in.BillingMode
	if billing == "" {
		billing = "PROVISIONED"
	}
	switch billing {
	case "PROVISIONED":
		if in.ProvisionedThroughput == nil {
			return nil, validationErr("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
	case "PAY_PER_REQUEST":
		if in.ProvisionedThroughput != nil {
			return nil, validationErr("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	default:
		return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", billing))
	}
	c.nextID++
	arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", c.region, c.account, in.TableName)
	t := &table{
		keys:    keys,
		attrs:   attrs,
		items:   newCollection(keys, false),
		indexes: map[string]*index{},
		desc: TableDescription{
			TableName:            in.TableName,
			TableArn:             arn,
			TableId:              fmt.Sprintf("00000000-0000-4000-8000-%012d", c.nextID),
			TableStatus:          "ACTIVE",
			CreationDateTime:     float64(c.clock.Now().UnixMilli()) / 1000,
			AttributeDefinitions: slices.Clone(in.AttributeDefinitions),
			KeySchema:            slices.Clone(in.KeySchema),
			BillingModeSummary:   &BillingModeSummary{BillingMode: billing},
		},
	}
	if in.DeletionProtectionEnabled != nil {
		t.desc.DeletionProtectionEnabled = *in.DeletionProtectionEnabled
	}
	if in.ProvisionedThroughput != nil {
		t.desc.ProvisionedThroughput = &ProvisionedThroughputDescription{ReadCapacityUnits: in.ProvisionedThroughput.ReadCapacityUnits, WriteCapacityUnits: in.ProvisionedThroughput.WriteCapacityUnits}
	} else {
		t.desc.ProvisionedThroughput = &ProvisionedThroughputDescription{}
	}
	used := map[string]bool{keys.hash.name: true, keys.rng.name: true}
	for _, group := range []struct {
		list   []SecondaryIndex
		global bool
	}{{in.GlobalSecondaryIndexes, true}, {in.LocalSecondaryIndexes, false}} {
		for _, si := range group.list {
			if _, dup := t.indexes[si.IndexName]; dup {
				return nil, validationErr("One or more parameter values were invalid: Duplicate index name: " + si.IndexName)
			}
			ix, err := t.newIndex(si, group.global)
			if err != nil {
				return nil, err
			}
			used[ix.keys.hash.name], used[ix.keys.rng.name] = true, true
			t.indexes[si.IndexName] = ix
		}
	}
	for name := range attrs {
		if !used[name] {
			return nil, validationErr("One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [" + strings.Join(sortedNames(attrs), ", ") + "], keys used: [" + strings.Join(sortedUsed(used), ", ") + "]")
		}
	}
	c.tables[in.TableName] = t
	return &TableOutput{TableDescription: c.describe(t)}, nil
}

// newIndex validates an index of a CreateTable or UpdateTable request
// against t's attribute definitions and builds it, ACTIVE at once.
func (t *table) newIndex(si SecondaryIndex, global bool) (*index, error) {
	ik, err := parseKeySchema(si.KeySchema, t.attrs, si.IndexName)
	if err != nil {
		return nil, err
	}
	if !global && (ik.hash.name != t.keys.hash.name || ik.rng.name == "") {
		return nil, validationErr("One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: " + si.IndexName)
	}
	switch si.Projection.ProjectionType {
	case "ALL", "KEYS_ONLY", "INCLUDE":
	default:
		return nil, validationErr("One or more parameter values were invalid: Unknown ProjectionType: " + si.Projection.ProjectionType)
	}
	d := IndexDescription{
		IndexName:  si.IndexName,
		IndexArn:   t.desc.TableArn + "/index/" + si.IndexName,
		KeySchema:  slices.Clone(si.KeySchema),
		Projection: si.Projection,
	}
	if global {
		d.IndexStatus = "ACTIVE"
		d.ProvisionedThroughput = &ProvisionedThroughputDescription{}
		if si.ProvisionedThroughput != nil {
			d.ProvisionedThroughput.ReadCapacityUnits = si.ProvisionedThroughput.ReadCapacityUnits
			d.ProvisionedThroughput.WriteCapacityUnits = si.ProvisionedThroughput.WriteCapacityUnits
		}
	}
	keep := map[string]bool{}
	for _, n := range append(t.keys.names(), ik.names()...) {
		keep[n] = true
	}
	for _, n := range si.Projection.NonKeyAttributes {
		keep[n] = true
	}
	return &index{desc: d, global: global, keys: ik, keep: keep}, nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedUsed(m map[string]bool) []string {
	var out []string
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func validateTableName(name string) error {
	switch {
	case len(name) < 3:
		return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3", name))
	case len(name) > 255:
		return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 255", name))
	case !tableNameRE.MatchString(name):
		return validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name))
	}
	return nil
}

func parseKeySchema(ks []KeySchemaElement, attrs map[string]string, indexName string) (keySchema, error) {
	var k keySchema
	if len(ks) == 0 || len(ks) > 2 {
		return k, validationErr(fmt.Sprintf("1 validation error detected: Value '%v' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2", ks))
	}
	for i, e := range ks {
		typ, ok := attrs[e.AttributeName]
		if !ok {
			return k, validationErr("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [" + e.AttributeName + "], AttributeDefinitions: [" + strings.Join(sortedNames(attrs), ", ") + "]")
		}
		switch {
		case i == 0 && e.KeyType == "HASH":
			k.hash = keyDef{e.AttributeName, typ}
		case i == 1 && e.KeyType == "RANGE":
			k.rng = keyDef{e.AttributeName, typ}
		case e.KeyType != "HASH" && e.KeyType != "RANGE":
			return k, validationErr(fmt.Sprintf("1 validation error detected: Value '%s' at 'keySchema.%d.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]", e.KeyType, i+1))
		default:
			return k, validationErr("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		}
	}
	if k.hash.name == k.rng.name {
		return k, validationErr("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	return k, nil
}

func (c *Core) describe(t *table) *TableDescription {
	d := t.desc
	d.ItemCount = int64(t.items.count)
	d.TableSizeBytes = t.bytes
	d.GlobalSecondaryIndexes, d.LocalSecondaryIndexes = nil, nil
	for _, name := range sortedIndexNames(t.indexes) {
		ix := t.indexes[name]
		if ix.view == nil {
			ix.view = t.buildIndex(ix)
		}
		id := ix.desc
		id.ItemCount = int64(ix.view.count)
		for _, p := range ix.view.parts {
			for _, r := range p.recs {
				id.IndexSizeBytes += int64(r.size)
			}
		}
		if ix.global {
			d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, id)
		} else {
			d.LocalSecondaryIndexes = append(d.LocalSecondaryIndexes, id)
		}
	}
	return &d
}

func sortedIndexNames(m map[string]*index) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TableDescribe describes a table (DescribeTable).
func (c *Core) TableDescribe(in *TableNameInput) (*DescribeTableOutput, error) {
	t, ok := c.tables[in.TableName]
	if !ok {
		return nil, newError(CodeResourceNotFound, "Requested resource not found: Table: "+in.TableName+" not found")
	}
	return &DescribeTableOutput{Table: c.describe(t)}, nil
}

// TableDelete deletes a table and its items (DeleteTable).
func (c *Core) TableDelete(in *TableNameInput) (*TableOutput, error) {
	t, ok := c.tables[in.TableName]
	if !ok {
		return nil, newError(CodeResourceNotFound, "Requested resource not found: Table: "+in.TableName+" not found")
	}
	if t.desc.DeletionProtectionEnabled {
		return nil, validationErr("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
	}
	d := c.describe(t)
	d.TableStatus = "DELETING"
	delete(c.tables, in.TableName)
	return &TableOutput{TableDescription: d}, nil
}

// TableList lists table names in order, a page at a time (ListTables).
func (c *Core) TableList(in *ListTablesInput) (*ListTablesOutput, error) {
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, validationErr(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value %s", *in.Limit, map[bool]string{true: "greater than or equal to 1", false: "less than or equal to 100"}[*in.Limit < 1]))
		}
		limit = *in.Limit
	}
	names := make([]string, 0, len(c.tables))
	for n := range c.tables {
		if n > in.ExclusiveStartTableName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := &ListTablesOutput{TableNames: names}
	if len(names) > limit {
		out.TableNames = names[:limit]
		out.LastEvaluatedTableName = names[limit-1]
	}
	return out, nil
}

// TableNames lists every table, sorted.
func (c *Core) TableNames() []string {
	names := make([]string, 0, len(c.tables))
	for n := range c.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ItemCount is the number of items in table, or -1 when it does not exist.
func (c *Core) ItemCount(name string) int {
	t, ok := c.tables[name]
	if !ok {
		return -1
	}
	return t.items.count
}

func (c *Core) table(name string) (*table, error) {
	if name == "" {
		return nil, validationErr("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	t, ok := c.tables[name]
	if !ok {
		if err := validateTableName(name); err != nil {
			return nil, err
		}
		return nil, notFound()
	}
	return t, nil
}

// encodeKey is the canonical text of a key value: its type and content
// (numbers canonicalised, so 1 and 1.0 are the same key).
func encodeKey(v expr.Value) string {
	switch v.Type() {
	case expr.TypeS:
		return "S" + v.Str()
	case expr.TypeN:
		return "N" + v.Number()
	case expr.TypeB:
		return "B" + string(v.Bytes())
	}
	return ""
}

// primaryKey checks that key is exactly the table's primary key (the Key
// parameter of GetItem, UpdateItem, DeleteItem) and returns its encoding.
func (t *table) primaryKey(key expr.Item) (string, error) {
	n := 1
	if t.keys.rng.name != "" {
		n = 2
	}
	if len(key) != n {
		return "", validationErr(MsgKeySchemaMismatch)
	}
	return t.keyOf(key, true)
}

// keyOf encodes the primary key of item (an item or a Key parameter).
func (t *table) keyOf(item expr.Item, isKey bool) (string, error) {
	var b strings.Builder
	for _, kd := range []keyDef{t.keys.hash, t.keys.rng} {
		if kd.name == "" {
			break
		}
		v, ok := item[kd.name]
		if !ok {
			if isKey {
				return "", validationErr(MsgKeySchemaMismatch)
			}
			return "", validationErr("One or more parameter values were invalid: Missing the key " + kd.name + " in the item")
		}
		if v.Type() != kd.typ {
			if isKey {
				return "", validationErr(MsgKeySchemaMismatch)
			}
			return "", validationErr("One or more parameter values were invalid: Type mismatch for key " + kd.name + " expected: " + kd.typ + " actual: " + v.Type())
		}
		if (kd.typ == expr.TypeS && v.Str() == "") || (kd.typ == expr.TypeB && len(v.Bytes()) == 0) {
			return "", validationErr("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty " + map[string]string{expr.TypeS: "string", expr.TypeB: "binary"}[kd.typ] + " value. Key: " + kd.name)
		}
		enc := encodeKey(v)
		b.WriteString(strconv.Itoa(len(enc)))
		b.WriteByte(':')
		b.WriteString(enc)
	}
	return b.String(), nil
}

// checkItem validates a whole item for storage: its primary key, the types
// of its index key attributes, and its size. It returns the encoded key and
// the size.
func (t *table) checkItem(item expr.Item, tooLarge string) (string, int, error) {
	pk, err := t.keyOf(item, false)
	if err != nil {
		return "", 0, err
	}
	for _, name := range sortedIndexNames(t.indexes) {
		ix := t.indexes[name]
		for _, kd := range []keyDef{ix.keys.hash, ix.keys.rng} {
			if kd.name == "" {
				continue
			}
			v, ok := item[kd.name]
			if !ok {
				continue
			}
			if v.Type() != kd.typ {
				return "", 0, validationErr("One or more parameter values were invalid: Type mismatch for Index Key " + kd.name + " Expected: " + kd.typ + " Actual: " + v.Type() + " IndexName: " + name)
			}
			if (kd.typ == expr.TypeS && v.Str() == "") || (kd.typ == expr.TypeB && len(v.Bytes()) == 0) {
				return "", 0, validationErr("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty " + map[string]string{expr.TypeS: "string", expr.TypeB: "binary"}[kd.typ] + " value. IndexName: " + name + ", IndexKey: " + kd.name)
			}
		}
	}
	size := expr.ItemSize(item)
	if size > MaxItemBytes {
		return "", 0, validationErr(tooLarge)
	}
	return pk, size, nil
}

// get returns the stored record with the key of item, or nil.
func (t *table) get(item expr.Item, pk string) *record {
	return t.items.get(&record{item: item, pk: pk})
}

// put stores rec, replacing any record with the same key.
func (t *table) put(rec *record) {
	if old := t.items.put(rec); old != nil {
		t.bytes -= int64(old.size)
	}
	t.bytes += int64(rec.size)
	t.stale()
}

// remove deletes the record with the key of item, returning it.
func (t *table) remove(item expr.Item, pk string) *record {
	old := t.items.remove(&record{item: item, pk: pk})
	if old != nil {
		t.bytes -= int64(old.size)
		t.stale()
	}
	return old
}

// keyItem is the primary key attributes of item.
func (k keySchema) keyItem(item expr.Item) expr.Item {
	out := expr.Item{k.hash.name: item[k.hash.name]}
	if k.rng.name != "" {
		out[k.rng.name] = item[k.rng.name]
	}
	return out
}
