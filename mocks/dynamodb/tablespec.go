package dynamodb

import (
	"fmt"
	"strings"
)

// MarshalText writes the spec as its --table flag reads it:
// name:hash[:type][,range[:type]].
func (s TableSpec) MarshalText() ([]byte, error) {
	out := s.Name + ":" + s.HashKey
	if s.HashType != "" {
		out += ":" + s.HashType
	}
	if s.RangeKey != "" {
		out += "," + s.RangeKey
		if s.RangeType != "" {
			out += ":" + s.RangeType
		}
	}
	return []byte(out), nil
}

// UnmarshalText parses "leases:id" or "events:pk:S,ts:N"; key types are S,
// N or B (default S).
func (s *TableSpec) UnmarshalText(b []byte) error {
	spec := string(b)
	var ts TableSpec
	name, keys, ok := strings.Cut(spec, ":")
	if !ok || name == "" || keys == "" {
		return fmt.Errorf("table %q: want name:hash[:S|N|B][,range[:S|N|B]]", spec)
	}
	ts.Name = name
	hash, rng, _ := strings.Cut(keys, ",")
	ts.HashKey, ts.HashType, _ = strings.Cut(hash, ":")
	if rng != "" {
		ts.RangeKey, ts.RangeType, _ = strings.Cut(rng, ":")
	}
	if ts.HashKey == "" {
		return fmt.Errorf("table %q: the hash key needs a name", spec)
	}
	for _, t := range []string{ts.HashType, ts.RangeType} {
		switch t {
		case "", "S", "N", "B":
		default:
			return fmt.Errorf("table %q: key type %q: valid types are S, N, B", spec, t)
		}
	}
	*s = ts
	return nil
}
