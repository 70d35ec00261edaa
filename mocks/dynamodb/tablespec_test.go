package dynamodb

import "testing"

func TestTableSpecText(t *testing.T) {
	good := map[string]TableSpec{
		"leases:id":        {Name: "leases", HashKey: "id"},
		"events:pk:S,ts:N": {Name: "events", HashKey: "pk", HashType: "S", RangeKey: "ts", RangeType: "N"},
		"blobs:k:B":        {Name: "blobs", HashKey: "k", HashType: "B"},
		"pairs:a,b":        {Name: "pairs", HashKey: "a", RangeKey: "b"},
	}
	for spec, want := range good {
		var got TableSpec
		if err := got.UnmarshalText([]byte(spec)); err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", spec, got, err, want)
		}
		if b, _ := got.MarshalText(); string(b) != spec {
			t.Errorf("%+v: marshals to %q, want %q", got, b, spec)
		}
	}
	for _, spec := range []string{"leases", ":id", "leases:", "t:id:X", "t::S"} {
		var ts TableSpec
		if err := ts.UnmarshalText([]byte(spec)); err == nil {
			t.Errorf("%q: accepted", spec)
		}
	}
}
