package route53

import "sort"

// nameIndex keeps a zone's names sorted by sortKey for ListResourceRecordSets
// and empty-non-terminal checks. It is a list of sorted chunks of at most
// chunkMax nodes: a seek is two binary searches and an insert or delete moves
// at most one chunk, so a 200,000-name zone neither rebuilds nor shifts the
// whole order on every change.
type nameIndex struct {
	chunks [][]*node
	n      int
}

const chunkMax = 512

// pos is a position in the index.
type pos struct{ c, i int }

func (x *nameIndex) len() int { return x.n }

// seek returns the position of the first node whose key is >= key.
func (x *nameIndex) seek(key string) pos {
	c := sort.Search(len(x.chunks), func(c int) bool {
		ch := x.chunks[c]
		return ch[len(ch)-1].key >= key
	})
	if c == len(x.chunks) {
		return pos{c, 0}
	}
	ch := x.chunks[c]
	i := sort.Search(len(ch), func(i int) bool { return ch[i].key >= key })
	return pos{c, i}
}

// at returns the node at p, or nil past the end.
func (x *nameIndex) at(p pos) *node {
	if p.c >= len(x.chunks) {
		return nil
	}
	return x.chunks[p.c][p.i]
}

// next returns the position after p.
func (x *nameIndex) next(p pos) pos {
	p.i++
	if p.i >= len(x.chunks[p.c]) {
		return pos{p.c + 1, 0}
	}
	return p
}

// insert adds n (whose key is not yet present).
func (x *nameIndex) insert(n *node) {
	x.n++
	if len(x.chunks) == 0 {
		x.chunks = [][]*node{{n}}
		return
	}
	p := x.seek(n.key)
	if p.c == len(x.chunks) {
		p = pos{p.c - 1, len(x.chunks[p.c-1])}
	}
	ch := x.chunks[p.c]
	ch = append(ch, nil)
	copy(ch[p.i+1:], ch[p.i:])
	ch[p.i] = n
	if len(ch) <= chunkMax {
		x.chunks[p.c] = ch
		return
	}
	half := len(ch) / 2
	left := append([]*node(nil), ch[:half]...)
	right := append(make([]*node, 0, chunkMax+1), ch[half:]...)
	x.chunks = append(x.chunks, nil)
	copy(x.chunks[p.c+2:], x.chunks[p.c+1:])
	x.chunks[p.c], x.chunks[p.c+1] = left, right
}

// remove deletes the node with key, if present.
func (x *nameIndex) remove(key string) {
	p := x.seek(key)
	n := x.at(p)
	if n == nil || n.key != key {
		return
	}
	x.n--
	ch := x.chunks[p.c]
	copy(ch[p.i:], ch[p.i+1:])
	ch[len(ch)-1] = nil
	ch = ch[:len(ch)-1]
	if len(ch) == 0 {
		x.chunks = append(x.chunks[:p.c], x.chunks[p.c+1:]...)
		return
	}
	x.chunks[p.c] = ch
}
