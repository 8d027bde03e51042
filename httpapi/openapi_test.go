package httpapi_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/web"
)

// openAPI is the part of docs/openapi.yaml the consistency test reads.
type openAPI struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]operation `yaml:"paths"`
	Components struct {
		Parameters map[string]struct {
			Schema struct {
				Enum []string `yaml:"enum"`
			} `yaml:"schema"`
		} `yaml:"parameters"`
	} `yaml:"components"`
}

type operation struct {
	OperationID string           `yaml:"operationId"`
	Summary     string           `yaml:"summary"`
	Parameters  []map[string]any `yaml:"parameters"`
	Responses   map[string]any   `yaml:"responses"`
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func readOpenAPI(t *testing.T) openAPI {
	t.Helper()
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("docs/openapi.yaml is OpenAPI %q, want 3.1.x", doc.OpenAPI)
	}
	return doc
}

// TestOpenAPIDescribesEveryRoute fails when the server has a route that
// docs/openapi.yaml lacks, or the document describes one the server does
// not have. Mux patterns map to OpenAPI paths as "GET /{$}" -> get "/".
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := readOpenAPI(t)
	var documented []string
	for path, item := range doc.Paths {
		for m := range item {
			if !slices.Contains(methods, m) {
				continue // parameters, summary, servers
			}
			documented = append(documented, strings.ToUpper(m)+" "+path)
		}
	}
	var served []string
	for _, p := range httpapi.Routes() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("route %q has no method: every route must name one", p)
			continue
		}
		path = strings.ReplaceAll(path, "{$}", "")
		served = append(served, method+" "+path)
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but not in docs/openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("docs/openapi.yaml describes %s, which the server does not serve", r)
		}
	}
	if len(served) < 20 {
		t.Errorf("Routes() lists %d routes; the table looks incomplete: %q", len(served), served)
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIOperations checks each operation is complete: an id, a summary,
// responses, and a parameter for every {name} in its path.
func TestOpenAPIOperations(t *testing.T) {
	doc := readOpenAPI(t)
	ids := map[string]string{}
	for path, item := range doc.Paths {
		for m, op := range item {
			where := strings.ToUpper(m) + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Responses) == 0 {
				t.Errorf("%s: operationId, summary and responses are required", where)
			}
			if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is also used by %s", where, op.OperationID, other)
			}
			ids[op.OperationID] = where
			for _, p := range pathParam.FindAllStringSubmatch(path, -1) {
				found := false
				for _, param := range op.Parameters {
					if param["name"] == p[1] && param["in"] == "path" {
						found = true
					}
					if ref, _ := param["$ref"].(string); strings.HasSuffix(ref, "/AssetFile") && p[1] == "file" {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: path parameter {%s} is not described", where, p[1])
				}
			}
		}
	}
	// The asset list in the document is the one the binary embeds.
	site, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	got := doc.Components.Parameters["AssetFile"].Schema.Enum
	if !slices.Equal(got, site.Assets()) {
		t.Errorf("docs/openapi.yaml AssetFile enum = %q, want the embedded assets %q", got, site.Assets())
	}
}

// TestRoutesAreServed checks that Routes() is the real table: every
// listed route answers something other than the mux's own 404.
func TestRoutesAreServed(t *testing.T) {
	e := newEnv(t)
	for _, p := range httpapi.Routes() {
		method, path, _ := strings.Cut(p, " ")
		path = strings.ReplaceAll(path, "{$}", "")
		path = pathParam.ReplaceAllStringFunc(path, func(s string) string {
			if s == "{file}" {
				return "gatehouse.js"
			}
			return "x"
		})
		r := e.do(req{method: method, path: path})
		if r.StatusCode == 405 || (r.StatusCode == 404 && strings.Contains(string(r.body), "not-found") && !strings.HasPrefix(path, "/auth/")) {
			t.Errorf("%s %s: %d %s; is Routes() out of step with the mux?", method, path, r.StatusCode, r.body)
		}
	}
}
