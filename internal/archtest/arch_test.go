package archtest

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/cascade-lab/cascade"

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath   string
	Dir          string
	Standard     bool
	GoFiles      []string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// list runs `go list -json` on patterns from the module's root.
func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = root(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

var (
	moduleOnce sync.Once
	modulePkgs []pkg
)

// modulePackages lists the module's packages once for every test.
func modulePackages(t *testing.T) []pkg {
	t.Helper()
	moduleOnce.Do(func() { modulePkgs = list(t, "./...") })
	if modulePkgs == nil {
		t.Fatal("go list ./... failed in an earlier test")
	}
	return modulePkgs
}

func root(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// rel is a module package's path inside the module ("" for others).
func rel(path string) (string, bool) {
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// layer ranks a module package: a package may import only packages of its
// own layer or below. cmd/ sits on top (the binaries wire everything).
func layer(r string) (int, string) {
	switch {
	case strings.HasPrefix(r, "cmd/"):
		return 6, "cmd"
	case strings.HasPrefix(r, "examples/"):
		return 6, "examples"
	case r == "cascadetest" || strings.HasPrefix(r, "cascadetest/"):
		return 5, "cascadetest"
	case strings.HasPrefix(r, "suites/"):
		return 5, "suites"
	case strings.HasPrefix(r, "experiments/"):
		return 4, "experiments"
	case strings.HasPrefix(r, "harness/") || r == "harness":
		return 3, "harness"
	case r == "mocks/kit" || strings.HasPrefix(r, "mocks/kit/"):
		return 1, "mocks/kit"
	case strings.HasPrefix(r, "mocks/"):
		return 2, "mocks"
	}
	return 0, "other"
}

// TestImportsPointDown: suites -> experiments -> harness -> mocks ->
// mocks/kit, nothing imports upward (tests included: a mock's test that
// needs the harness belongs in suites).
func TestImportsPointDown(t *testing.T) {
	for _, p := range modulePackages(t) {
		r, _ := rel(p.ImportPath)
		from, fromName := layer(r)
		if fromName == "other" {
			if !strings.HasPrefix(r, "internal/") {
				t.Errorf("%s is outside every layer of DESIGN.md's layout", r)
			}
			continue
		}
		for _, imp := range append(append(append([]string(nil), p.Imports...), p.TestImports...), p.XTestImports...) {
			ir, ok := rel(imp)
			if !ok {
				continue
			}
			to, toName := layer(ir)
			if to > from {
				t.Errorf("%s (%s) imports %s (%s): imports point suites -> experiments -> harness -> mocks -> mocks/kit", r, fromName, ir, toName)
			}
		}
	}
}

// publicImports are the module packages the public API for users' suites
// (cascadetest) may import, and those an example (a user's service and its
// suite, examples/) may: an example uses cascade only as a user's module
// would, through cascadetest, and cascadetest wraps the harness and the
// replay without the test framework's suites or the binaries.
var publicImports = map[string][]string{
	"cascadetest": {"cascadetest", "experiments/", "harness", "harness/", "mocks/kit"},
	"examples":    {"cascadetest", "examples/"},
}

// TestPublicAPILayers: cascadetest imports only the harness, the replay and
// mocks/kit (never suites, cmd or a mock service's server), and an example
// only cascadetest and its own packages (tests included).
func TestPublicAPILayers(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range modulePackages(t) {
		r, _ := rel(p.ImportPath)
		_, name := layer(r)
		allowed, ok := publicImports[name]
		if !ok {
			continue
		}
		seen[name] = true
		for _, imp := range append(append(append([]string(nil), p.Imports...), p.TestImports...), p.XTestImports...) {
			ir, ok := rel(imp)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(allowed, func(a string) bool {
				return ir == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(ir, a)) || strings.HasPrefix(ir, a+"/")
			}) {
				t.Errorf("%s (%s) imports %s: it may import only %s", r, name, ir, strings.Join(allowed, ", "))
			}
		}
	}
	for name := range publicImports {
		if !seen[name] {
			t.Errorf("no package of %s found: the rule checks nothing", name)
		}
	}
}

// shared are packages under mocks/ that are libraries, not services: any
// mock may import them.
var shared = map[string]bool{
	"mocks/dnsplan": true, // the plan format the planner writes and the enactors apply
}

// service is the service a mocks/ package belongs to ("mocks/dwfm" for
// mocks/dwfm/dwfmclient).
func service(r string) string {
	parts := strings.SplitN(r, "/", 3)
	if len(parts) < 2 {
		return r
	}
	return parts[0] + "/" + parts[1]
}

// TestMocksMeetThroughClients: a mock reaches another only through its
// client package (mocks/<svc>/<svc>client), so it does not link the other's
// server; kit and shared libraries excepted. Tests may build co-simulations
// of several cores.
func TestMocksMeetThroughClients(t *testing.T) {
	for _, p := range modulePackages(t) {
		r, _ := rel(p.ImportPath)
		if _, name := layer(r); name != "mocks" || shared[r] {
			continue
		}
		for _, imp := range p.Imports {
			ir, ok := rel(imp)
			if !ok {
				continue
			}
			if _, name := layer(ir); name != "mocks" || shared[ir] || service(ir) == service(r) {
				continue
			}
			svc := strings.TrimPrefix(service(ir), "mocks/")
			if ir != service(ir)+"/"+svc+"client" {
				t.Errorf("%s imports %s: a mock reaches another only through its client package (%s/%sclient)", r, ir, service(ir), svc)
			}
		}
	}
}

// cores lists each mock's core files (the mechanism) and the packages of its
// own, themselves pure, that they may import besides mocks/kit. Every mock
// with a core.go must be listed.
var cores = map[string]struct {
	files []string
	pure  []string
	// also lists standard packages this core keeps out besides banned's
	also []string
}{
	// dnsplan is the plan format both DNS cores speak; it also holds the
	// Route53 SDK adapter of its Store (route53.go), reached only through
	// the Store interface the transport passes in.
	"mocks/dnsenactor": {files: []string{"core.go"}, pure: []string{"mocks/dnsplan"}},
	"mocks/dnsplanner": {files: []string{"core.go"}, pure: []string{"mocks/dnsplan"}},
	"mocks/dwfm":       {files: []string{"core.go", "defaults.go"}},
	"mocks/dynamodb": {files: []string{"core.go", "items.go", "query.go", "batch.go", "collection.go", "types.go"},
		pure: []string{"mocks/dynamodb/expr"}, also: []string{"sync", "math/rand"}},
	"mocks/ec2":     {files: []string{"core.go"}},
	"mocks/lambda":  {files: []string{"core.go"}},
	"mocks/netmgr":  {files: []string{"core.go"}},
	"mocks/nlb":     {files: []string{"core.go"}},
	"mocks/route53": {files: []string{"core.go", "names.go", "index.go"}},
	"mocks/sqs":     {files: []string{"core.go"}},
	"mocks/sts":     {files: []string{"core.go"}},
	"mocks/ecs":     {files: []string{"core.go"}},
}

// banned are standard packages that do I/O or leave the process (net/netip
// is addresses as values).
func banned(path string) bool {
	if path == "net/netip" {
		return false
	}
	for _, b := range []string{"net", "os", "syscall", "io/ioutil", "log", "unsafe", "plugin"} {
		if path == b || strings.HasPrefix(path, b+"/") {
			return true
		}
	}
	return false
}

// clockCalls are the time functions that read or wait on the wall clock;
// a core takes its time from the injected kit.Clock.
var clockCalls = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true}

// randCtors are math/rand's functions that do not draw from the global
// source.
var randCtors = map[string]bool{"New": true, "NewSource": true, "NewZipf": true, "NewPCG": true, "NewChaCha8": true}

// TestCoresArePure: a core imports nothing but the standard library (no
// sockets, files or processes), mocks/kit and its own pure packages; it
// reads no wall clock, sleeps not, draws from no global random source and
// starts no goroutine.
func TestCoresArePure(t *testing.T) {
	std := map[string]bool{}
	for _, p := range list(t, "std") {
		std[p.ImportPath] = true
	}
	base := root(t)
	for _, p := range modulePackages(t) {
		r, _ := rel(p.ImportPath)
		if _, isCore := cores[r]; !isCore && strings.HasPrefix(r, "mocks/") {
			for _, f := range p.GoFiles {
				if f == "core.go" {
					t.Errorf("%s has a core.go but is not listed in cores", r)
				}
			}
		}
	}
	for dir, c := range cores {
		allowed := map[string]bool{module + "/mocks/kit": true}
		for _, p := range c.pure {
			allowed[module+"/"+p] = true
		}
		for _, name := range c.files {
			file := filepath.Join(base, dir, name)
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			where := dir + "/" + name
			local := map[string]string{} // local name -> import path
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				switch {
				case std[path] && (banned(path) || slices.Contains(c.also, path)):
					t.Errorf("%s imports %s: a core does no I/O", where, path)
				case !std[path] && !allowed[path]:
					t.Errorf("%s imports %s: a core imports the standard library and mocks/kit only", where, path)
				}
				n := filepath.Base(path)
				if strings.HasPrefix(path, "math/rand") {
					n = "rand"
				}
				if imp.Name != nil {
					n = imp.Name.Name
				}
				local[n] = path
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					t.Errorf("%s: starts a goroutine at %s: a core is driven by its caller", where, fset.Position(n.Pos()))
				case *ast.SelectorExpr:
					x, ok := n.X.(*ast.Ident)
					if !ok || x.Obj != nil {
						return true
					}
					switch local[x.Name] {
					case "time":
						if clockCalls[n.Sel.Name] {
							t.Errorf("%s: time.%s at %s: time comes from the injected clock", where, n.Sel.Name, fset.Position(n.Pos()))
						}
					case "math/rand", "math/rand/v2":
						if _, isFunc := randFuncs[n.Sel.Name]; isFunc && !randCtors[n.Sel.Name] {
							t.Errorf("%s: rand.%s at %s: randomness comes from the injected *rand.Rand", where, n.Sel.Name, fset.Position(n.Pos()))
						}
					}
				}
				return true
			})
		}
	}
}

