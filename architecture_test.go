package gatehouse_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse"

// rule says what the non-test files of a package may import. Project
// packages are named relative to the module root ("" is the root package).
type rule struct {
	project  []string // project packages allowed
	external []string // non-stdlib import path prefixes allowed
	stdDeny  []string // standard library packages forbidden
}

// rules is the dependency table of docs/ARCHITECTURE.md. A package missing
// from it fails the test, so a new package must be placed deliberately.
var rules = map[string]rule{
	"":           {project: []string{"password", "token", "internal/textclip"}, external: []string{"golang.org/x/text/secure/precis", "golang.org/x/text/width", "golang.org/x/net/idna"}, stdDeny: []string{"net/http", "database/sql", "os/exec", "net=", "net/rpc", "net/smtp", "os"}},
	"password":   {external: []string{"golang.org/x/crypto/argon2"}, stdDeny: []string{"net/http", "database/sql"}},
	"token":      {external: []string{"github.com/golang-jwt/jwt/v5"}, stdDeny: []string{"net/http", "database/sql"}},
	"policy":     {project: []string{"internal/textclip"}, external: []string{"go.yaml.in/yaml/v3"}, stdDeny: []string{"net/http", "database/sql", "os"}},
	"throttle":   {stdDeny: []string{"net/http", "database/sql"}},
	"storetest":  {project: []string{""}, stdDeny: []string{"net/http"}},
	"sqlite":     {project: []string{"", "internal/migrations", "internal/textclip"}, external: []string{"modernc.org/sqlite"}, stdDeny: []string{"net/http"}},
	"postgres":   {project: []string{"", "internal/migrations", "internal/textclip"}, external: []string{"github.com/jackc/pgx/v5"}, stdDeny: []string{"net/http"}},
	"redisstore": {project: []string{""}, external: []string{"github.com/redis/go-redis/v9"}, stdDeny: []string{"net/http"}},
	"httpapi":    {project: []string{"", "token", "web"}, stdDeny: []string{"database/sql", "os"}},
	"web":        {stdDeny: []string{"database/sql", "os", "os/exec"}},
	"verifier":   {project: []string{"token"}, stdDeny: []string{"database/sql"}},
	"pwned":      {stdDeny: []string{"database/sql", "os"}},
	"metrics":    {project: []string{"", "password"}, external: []string{"github.com/prometheus/client_golang"}, stdDeny: []string{"database/sql", "os"}},
	// The example shows a service outside Gatehouse: the verifier is all
	// it may use of it.
	"examples/protected-service": {project: []string{"verifier"}, stdDeny: []string{"database/sql"}},
	"cmd/gatehouse":              {project: []string{"*"}, external: []string{"*"}},
	// End-to-end tests of the built binary: its only non-test file is
	// the package comment.
	"e2e": {},
	// Test harness shared by several packages' tests: standard library
	// only. Only _test.go files import it: no project list above names
	// it, so a non-test import fails (cmd/gatehouse's "*" aside).
	"internal/testenv": {},
	// The embedded migrations' file reader the SQL stores share.
	"internal/migrations": {stdDeny: []string{"net/http", "database/sql", "os"}},
	// The one clipping of client text for stores, events and messages:
	// a leaf, so the root and the leaves may import it.
	"internal/textclip": {stdDeny: []string{"net/http", "database/sql", "os"}},
}

func TestImportRules(t *testing.T) {
	imports := map[string][]string{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bench" || name == "docs") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		if dir == "." {
			dir = ""
		}
		for _, imp := range f.Imports {
			s, _ := strconv.Unquote(imp.Path.Value)
			imports[dir] = append(imports[dir], s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg, list := range imports {
		r, ok := rules[pkg]
		if !ok {
			t.Errorf("package %q is not in the import rules: add it to docs/ARCHITECTURE.md and architecture_test.go", pkg)
			continue
		}
		for _, imp := range list {
			if msg := r.check(imp); msg != "" {
				t.Errorf("package %q imports %q: %s (docs/ARCHITECTURE.md)", pkg, imp, msg)
			}
		}
	}
}

func (r rule) check(imp string) string {
	if imp == module || strings.HasPrefix(imp, module+"/") {
		rel := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
		if slices.Contains(r.project, "*") || slices.Contains(r.project, rel) {
			return ""
		}
		return "forbidden project import"
	}
	first, _, _ := strings.Cut(imp, "/")
	if !strings.Contains(first, ".") { // standard library
		for _, d := range r.stdDeny {
			// "pkg=" forbids pkg itself but not the packages under it
			// ("net=" keeps sockets out but allows net/netip).
			if exact, ok := strings.CutSuffix(d, "="); ok {
				if imp == exact {
					return "forbidden standard library import for this layer"
				}
				continue
			}
			if imp == d || strings.HasPrefix(imp, d+"/") {
				return "forbidden standard library import for this layer"
			}
		}
		return ""
	}
	for _, e := range r.external {
		if e == "*" || imp == e || strings.HasPrefix(imp, e+"/") {
			return ""
		}
	}
	return "dependency not allowed in this package"
}

// TestImportRulesCatchViolations proves the checker is not vacuous.
func TestImportRulesCatchViolations(t *testing.T) {
	cases := []struct {
		pkg, imp string
	}{
		{"", "net/http"},
		{"", "database/sql"},
		{"", "net"},
		{"", "os"},
		{"", module + "/sqlite"},
		{"sqlite", module + "/httpapi"},
		{"httpapi", module + "/sqlite"},
		{"token", module},
		{"password", "github.com/golang-jwt/jwt/v5"},
		{"web", module},
		{"web", module + "/httpapi"},
		{"web", "os"},
	}
	for _, c := range cases {
		if rules[c.pkg].check(c.imp) == "" {
			t.Errorf("package %q importing %q was allowed", c.pkg, c.imp)
		}
	}
	if msg := rules["sqlite"].check(module); msg != "" {
		t.Errorf("sqlite importing the root was refused: %s", msg)
	}
	if _, err := os.Stat(path.Join("docs", "ARCHITECTURE.md")); err != nil {
		t.Errorf("docs/ARCHITECTURE.md: %v", err)
	}
}
