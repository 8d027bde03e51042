package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file is the strict JSON reader for token headers and payloads. It
// accepts exactly the RFC 8259 grammar that encoding/json accepts, but walks
// the bytes once, hands out values as substrings of the input and allocates
// nothing for a well-formed object whose strings hold no escapes, which is
// every token Gatehouse signs. An earlier version streamed the object
// through json.Decoder; it allocated about 170 times per token and cost more
// than golang-jwt's whole parse. FuzzDecodeObject checks this reader against
// that one.

// maxDepth bounds the nesting of arrays and objects inside a member's value,
// like encoding/json's own limit; a hostile token cannot make the reader
// recurse deeper than this.
const maxDepth = 10000

var (
	errNotObject    = errors.New("not a JSON object")
	errUnterminated = errors.New("bad JSON: unterminated object")
	errTrailing     = errors.New("data after the JSON object")
	errNotUTF8      = errors.New("not valid UTF-8")
	errTooDeep      = errors.New("bad JSON: nested too deeply")
)

// decodeObject parses s as a single JSON object and calls fn for each member
// in order, with the unescaped name and the raw text of the value (no
// surrounding white space). It rejects what encoding/json silently
// tolerates: invalid UTF-8 (replaced by U+FFFD), duplicate member names
// (last one wins, so two parsers can disagree about a token), anything
// other than an object at the top, and trailing data.
func decodeObject(s string, fn func(name, value string) error) error {
	if !utf8.ValidString(s) {
		return errNotUTF8
	}
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return errNotObject
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return trailing(s, i+1)
	}
	var seen names
	for {
		if i >= len(s) || s[i] != '"' {
			return syntaxError(s, i, "looking for beginning of object key string")
		}
		end, err := scanString(s, i)
		if err != nil {
			return err
		}
		name, ok := unquote(s[i:end])
		if !ok {
			return syntaxError(s, i, "in string literal")
		}
		if seen.add(name) {
			return fmt.Errorf("duplicate member %s", quote(name))
		}
		i = skipSpace(s, end)
		if i >= len(s) || s[i] != ':' {
			return syntaxError(s, i, "after object key")
		}
		i = skipSpace(s, i+1)
		vend, err := scanValue(s, i, 0)
		if err != nil {
			return err
		}
		if err := fn(name, s[i:vend]); err != nil {
			return err
		}
		i = skipSpace(s, vend)
		switch {
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		case i < len(s) && s[i] == '}':
			return trailing(s, i+1)
		case i >= len(s):
			return errUnterminated
		default:
			return syntaxError(s, i, "after object key:value pair")
		}
	}
}

// names records the member names of an object to find duplicates. A
// token's object has a handful of members, compared in a small array on
// the stack; past that a map keeps a (signed) object with many members
// linear.
type names struct {
	few [16]string
	n   int
	m   map[string]bool
}

// add records name and reports whether it was seen before.
func (ns *names) add(name string) bool {
	if ns.m != nil {
		if ns.m[name] {
			return true
		}
		ns.m[name] = true
		return false
	}
	for _, n := range ns.few[:ns.n] {
		if n == name {
			return true
		}
	}
	if ns.n < len(ns.few) {
		ns.few[ns.n] = name
		ns.n++
		return false
	}
	ns.m = make(map[string]bool, 2*len(ns.few))
	for _, n := range ns.few {
		ns.m[n] = true
	}
	ns.m[name] = true
	return false
}

func trailing(s string, i int) error {
	if skipSpace(s, i) != len(s) {
		return errTrailing
	}
	return nil
}

