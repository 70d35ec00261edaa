package expr

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// pathElem is one step of a document path: a map key or a list index.
type pathElem struct {
	name    string // resolved attribute name (after #placeholder substitution)
	index   int
	isIndex bool
}

// docPath is a resolved document path such as a.b[2].c.
type docPath []pathElem

// String renders the path in expression syntax with names resolved.
func (p docPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if e.isIndex {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// messageForm renders the path the way DynamoDB lists paths in overlap and
// conflict messages: [a, b, [2]].
func (p docPath) messageForm() string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.isIndex {
			parts[i] = "[" + strconv.Itoa(e.index) + "]"
		} else {
			parts[i] = e.name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// lookup returns the value at the path, or the zero Value if any step is
// missing or has the wrong container type.
func (p docPath) lookup(item Item) Value {
	if len(p) == 0 {
		return Value{}
	}
	v, ok := item[p[0].name]
	if !ok {
		return Value{}
	}
	for _, e := range p[1:] {
		v = child(v, e)
		if v.IsZero() {
			return Value{}
		}
	}
	return v
}

func child(v Value, e pathElem) Value {
	if e.isIndex {
		if v.typ != TypeL || e.index >= len(v.l) {
			return Value{}
		}
		return v.l[e.index]
	}
	if v.typ != TypeM {
		return Value{}
	}
	return v.m[e.name]
}

// pathRelation compares two paths for the overlap/conflict checks DynamoDB
// applies to projections and update actions.
type pathRelation int

const (
	pathsDisjoint pathRelation = iota
	pathsOverlap               // one path is a prefix of (or equal to) the other
	pathsConflict              // same prefix, then a map key versus a list index
)

func relate(a, b docPath) pathRelation {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		if x.isIndex != y.isIndex {
			return pathsConflict
		}
		if x.isIndex && x.index != y.index || !x.isIndex && x.name != y.name {
			return pathsDisjoint
		}
	}
	return pathsOverlap
}

// checkPathSet rejects overlapping or conflicting paths with DynamoDB's
// messages; prefix is "Invalid <Kind>: ".
func checkPathSet(prefix string, paths []docPath) error {
	for i := range paths {
		for j := i + 1; j < len(paths); j++ {
			switch relate(paths[i], paths[j]) {
			case pathsOverlap:
				return validation(prefix + "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: " +
					paths[i].messageForm() + ", path two: " + paths[j].messageForm())
			case pathsConflict:
				return validation(prefix + "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: " +
					paths[i].messageForm() + ", path two: " + paths[j].messageForm())
			}
		}
	}
	return nil
}

var errInvalidUpdatePath = validation("The document path provided in the update expression is invalid for update")

// setPath returns a copy of item with v stored at the path. Containers along
// the path are copied, never modified, so values shared with the original
// item stay intact. As in DynamoDB, every step but the last must exist, and
// an index past the end of a list appends.
func setPath(item Item, p docPath, v Value) (Item, error) {
	out := maps.Clone(item)
	if out == nil {
		out = Item{}
	}
	if len(p) == 1 {
		out[p[0].name] = v
		return out, nil
	}
	root, ok := item[p[0].name]
	if !ok {
		return nil, errInvalidUpdatePath
	}
	updated, err := setIn(root, p[1:], v)
	if err != nil {
		return nil, err
	}
	out[p[0].name] = updated
	return out, nil
}

func setIn(container Value, rest docPath, v Value) (Value, error) {
	e := rest[0]
	last := len(rest) == 1
	if e.isIndex {
		if container.typ != TypeL {
			return Value{}, errInvalidUpdatePath
		}
		list := slices.Clone(container.l)
		if e.index >= len(list) {
			if !last {
				return Value{}, errInvalidUpdatePath
			}
			return L(append(list, v)...), nil
		}
		if last {
			list[e.index] = v
		} else {
			updated, err := setIn(list[e.index], rest[1:], v)
			if err != nil {
				return Value{}, err
			}
			list[e.index] = updated
		}
		return L(list...), nil
	}
	if container.typ != TypeM {
		return Value{}, errInvalidUpdatePath
	}
	m := maps.Clone(container.m)
	if last {
		m[e.name] = v
		return M(m), nil
	}
	next, ok := m[e.name]
	if !ok {
		return Value{}, errInvalidUpdatePath
	}
	updated, err := setIn(next, rest[1:], v)
	if err != nil {
		return Value{}, err
	}
	m[e.name] = updated
	return M(m), nil
}

// removePath returns a copy of item without the path; removing something that
// does not exist is a no-op, as in DynamoDB. Removing a list element shifts
// the following ones down.
func removePath(item Item, p docPath) Item {
	root, ok := item[p[0].name]
	if !ok {
		return item
	}
	out := maps.Clone(item)
	if len(p) == 1 {
		delete(out, p[0].name)
		return out
	}
	if updated, changed := removeIn(root, p[1:]); changed {
		out[p[0].name] = updated
	}
	return out
}

func removeIn(container Value, rest docPath) (Value, bool) {
	e := rest[0]
	last := len(rest) == 1
	if e.isIndex {
		if container.typ != TypeL || e.index >= len(container.l) {
			return container, false
		}
		list := slices.Clone(container.l)
		if last {
			return L(slices.Delete(list, e.index, e.index+1)...), true
		}
		updated, changed := removeIn(list[e.index], rest[1:])
		if !changed {
			return container, false
		}
		list[e.index] = updated
		return L(list...), true
	}
	if container.typ != TypeM {
		return container, false
	}
	next, ok := container.m[e.name]
	if !ok {
		return container, false
	}
	m := maps.Clone(container.m)
	if last {
		delete(m, e.name)
		return M(m), true
	}
	updated, changed := removeIn(next, rest[1:])
	if !changed {
		return container, false
	}
	m[e.name] = updated
	return M(m), true
}
