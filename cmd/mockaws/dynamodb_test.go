package main

import (
	"testing"

	"github.com/cascade-lab/cascade/mocks/dynamodb"
)

func TestParseDynamoDBTable(t *testing.T) {
	good := map[string]dynamodb.TableSpec{
		"leases:id":        {Name: "leases", HashKey: "id"},
		"events:pk:S,ts:N": {Name: "events", HashKey: "pk", HashType: "S", RangeKey: "ts", RangeType: "N"},
		"blobs:k:B":        {Name: "blobs", HashKey: "k", HashType: "B"},
		"pairs:a,b":        {Name: "pairs", HashKey: "a", RangeKey: "b"},
	}
	for spec, want := range good {
		got, err := parseDynamoDBTable(spec)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, spec := range []string{"leases", ":id", "leases:", "t:id:X"} {
		if _, err := parseDynamoDBTable(spec); err == nil {
			t.Errorf("%q: accepted", spec)
		}
	}
}
