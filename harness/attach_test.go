package harness

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseAttachReadsImageAndKeys(t *testing.T) {
	a, err := ParseAttach("registry.local/team/orders:1.2,env=TABLE=orders,env=MODE=a=b,name=orders-api,port=8080")
	if err != nil {
		t.Fatal(err)
	}
	want := Attachment{Image: "registry.local/team/orders:1.2", Name: "orders-api", Port: 8080,
		Env: map[string]string{"TABLE": "orders", "MODE": "a=b"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got %+v, want %+v", a, want)
	}
	a, err = ParseAttach("team/orders:local")
	if err != nil || a.Name != "orders" || a.Port != 0 || a.Env != nil {
		t.Errorf("an image alone: %+v %v (want name orders from the image)", a, err)
	}
}

func TestParseAttachRefusesBadValuesNamingTheValidKeys(t *testing.T) {
	for _, tc := range []struct{ in, says string }{
		{"", "the image comes first"},
		{"name=orders", "the image comes first"},
		{"orders:local,volume=/x", "valid keys are env, name, port"},
		{"orders:local,orders", "valid keys are env, name, port"},
		{"orders:local,env=NOVALUE", "want env=KEY=VALUE"},
		{"orders:local,port=http", "want a TCP port 1-65535"},
		{"orders:local,port=70000", "want a TCP port 1-65535"},
		{"orders:local,name=Orders API", "lower-case letters"},
	} {
		_, err := ParseAttach(tc.in)
		if !errors.Is(err, ErrBadAttach) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseAttach(%q) = %v, want an ErrBadAttach saying %q", tc.in, err, tc.says)
		}
	}
}

func TestWithAttachRefusesNamesTheStackUses(t *testing.T) {
	for _, name := range []string{"dwfm-a", "route53", "dynamodb", "ddb-lb-b", "toxiproxy", "harness"} {
		if _, err := NewOptions(WithAttach(Attachment{Image: "x:local", Name: name})); !errors.Is(err, ErrBadAttach) || !strings.Contains(err.Error(), "is taken") {
			t.Errorf("attachment named %s: %v, want it refused", name, err)
		}
	}
	if _, err := NewOptions(WithAttach(Attachment{Image: "a/orders:1"}, Attachment{Image: "b/orders:2"})); !errors.Is(err, ErrBadAttach) {
		t.Errorf("two attachments named orders: %v, want refused", err)
	}
	o, err := NewOptions(WithAttach(Attachment{Image: "a/orders:1"}, Attachment{Image: "b/orders:2", Name: "orders-2"}))
	if err != nil || len(o.Attach) != 2 || o.Attach[0].Name != "orders" {
		t.Errorf("two distinct attachments: %+v %v", o.Attach, err)
	}
}

func TestEmbeddedLikeBackendsRefuseAttachments(t *testing.T) {
	o, _ := NewOptions(WithAttach(Attachment{Image: "orders:local"}))
	if err := CheckNoAttach(o, "embedded"); !errors.Is(err, ErrBadAttach) || !strings.Contains(err.Error(), "containers or compose") {
		t.Errorf("CheckNoAttach: %v", err)
	}
}

func TestAWSEnvAndCheckInstanceCoverAttachedContainers(t *testing.T) {
	ep := Endpoints{DNS: "10.200.0.2:53", DynamoDBPort: 8000, EC2API: "http://10.200.0.41:8080",
		Admin: map[string]string{"dwfm-a": "http://x"}, Attached: []AttachedService{{Name: "orders"}}}
	env := strings.Join(AWSEnv(ep), "\n")
	for _, want := range []string{"AWS_REGION=us-east-1", "CASCADE_DNS=10.200.0.2:53",
		"AWS_ENDPOINT_URL_DYNAMODB=http://dynamodb.us-east-1.amazonaws.com:8000", "AWS_ENDPOINT_URL_EC2=http://10.200.0.41:8080", "AWS_ACCESS_KEY_ID="} {
		if !strings.Contains(env, want) {
			t.Errorf("AWSEnv lacks %q:\n%s", want, env)
		}
	}
	if err := ep.CheckInstance("orders"); err != nil {
		t.Errorf("attached orders: %v", err)
	}
	if err := ep.CheckInstance("dwfm-a"); err != nil {
		t.Errorf("dwfm-a: %v", err)
	}
	if err := ep.CheckInstance("billing"); !errors.Is(err, ErrUnknownService) || !strings.Contains(err.Error(), "dwfm-a, orders") {
		t.Errorf("unknown instance: %v, want the valid ones (dwfm-a, orders)", err)
	}
}
