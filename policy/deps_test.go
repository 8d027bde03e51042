package policy_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package a leaf: it may import only the standard
// library, the YAML parser and the project's text clipping, and never os or syscall, because a library
// package takes its policy as bytes rather than reading files or the
// environment itself.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{"os": true, "os/exec": true, "syscall": true, "io/ioutil": true, "unsafe": true}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			if forbidden[path] || (!std && path != "go.yaml.in/yaml/v3" && path != "github.com/gatehouse/gatehouse/internal/textclip") {
				t.Errorf("%s imports %q", name, path)
			}
		}
	}
}
