package harness

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cascade-lab/cascade/harness/catalogue"
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
)

// Attachment is a user's container attached to a containers or compose
// stack (cascade up --attach, WithAttach): it joins the stack's network,
// resolves every name through the mock DNS, gets the stack's AWS
// environment (AWSEnv) and is stopped, paused and restarted by the same
// faults as the mocks, under its Name.
type Attachment struct {
	// Image is the image to run; it must be present (nothing is pulled).
	Image string `json:"image"`
	// Name is the instance name faults and Control use (default: the
	// image's last path element without its tag).
	Name string `json:"name"`
	// Env is added to the AWS environment and wins over it.
	Env map[string]string `json:"env,omitempty"`
	// Port, when not 0, is a TCP port the container listens on: its start
	// (and a restart) waits until the port accepts connections, and
	// Endpoints.Attached gives its address.
	Port int `json:"port,omitempty"`
}

// AttachKeys are the keys an --attach value takes after the image.
var AttachKeys = []string{"env", "name", "port"}

// ErrBadAttach marks an attachment that cannot be parsed or run.
var ErrBadAttach = errors.New("bad attachment")

var attachName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ParseAttach parses IMAGE[,env=K=V...][,name=N][,port=P], the value of
// cascade up --attach. A bad value is an error naming the valid keys.
func ParseAttach(s string) (Attachment, error) {
	parts := strings.Split(s, ",")
	a := Attachment{Image: strings.TrimSpace(parts[0])}
	if a.Image == "" || strings.Contains(a.Image, "=") {
		return a, fmt.Errorf("%w %q: the image comes first: IMAGE[,env=K=V...][,name=N][,port=P]", ErrBadAttach, s)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !slices.Contains(AttachKeys, k) {
			return a, fmt.Errorf("%w %q: unknown key %q: valid keys are %s", ErrBadAttach, s, k, strings.Join(AttachKeys, ", "))
		}
		switch k {
		case "env":
			ek, ev, ok := strings.Cut(v, "=")
			if !ok || ek == "" {
				return a, fmt.Errorf("%w %q: env=%s: want env=KEY=VALUE", ErrBadAttach, s, v)
			}
			if a.Env == nil {
				a.Env = map[string]string{}
			}
			a.Env[ek] = ev
		case "name":
			a.Name = v
		case "port":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return a, fmt.Errorf("%w %q: port=%s: want a TCP port 1-65535", ErrBadAttach, s, v)
			}
			a.Port = n
		}
	}
	return a, a.validate()
}

// validate fills the default name and checks it.
func (a *Attachment) validate() error {
	if a.Image == "" {
		return fmt.Errorf("%w: no image", ErrBadAttach)
	}
	if a.Name == "" {
		n := a.Image
		if i := strings.LastIndex(n, "/"); i >= 0 {
			n = n[i+1:]
		}
		if i := strings.IndexAny(n, ":@"); i >= 0 {
			n = n[:i]
		}
		a.Name = n
	}
	if !attachName.MatchString(a.Name) {
		return fmt.Errorf("%w %s: name %q: lower-case letters, digits, '-', '_' and '.', at most 63", ErrBadAttach, a.Image, a.Name)
	}
	if a.Port < 0 || a.Port > 65535 {
		return fmt.Errorf("%w %s: port %d: want a TCP port 1-65535", ErrBadAttach, a.Image, a.Port)
	}
	return nil
}

// WithAttach attaches users' containers to the stack (backends containers
// and compose; the others refuse it, see docs/attach.md). Names must be
// unique and not name an instance of the stack.
func WithAttach(as ...Attachment) Option {
	return func(o *Options) error {
		for _, a := range as {
			if err := a.validate(); err != nil {
				return err
			}
			if reservedName(a.Name) || slices.ContainsFunc(o.Attach, func(b Attachment) bool { return b.Name == a.Name }) {
				return fmt.Errorf("%w %s: name %q is taken (by a service of the stack or another attachment): give it name=...", ErrBadAttach, a.Image, a.Name)
			}
			o.Attach = append(o.Attach, a)
		}
		return nil
	}
}

