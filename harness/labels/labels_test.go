package labels

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// declared reads the constants of this package from its source: name ->
// value.
func declared(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "labels.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("label %s is not a string literal", n.Name)
				}
				out[n.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
	return out
}

// TestLabelsAreDeclared walks the suites: every argument of a Label(...)
// call is a constant of this package (no string literal, no unknown name),
// every constant is used by some suite, and All lists each once.
func TestLabelsAreDeclared(t *testing.T) {
	consts := declared(t)
	used := map[string]bool{}
	calls := 0
	err := filepath.WalkDir("../../suites", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		local := "" // this package's name in the file
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/cascade-lab/cascade/harness/labels" {
				local = "labels"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isLabelCall(call.Fun) {
				return true
			}
			calls++
			for _, arg := range call.Args {
				sel, ok := arg.(*ast.SelectorExpr)
				if !ok || local == "" || !isIdent(sel.X, local) {
					t.Errorf("%s: Label argument %s is not a constant of harness/labels", fset.Position(arg.Pos()), exprString(arg))
					continue
				}
				if _, ok := consts[sel.Sel.Name]; !ok {
					t.Errorf("%s: label %s.%s is not declared", fset.Position(arg.Pos()), local, sel.Sel.Name)
					continue
				}
				used[sel.Sel.Name] = true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("found no Label(...) call under suites/: the walk is broken")
	}
	var unused []string
	for name := range consts {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("declared labels no suite uses: %v (remove them or label the specs)", unused)
	}
	var values []string
	for _, v := range consts {
		values = append(values, v)
	}
	all := slices.Clone(All)
	slices.Sort(values)
	slices.Sort(all)
	if !slices.Equal(values, all) {
		t.Errorf("All %v; want every declared label once %v", all, values)
	}
}

// isLabelCall matches Label(...) and ginkgo.Label(...).
func isLabelCall(fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name == "Label"
	case *ast.SelectorExpr:
		return f.Sel.Name == "Label"
	}
	return false
}

func isIdent(e ast.Expr, name string) bool {
	x, ok := e.(*ast.Ident)
	return ok && x.Name == name
}

func exprString(e ast.Expr) string {
	if lit, ok := e.(*ast.BasicLit); ok {
		return lit.Value
	}
	return "expression"
}
