package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is a problem with a policy: a value in the file that cannot be read,
// or, from [Policy.Validate], a value that can never work. Its message is
// meant for the operator and names what to change.
type Error struct {
	// Line is the 1-based line of the file, or 0 when not known.
	Line int
	// Key is the dotted key path, such as "tokens.access_ttl", or "" when
	// the problem is with the file as a whole.
	Key string
	// Msg says what is wrong.
	Msg string
}

// Error returns the problem as "policy: line 3: tokens.access_ttl: msg",
// leaving out the line or key when it is not known.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Sources records where each effective value came from, keyed by dotted
// key path ("tokens.access_ttl"): "default", or "file line N" for a value
// set on line N of the file.
type Sources map[string]string

const (
	sourceDefault = "default"
	sourceLine    = "file line "
)

// line returns the line key was set on, or 0 if it kept its default.
func (s Sources) line(key string) int {
	num, ok := strings.CutPrefix(s[key], sourceLine)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0
	}
	return n
}

// Locate returns err with a line added to each [*Error] in it whose key was
// set in the file, so that a problem found by [Policy.Validate] points at
// the line to change:
//
//	if err := p.Validate(); err != nil {
//		return src.Locate(err)
//	}
//
// Joined errors are flattened into one join. Errors that already have a
// line, and errors of other types, are kept as they are. Locate returns nil
// for a nil err.
func (s Sources) Locate(err error) error {
	if err == nil {
		return nil
	}
	var located []error
	for _, e := range flatten(err) {
		if pe, ok := e.(*Error); ok && pe.Line == 0 {
			if n := s.line(pe.Key); n > 0 {
				c := *pe
				c.Line = n
				e = &c
			}
		}
		located = append(located, e)
	}
	return errors.Join(located...)
}

// flatten lists the errors joined in err, however deeply, in order.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var errs []error
	for _, e := range j.Unwrap() {
		errs = append(errs, flatten(e)...)
	}
	return errs
}
