package expr

import (
	"slices"
)

// Projection is a parsed ProjectionExpression. A nil *Projection keeps
// every attribute.
type Projection struct {
	paths []docPath
	root  *projectionNode
	used  placeholders
}

// projectionNode is a trie of the projected paths. A node is either a leaf
// (keep the whole value) or selects map fields or list indexes; never both,
// because such paths conflict and are rejected at parse time.
type projectionNode struct {
	leaf    bool
	fields  map[string]*projectionNode
	indexes map[int]*projectionNode
}

// ParseProjection parses a comma-separated list of document paths.
// ProjectionExpression cannot use ExpressionAttributeValues.
func ParseProjection(expression string, names map[string]string) (*Projection, error) {
	p, err := newParser(ProjectionExpression, expression, names, nil)
	if err != nil {
		return nil, err
	}
	var paths []docPath
	for {
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		paths = append(paths, path)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	if err := checkPathSet("Invalid ProjectionExpression: ", paths); err != nil {
		return nil, err
	}
	root := &projectionNode{}
	for _, path := range paths {
		root.insert(path)
	}
	return &Projection{paths: paths, root: root, used: p.used()}, nil
}

func (n *projectionNode) insert(path docPath) {
	for _, e := range path {
		var next *projectionNode
		if e.isIndex {
			if n.indexes == nil {
				n.indexes = map[int]*projectionNode{}
			}
			if next = n.indexes[e.index]; next == nil {
				next = &projectionNode{}
				n.indexes[e.index] = next
			}
		} else {
			if n.fields == nil {
				n.fields = map[string]*projectionNode{}
			}
			if next = n.fields[e.name]; next == nil {
				next = &projectionNode{}
				n.fields[e.name] = next
			}
		}
		n = next
	}
	n.leaf = true
}

// Attributes returns the projected top-level attribute names, sorted.
func (p *Projection) Attributes() []string {
	if p == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, path := range p.paths {
		seen[path[0].name] = true
	}
	return sortedKeys(seen)
}

// Apply returns a new item holding only the projected paths. Nested
// structure is preserved: "a.b" yields {a: {b: ...}}, and list indexes keep
// the selected elements in index order ("l[3], l[1]" yields [l1, l3]). Paths
// that do not exist are omitted.
func (p *Projection) Apply(item Item) Item {
	if p == nil {
		return item
	}
	out := Item{}
	for name, node := range p.root.fields {
		if v, ok := item[name]; ok {
			if projected, ok := node.project(v); ok {
				out[name] = projected
			}
		}
	}
	return out
}

func (n *projectionNode) project(v Value) (Value, bool) {
	if n.leaf {
		return v, true
	}
	if n.fields != nil {
		if v.typ != TypeM {
			return Value{}, false
		}
		out := map[string]Value{}
		for name, child := range n.fields {
			if cv, ok := v.m[name]; ok {
				if projected, ok := child.project(cv); ok {
					out[name] = projected
				}
			}
		}
		return M(out), len(out) > 0
	}
	if v.typ != TypeL {
		return Value{}, false
	}
	indexes := make([]int, 0, len(n.indexes))
	for i := range n.indexes {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	var out []Value
	for _, i := range indexes {
		if i < len(v.l) {
			if projected, ok := n.indexes[i].project(v.l[i]); ok {
				out = append(out, projected)
			}
		}
	}
	return L(out...), len(out) > 0
}

// UsedNames returns the #placeholders the expression referenced, sorted.
func (p *Projection) UsedNames() []string {
	if p == nil {
		return nil
	}
	return p.used.names
}

// UsedValues returns the :placeholders the expression referenced, sorted.
func (p *Projection) UsedValues() []string {
	if p == nil {
		return nil
	}
	return p.used.values
}
