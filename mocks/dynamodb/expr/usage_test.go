package expr

import (
	"testing"
)

func TestCheckUnused(t *testing.T) {
	names := map[string]string{"#a": "a", "#b": "b", "#c": "c"}
	values := map[string]Value{":x": Num(1), ":y": Num(2), ":z": Num(3)}
	cond, err := ParseCondition(ConditionExpression, "#a = :x", names, values)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := ParseUpdate("SET #b = :y", names, values)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := ParseProjection("#a, #b", names)
	if err != nil {
		t.Fatal(err)
	}
	wantValidation(t, "names", CheckUnused(names, values, cond, upd),
		"Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}")
	wantValidation(t, "names", CheckUnused(names, values, cond, proj),
		"Value provided in ExpressionAttributeNames unused in expressions: keys: {#c}")
	delete(names, "#c")
	wantValidation(t, "values", CheckUnused(names, values, cond, upd),
		"Value provided in ExpressionAttributeValues unused in expressions: keys: {:z}")
	wantValidation(t, "two values", CheckUnused(names, values, upd, proj),
		"Value provided in ExpressionAttributeValues unused in expressions: keys: {:x, :z}")
	delete(values, ":z")
	if err := CheckUnused(names, values, cond, upd, (*Projection)(nil), (*KeyCondition)(nil), nil); err != nil {
		t.Errorf("all used: %v", err)
	}
	if err := CheckUnused(nil, nil); err != nil {
		t.Errorf("nothing provided: %v", err)
	}
	kc, err := ParseKeyCondition("#a = :x", names, values, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	wantValidation(t, "key condition", CheckUnused(names, values, kc),
		"Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}")
}

func TestValidateAttributeMaps(t *testing.T) {
	tests := []struct {
		names  map[string]string
		values map[string]Value
		want   string
	}{
		{nil, nil, ""},
		{map[string]string{"#a": "a", "#_1": "b"}, map[string]Value{":v": Num(1)}, ""},
		{map[string]string{}, nil, "ExpressionAttributeNames must not be empty"},
		{nil, map[string]Value{}, "ExpressionAttributeValues must not be empty"},
		{map[string]string{"a": "a"}, nil, `ExpressionAttributeNames contains invalid key: Syntax error; key: "a"`},
		{map[string]string{"#": "a"}, nil, `ExpressionAttributeNames contains invalid key: Syntax error; key: "#"`},
		{map[string]string{"#a-b": "a"}, nil, `ExpressionAttributeNames contains invalid key: Syntax error; key: "#a-b"`},
		{nil, map[string]Value{"v": Num(1)}, `ExpressionAttributeValues contains invalid key: Syntax error; key: "v"`},
		{nil, map[string]Value{"#v": Num(1)}, `ExpressionAttributeValues contains invalid key: Syntax error; key: "#v"`},
	}
	for _, tt := range tests {
		err := ValidateAttributeMaps(tt.names, tt.values)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%v %v: %v", tt.names, tt.values, err)
			}
			continue
		}
		wantValidation(t, tt.want, err, tt.want)
	}
}

func TestReservedWords(t *testing.T) {
	for _, w := range []string{"status", "name", "data", "date", "time", "timestamp", "value", "values", "key", "keys",
		"size", "count", "user", "table", "type", "order", "level", "owner", "group", "year", "month", "day", "hour",
		"items", "comment", "connection", "state", "region", "zone", "range", "hash", "STATUS", "Status"} {
		if !IsReservedWord(w) {
			t.Errorf("%s should be reserved", w)
		}
	}
	for _, w := range []string{"pk", "sk", "id", "email", "createdAt", "absent"} {
		if IsReservedWord(w) {
			t.Errorf("%s should not be reserved", w)
		}
	}
}