// reservedName reports whether name is taken by the stack itself: a
// service instance, a proxy or the harness's own events.
func reservedName(name string) bool {
	if name == "toxiproxy" || name == "harness" || strings.HasPrefix(name, "ddb-lb-") {
		return true
	}
	kind := catalogue.KindOf(name)
	return slices.ContainsFunc(catalogue.Services, func(s *catalogue.Service) bool { return s.Kind == kind })
}

// CheckNoAttach is what a backend that cannot attach containers returns
// from its start when o asks for attachments.
func CheckNoAttach(o Options, backend string) error {
	if len(o.Attach) == 0 {
		return nil
	}
	return fmt.Errorf("%w: backend %s cannot attach containers (%s): attach them to a containers or compose stack, or run your process with the stack's AWS environment (AWSEnv, cascadetest's Stack.Env)",
		ErrBadAttach, backend, o.Attach[0].Image)
}

// AttachedService is an attached container as the endpoints give it.
type AttachedService struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	IP    string `json:"ip"`
	// Addr is ip:port when the attachment gave a port.
	Addr string `json:"addr,omitempty"`
}

// DNSEnv names the variable AWSEnv gives the stack's DNS server in.
const DNSEnv = "CASCADE_DNS"

// awsEnvKeys maps SDK service IDs to their AWS_ENDPOINT_URL_* variable.
var awsEnvKeys = map[string]string{"DynamoDB": "AWS_ENDPOINT_URL_DYNAMODB", "Route 53": "AWS_ENDPOINT_URL_ROUTE_53",
	"EC2": "AWS_ENDPOINT_URL_EC2", "SQS": "AWS_ENDPOINT_URL_SQS", "Lambda": "AWS_ENDPOINT_URL_LAMBDA",
	"STS": "AWS_ENDPOINT_URL_STS", "ECS": "AWS_ENDPOINT_URL_ECS"}

// ServiceEndpoints maps SDK service IDs ("DynamoDB", "Route 53", "EC2",
// "SQS", "Lambda", "STS", "ECS") to the stack's endpoints; DynamoDB's is its
// real regional hostname, which only the stack's DNS resolves.
func ServiceEndpoints(ep Endpoints) map[string]string {
	out := map[string]string{}
	if ep.DynamoDBPort != 0 {
		host := ep.DynamoDBHost
		if host == "" {
			host = awsclient.DynamoDBHost
		}
		out["DynamoDB"] = "http://" + host + ":" + strconv.Itoa(ep.DynamoDBPort)
	}
	if ep.Route53API != "" {
		out["Route 53"] = ep.Route53API
	}
	for id, u := range map[string]string{"EC2": ep.EC2API, "SQS": ep.SQSAPI, "Lambda": ep.LambdaAPI, "STS": ep.STSAPI, "ECS": ep.ECSAPI} {
		if u != "" {
			out[id] = u
		}
	}
	return out
}

// AWSEnv is the environment a process or container needs to use the stack
// as AWS: region, the static credentials the mocks accept,
// AWS_ENDPOINT_URL_<SERVICE> of every mocked service, no instance metadata,
// and CASCADE_DNS, the DNS server that resolves DynamoDB's regional
// hostname. Sorted KEY=VALUE strings.
func AWSEnv(ep Endpoints) []string {
	v, _ := awsclient.Credentials.Retrieve(context.Background())
	env := []string{"AWS_REGION=" + awsclient.Region, "AWS_DEFAULT_REGION=" + awsclient.Region,
		"AWS_ACCESS_KEY_ID=" + v.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + v.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true", DNSEnv + "=" + ep.DNS}
	for id, u := range ServiceEndpoints(ep) {
		env = append(env, awsEnvKeys[id]+"="+u)
	}
	sort.Strings(env)
	return env
}

// CheckInstance reports whether name is an instance faults and Control can
// act on (a service with an admin API or an attached container); the error
// names the valid ones.
func (e Endpoints) CheckInstance(name string) error {
	if _, ok := e.Admin[name]; ok {
		return nil
	}
	for _, a := range e.Attached {
		if a.Name == name {
			return nil
		}
	}
	names := e.Instances()
	for _, a := range e.Attached {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("%w %q: valid services are %s", ErrUnknownService, name, strings.Join(names, ", "))
}
