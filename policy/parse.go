package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest policy file Parse accepts, in bytes. A real policy
// is a few hundred bytes; the cap keeps a runaway or hostile file from
// costing the server much memory or time at start-up.
const MaxSize = 1 << 20

// maxErrors caps how many problems Parse reports at once.
const maxErrors = 20

// Parse reads a policy file over [Default]: a key or section left out keeps
// its default, a file may hold a single key, and an empty file gives the
// defaults. An empty section ("tokens:" with nothing under it) also keeps
// its defaults; an empty list key gives an empty list.
//
// Any problem in the file is an error, and Parse then returns no policy.
// The error joins one [*Error] per problem (up to a limit), each naming the
// line and, where there is one, the dotted key. Parse does not call
// [Policy.Validate]. Parse(nil) gives [Default] with every source "default",
// for a server started without a policy file.
func Parse(data []byte) (Policy, Sources, error) {
	if len(data) > MaxSize {
		return Policy{}, nil, errors.Join(&Error{
			Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), MaxSize),
		})
	}
	doc, err := readDocument(data)
	if err != nil {
		return Policy{}, nil, errors.Join(err)
	}
	d := decoder{p: Default(), src: make(Sources, len(leaves))}
	for _, l := range leaves {
		d.src[l.key] = sourceDefault
	}
	if doc != nil {
		d.document(doc)
	}
	if len(d.errs) > 0 {
		return Policy{}, nil, d.err()
	}
	return d.p, d.src, nil
}

// readDocument returns the single YAML document in data, or nil when data
// holds none (it is empty or only comments).
func readDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, syntaxError(err)
	default:
		return nil, &Error{Line: next.Line, Msg: "a second YAML document; a policy file holds exactly one"}
	}
}

// syntaxError turns an error of the YAML parser into an *Error. The parser
// reports the line only inside its message ("yaml: line 3: ..."), so it is
// taken from there when present.
func syntaxError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	return &Error{Line: line, Msg: "invalid YAML: " + msg}
}

// A decoder lays one YAML document over a policy, recording where each
// value came from and every problem it finds.
type decoder struct {
	p    Policy
	src  Sources
	errs []error
}

func (d *decoder) fail(e *Error) {
	d.errs = append(d.errs, e)
}

func (d *decoder) err() error {
	if len(d.errs) > maxErrors {
		d.errs = append(d.errs[:maxErrors], &Error{
			Msg: fmt.Sprintf("and %d more problems", len(d.errs)-maxErrors),
		})
	}
	return errors.Join(d.errs...)
}

func (d *decoder) document(doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.fail(&Error{Line: doc.Line, Msg: "not a YAML document"})
		return
	}
	root := doc.Content[0]
	switch {
	case isNull(root):
		// A document with nothing in it, such as a lone "---".
	case isMapping(root):
		d.mapping("", root)
	default:
		d.fail(&Error{Line: root.Line, Msg: "the file must be a mapping of keys, got " + describe(root)})
	}
}

// section decodes the value of the section key path.
func (d *decoder) section(path string, n *yaml.Node) {
	switch {
	case isNull(n):
		// An empty section keeps its defaults.
	case isMapping(n):
		d.mapping(path, n)
	default:
		d.fail(&Error{Line: n.Line, Key: path, Msg: "want a mapping of keys, got " + describe(n)})
	}
}

// mapping decodes the keys of the mapping n found at the dotted path prefix.
func (d *decoder) mapping(prefix string, n *yaml.Node) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.fail(&Error{Line: k.Line, Key: prefix, Msg: "want a plain key name, got " + describe(k)})
			continue
		}
		name := clip(k.Value)
		path := join(prefix, name)
		if first, dup := seen[k.Value]; dup {
			d.fail(&Error{Line: k.Line, Key: path, Msg: fmt.Sprintf("duplicate key (first set on line %d)", first)})
			continue
		}
		seen[k.Value] = k.Line
		if v.Kind == yaml.AliasNode {
			e := refuseAlias(v)
			e.Key = path
			d.fail(e)
			continue
		}
		if l, ok := leafByKey[path]; ok {
			if e := l.decode(&d.p, v); e != nil {
				e.Key = path
				d.fail(e)
				continue
			}
			d.src[path] = sourceLine + strconv.Itoa(k.Line)
			continue
		}
		if children[path] != nil {
			d.section(path, v)
			continue
		}
		d.fail(&Error{Line: k.Line, Key: path, Msg: "unknown key" + hint(name, children[prefix])})
	}
}

// hint suggests the known key that name is probably a misspelling of, or
// else lists the known keys.
func hint(name string, known []string) string {
	best, bestDist := "", 3 // suggest only within two edits
	if len(name) <= 64 {
		for _, k := range known {
			if dist := editDistance(name, k); dist < bestDist {
				best, bestDist = k, dist
			}
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return fmt.Sprintf(" (known keys here: %s)", strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
