package catalogue

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// Instance is one service instance of a stack's plan.
type Instance struct {
	Name    string // dwfm-a
	Kind    string // dwfm
	AZ      string // a, or "" for a kind with one instance
	Seed    int64  // InstanceSeed(run seed, Name)
	Service *Service
}

// Link is one faultable connection between two instances: one proxy named
// LinkName(From, To).
type Link struct{ Name, From, To string }

// LinkName is the name of the link from one instance to another.
func LinkName(from, to string) string { return from + "__" + to }

// Plan is a stack's instances in start order and its links in creation
// order: the same on every backend for the same kinds and seed.
type Plan struct {
	Instances []Instance
	Links     []Link
}

// NewPlan is the plan of a stack that runs the kinds wants accepts (nil:
// every kind), seeded from seed. It refuses a kind without one it
// requires.
func NewPlan(wants func(kind string) bool, seed int64) (Plan, error) {
	if wants == nil {
		wants = func(string) bool { return true }
	}
	var p Plan
	for _, s := range Services {
		if !wants(s.Kind) {
			continue
		}
		for _, dep := range s.Requires {
			if !wants(dep) {
				return Plan{}, fmt.Errorf("%s needs %s: add it to WithServices", s.Kind, dep)
			}
		}
		for i, name := range s.Instances() {
			in := Instance{Name: name, Kind: s.Kind, Seed: InstanceSeed(seed, name), Service: s}
			if s.PerAZ {
				in.AZ = AZs[i]
			}
			p.Instances = append(p.Instances, in)
		}
	}
	// Links in catalogue order of their client, then of the link list, so
	// a link's place (its port on the containers' proxy) depends on the
	// catalogue only.
	for _, s := range Services {
		if !wants(s.Kind) {
			continue
		}
		for _, to := range s.Links {
			if !wants(to) {
				continue
			}
			for _, from := range s.Instances() {
				for _, t := range Lookup(to).Instances() {
					p.Links = append(p.Links, Link{Name: LinkName(from, t), From: from, To: t})
				}
			}
		}
	}
	return p, nil
}

// LinksFrom lists the links whose client side is instance, in creation
// order.
func (p Plan) LinksFrom(instance string) []Link {
	var out []Link
	for _, l := range p.Links {
		if l.From == instance {
			out = append(out, l)
		}
	}
	return out
}

// Names are the instances' names in start order.
func (p Plan) Names() []string {
	out := make([]string, len(p.Instances))
	for i, in := range p.Instances {
		out[i] = in.Name
	}
	return out
}

// InstanceSeed is the seed of an instance's randomness: a hash of the run's
// seed and the instance's name, never of its place in a list, so adding a
// service or starting a subset leaves every other instance's seed as it
// was, on every backend.
func InstanceSeed(runSeed int64, instance string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(instance))
	// splitmix64's finaliser spreads nearby run seeds over the whole range.
	z := uint64(runSeed) ^ h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z >> 1) // non-negative: math/rand sources take any int64, env vars read better
}

// KindOf is the kind of an instance name ("dwfm-a" -> "dwfm"), or the name
// itself.
func KindOf(instance string) string {
	for _, s := range Services {
		if instance == s.Kind || (s.PerAZ && strings.HasPrefix(instance, s.Kind+"-")) {
			return s.Kind
		}
	}
	return instance
}

// Wave is an instance's start wave on a backend that starts instances
// concurrently: 0 for a kind that requires and links to nothing, 1 for the
// rest. The catalogue lists the first kind before the second, so waves
// follow the plan's order and no instance starts before one it needs.
func (in Instance) Wave() int {
	if len(in.Service.Requires) == 0 && len(in.Service.Links) == 0 {
		return 0
	}
	return 1
}

// checkOrder is the catalogue's invariant: every entry after what it
// requires and links to.
func checkOrder() error {
	var seen []string
	for _, s := range Services {
		for _, dep := range append(slices.Clone(s.Requires), s.Links...) {
			if !slices.Contains(seen, dep) {
				return fmt.Errorf("%s comes before %s, which it needs", s.Kind, dep)
			}
		}
		seen = append(seen, s.Kind)
	}
	return nil
}