// randFuncs are math/rand's package-level functions (types such as
// rand.Rand are not calls).
var randFuncs = map[string]struct{}{
	"ExpFloat64": {}, "Float32": {}, "Float64": {}, "Int": {}, "Int31": {}, "Int31n": {}, "Int63": {}, "Int63n": {},
	"Intn": {}, "IntN": {}, "Int32": {}, "Int32N": {}, "Int64": {}, "Int64N": {}, "N": {}, "NormFloat64": {}, "Perm": {},
	"Read": {}, "Seed": {}, "Shuffle": {}, "Uint32": {}, "Uint32N": {}, "Uint64": {}, "Uint64N": {}, "UintN": {}, "Uint": {},
	"New": {}, "NewSource": {}, "NewZipf": {}, "NewPCG": {}, "NewChaCha8": {},
}

// TestCascadeLinksNoTestFramework: the cascade CLI is a tool, not a test;
// verdicts are plain functions over a timeline, so neither Ginkgo nor Gomega
// is linked into it.
func TestCascadeLinksNoTestFramework(t *testing.T) {
	var linked []string
	for _, p := range list(t, "-deps", "./cmd/cascade") {
		if strings.HasPrefix(p.ImportPath, "github.com/onsi/ginkgo") || strings.HasPrefix(p.ImportPath, "github.com/onsi/gomega") {
			linked = append(linked, p.ImportPath)
		}
	}
	if len(linked) > 0 {
		t.Errorf("cmd/cascade links %d test-framework packages, e.g. %s", len(linked), linked[0])
	}
}