func syntaxError(s string, i int, context string) error {
	if i >= len(s) {
		return errUnterminated
	}
	return fmt.Errorf("bad JSON: invalid character %q %s", s[i], context)
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue returns the end of the JSON value that starts at s[i].
func scanValue(s string, i, depth int) (int, error) {
	if i >= len(s) {
		return 0, errUnterminated
	}
	switch c := s[i]; {
	case c == '"':
		return scanString(s, i)
	case c == '{' || c == '[':
		return scanComposite(s, i, depth+1)
	case c == '-' || ('0' <= c && c <= '9'):
		return scanNumber(s, i)
	case c == 't':
		return scanLiteral(s, i, "true")
	case c == 'f':
		return scanLiteral(s, i, "false")
	case c == 'n':
		return scanLiteral(s, i, "null")
	}
	return 0, syntaxError(s, i, "looking for beginning of value")
}

// scanComposite returns the end of the array or object that starts at s[i].
func scanComposite(s string, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errTooDeep
	}
	closer := byte(']')
	object := s[i] == '{'
	if object {
		closer = '}'
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == closer {
		return i + 1, nil
	}
	for {
		if object {
			if i >= len(s) || s[i] != '"' {
				return 0, syntaxError(s, i, "looking for beginning of object key string")
			}
			end, err := scanString(s, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(s, end)
			if i >= len(s) || s[i] != ':' {
				return 0, syntaxError(s, i, "after object key")
			}
			i = skipSpace(s, i+1)
		}
		end, err := scanValue(s, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(s, end)
		switch {
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		case i < len(s) && s[i] == closer:
			return i + 1, nil
		default:
			return 0, syntaxError(s, i, "after array element or object member")
		}
	}
}

// scanString returns the end (one past the closing quote) of the string
// literal that starts at s[i]. It checks the escapes and rejects control
// characters, as RFC 8259 §7 requires.
func scanString(s string, i int) (int, error) {
	for i++; i < len(s); i++ {
		// Most bytes are plain: one table lookup each.
		for i < len(s) && plainString[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c < 0x20:
			return 0, syntaxError(s, i, "in string literal")
		case c == '\\':
			i++
			if i >= len(s) {
				return 0, errUnterminated
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) {
					return 0, errUnterminated
				}
				for _, h := range []byte(s[i+1 : i+5]) {
					if !isHex(h) {
						return 0, syntaxError(s, i, "in \\u hexadecimal character escape")
					}
				}
				i += 4
			default:
				return 0, syntaxError(s, i, "in string escape code")
			}
		}
	}
	return 0, errUnterminated
}

// plainString marks the bytes a JSON string literal holds as themselves:
// all but the quote, the backslash and the control characters.
var plainString = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber returns the end of the number that starts at s[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(s string, i int) (int, error) {
	start := i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return 0, syntaxError(s, i, "in numeric literal")
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return 0, syntaxError(s, j, "after decimal point in numeric literal")
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return 0, syntaxError(s, j, "in exponent of numeric literal")
		}
		i = j
	}
	if i == start {
		return 0, syntaxError(s, i, "in numeric literal")
	}
	return i, nil
}

func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

func scanLiteral(s string, i int, lit string) (int, error) {
	if !strings.HasPrefix(s[i:], lit) {
		return 0, syntaxError(s, i, "in literal "+lit)
	}
	return i + len(lit), nil
}

// unquote returns the text of the string literal q, which scanString
// accepted. Without escapes that is a substring of q; with them,
// encoding/json does the unescaping, so that every escape (including lone
// surrogates, which become U+FFFD) means exactly what it means to
// golang-jwt, which decodes the token with encoding/json too.
func unquote(q string) (string, bool) {
	body := q[1 : len(q)-1]
	if strings.IndexByte(body, '\\') < 0 {
		return body, true
	}
	var s string
	if err := json.Unmarshal([]byte(q), &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonString returns v as a string when it is a JSON string. (null is not
// a string, although encoding/json would quietly decode it into one.)
func jsonString(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return unquote(v)
}

// forEachElement calls fn for every element of the JSON array v, which
// decodeObject accepted as a value. It reports false when v is not an
// array.
func forEachElement(v string, fn func(elem string) bool) bool {
	if len(v) == 0 || v[0] != '[' {
		return false
	}
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return true
	}
	for i < len(v) {
		end, err := scanValue(v, i, 1)
		if err != nil || !fn(v[i:end]) {
			return false
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ']' {
			return true
		}
		i = skipSpace(v, i+1) // the comma: v is known to be a valid array
	}
	return false
}
