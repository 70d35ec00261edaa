package dynamodb

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
)

// decodeGetItemFast decodes the common GetItem request body without
// encoding/json: the one an SDK sends to read an item by its key, whose
// decoding was about half of the handler's time in a profile. It accepts only a strict subset of JSON and of
// the request's members, and reports ok=false for anything else, so that the
// caller decodes the body with decodeRequest as before: every error message
// and every unusual request (escapes in strings, null members, unknown or
// differently cased member names, repeated members, legacy parameters,
// ExpressionAttributeValues, attribute types other than S, N and B, numbers
// or base64 that do not parse) still goes through the one general path.
//
// The subset: one JSON object with the members TableName (string), Key
// (object of attribute name to {"S"|"N"|"B": string}), ConsistentRead (true
// or false), ProjectionExpression (string), ExpressionAttributeNames (object
// of string to string) and ReturnConsumedCapacity (string), in any order,
// each at most once, with JSON whitespace between tokens; strings without
// backslashes or control characters, valid UTF-8. FuzzGetItemFastDecode
// checks that whatever it accepts decodes to the same request as the general
// path.
func decodeGetItemFast(body []byte) (*GetItemInput, bool) {
	d := fastDecoder{buf: body}
	in := &GetItemInput{}
	if !d.consume('{') {
		return nil, false
	}
	const (
		seenTable = 1 << iota
		seenKey
		seenConsistent
		seenProjection
		seenNames
		seenCapacity
	)
	seen := 0
	once := func(bit int) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	if !d.consume('}') {
		for {
			name, ok := d.str()
			if !ok || !d.consume(':') {
				return nil, false
			}
			switch string(name) {
			case "TableName":
				if !once(seenTable) {
					return nil, false
				}
				if in.TableName, ok = d.text(); !ok {
					return nil, false
				}
			case "Key":
				if !once(seenKey) {
					return nil, false
				}
				if in.Key, ok = d.key(); !ok {
					return nil, false
				}
			case "ConsistentRead":
				if !once(seenConsistent) {
					return nil, false
				}
				if in.ConsistentRead, ok = d.boolean(); !ok {
					return nil, false
				}
			case "ProjectionExpression":
				if !once(seenProjection) {
					return nil, false
				}
				if in.ProjectionExpression, ok = d.text(); !ok {
					return nil, false
				}
			case "ExpressionAttributeNames":
				if !once(seenNames) {
					return nil, false
				}
				if in.ExpressionAttributeNames, ok = d.names(); !ok {
					return nil, false
				}
			case "ReturnConsumedCapacity":
				if !once(seenCapacity) {
					return nil, false
				}
				if in.ReturnConsumedCapacity, ok = d.text(); !ok {
					return nil, false
				}
			default:
				return nil, false
			}
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				break
			}
			return nil, false
		}
	}
	d.space()
	if d.pos != len(d.buf) {
		return nil, false
	}
	return in, true
}

// fastDecoder scans the subset of JSON decodeGetItemFast accepts; every
// method reports false for anything outside it.
type fastDecoder struct {
	buf []byte
	pos int
}

func (d *fastDecoder) space() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// consume skips whitespace and then c if it comes next.
func (d *fastDecoder) consume(c byte) bool {
	d.space()
	if d.pos < len(d.buf) && d.buf[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// str is a string token's bytes, within buf: no escapes, no control
// characters, valid UTF-8 (encoding/json would replace invalid bytes).
func (d *fastDecoder) str() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start, ascii := d.pos, true
	for d.pos < len(d.buf) {
		c := d.buf[d.pos]
		switch {
		case c == '"':
			s := d.buf[start:d.pos]
			d.pos++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.pos++
	}
	return nil, false
}

func (d *fastDecoder) text() (string, bool) {
	s, ok := d.str()
	return string(s), ok
}

func (d *fastDecoder) boolean() (bool, bool) {
	d.space()
	rest := d.buf[d.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.pos += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.pos += 5
		return false, true
	}
	return false, false
}

// key decodes {"name": {"S"|"N"|"B": "..."}, ...}.
func (d *fastDecoder) key() (expr.Item, bool) {
	if !d.consume('{') {
		return nil, false
	}
	key := make(expr.Item, 2)
	if d.consume('}') {
		return key, true
	}
	for {
		name, ok := d.str()
		if !ok || !d.consume(':') {
			return nil, false
		}
		if _, dup := key[string(name)]; dup {
			return nil, false
		}
		v, ok := d.scalar()
		if !ok {
			return nil, false
		}
		key[string(name)] = v
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return key, true
		}
		return nil, false
	}
}

// scalar decodes {"S"|"N"|"B": "..."} with the expr package's constructors,
// as the general path does.
func (d *fastDecoder) scalar() (expr.Value, bool) {
	if !d.consume('{') {
		return expr.Value{}, false
	}
	typ, ok := d.str()
	if !ok || !d.consume(':') {
		return expr.Value{}, false
	}
	body, ok := d.str()
	if !ok || !d.consume('}') {
		return expr.Value{}, false
	}
	switch string(typ) {
	case expr.TypeS:
		return expr.S(string(body)), true
	case expr.TypeN:
		v, err := expr.N(string(body))
		return v, err == nil
	case expr.TypeB:
		b, err := base64.StdEncoding.DecodeString(string(body))
		return expr.B(b), err == nil
	}
	return expr.Value{}, false
}

// names decodes {"#n": "name", ...}.
func (d *fastDecoder) names() (map[string]string, bool) {
	if !d.consume('{') {
		return nil, false
	}
	names := map[string]string{}
	if d.consume('}') {
		return names, true
	}
	for {
		k, ok := d.str()
		if !ok || !d.consume(':') {
			return nil, false
		}
		if _, dup := names[string(k)]; dup {
			return nil, false
		}
		v, ok := d.text()
		if !ok {
			return nil, false
		}
		names[string(k)] = v
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return names, true
		}
		return nil, false
	}
}
