package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/textclip"
	"go.yaml.in/yaml/v3"
)

// This file turns single YAML nodes into values. Each decoder accepts only
// the one YAML type it expects and never converts: "issuer: 123" is a number
// where a string belongs, and is reported rather than read as "123".

// bad returns a problem with the value n.
func bad(n *yaml.Node, format string, args ...any) *Error {
	return &Error{Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// wrongType reports that n is not the kind of value wanted.
func wrongType(n *yaml.Node, want string) *Error {
	if isNull(n) {
		return bad(n, "no value given: write %s, or remove the key to keep the default", want)
	}
	if n.Kind == yaml.AliasNode {
		return refuseAlias(n)
	}
	return bad(n, "want %s, got %s", want, describe(n))
}

// refuseAlias reports an alias. Aliases are refused outright: nothing in a
// policy needs them, and they are how a small file expands into a huge one.
func refuseAlias(n *yaml.Node) *Error {
	return bad(n, "aliases are not allowed (*%s): write the value out", clip(n.Value))
}

func decodeString(n *yaml.Node) (string, *Error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		e := wrongType(n, "a string")
		if n.Kind == yaml.ScalarNode && slices.Contains([]string{"!!int", "!!float", "!!bool", "!!timestamp"}, n.ShortTag()) {
			e.Msg += fmt.Sprintf(" (quote it if you mean the text: %q)", clip(n.Value))
		}
		return "", e
	}
	return n.Value, nil
}

// decodeBool reads true or false. YAML 1.1's yes, no, on and off are
// strings in YAML 1.2 and refused here like any other string.
func decodeBool(n *yaml.Node) (bool, *Error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, wrongType(n, "true or false")
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		return false, bad(n, "invalid boolean %q (want true or false)", clip(n.Value))
	}
	return b, nil
}

// decodeDuration reads a Go duration such as 10m, 1h30m or 500ms. A bare
// number other than 0 is refused: "30" could mean seconds or minutes, and
// guessing wrong changes a lifetime by a factor of 60.
func decodeDuration(n *yaml.Node) (time.Duration, *Error) {
	if n.Kind != yaml.ScalarNode || !slices.Contains([]string{"!!str", "!!int", "!!float"}, n.ShortTag()) {
		return 0, wrongType(n, "a duration such as 10m")
	}
	s := n.Value
	d, err := time.ParseDuration(s)
	switch {
	case err == nil && strings.HasPrefix(s, "-"):
		return 0, bad(n, "invalid duration %q: must not be negative", clip(s))
	case err == nil:
		return d, nil
	case !strings.HasPrefix(s, "-") && isDuration(s+"s"):
		return 0, bad(n, "invalid duration %q: missing unit (write e.g. %ss or %sm)", clip(s), clip(s), clip(s))
	default:
		return 0, bad(n, "invalid duration %q (want e.g. 500ms, 30s, 10m or 1h30m; units ns, us, ms, s, m, h)", clip(s))
	}
}

func isDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

// decodeInt reads a YAML integer within [lo, hi].
func decodeInt(n *yaml.Node, lo, hi int64) (int64, *Error) {
	tag := n.ShortTag()
	plain := strings.ReplaceAll(n.Value, "_", "")
	if n.Kind == yaml.ScalarNode && tag == "!!float" {
		// YAML reads a run of digits too long for any integer as a float.
		if _, err := strconv.ParseInt(plain, 10, 64); errors.Is(err, strconv.ErrRange) {
			return 0, outOfRange(n, lo, hi)
		}
	}
	if n.Kind != yaml.ScalarNode || tag != "!!int" {
		return 0, wrongType(n, "an integer")
	}
	v, err := strconv.ParseInt(plain, 0, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, outOfRange(n, lo, hi)
	case err != nil:
		return 0, bad(n, "invalid integer %q", clip(n.Value))
	case v < lo || v > hi:
		return 0, outOfRange(n, lo, hi)
	}
	return v, nil
}

func outOfRange(n *yaml.Node, lo, hi int64) *Error {
	if lo == math.MinInt && hi == math.MaxInt {
		return bad(n, "%s does not fit in an integer", clip(n.Value))
	}
	return bad(n, "%s is out of range (%d to %d)", clip(n.Value), lo, hi)
}

// decodeList reads a YAML sequence whose items item decodes. An empty value
// ("key:" with nothing after it) is an empty list.
func decodeList[T any](n *yaml.Node, item func(*yaml.Node) (T, *Error)) ([]T, *Error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode || n.ShortTag() != "!!seq" {
		return nil, wrongType(n, "a list")
	}
	var list []T
	for _, c := range n.Content {
		v, err := item(c)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, nil
}

// decodePrefix reads an IP prefix in CIDR notation, or a bare IP address
// meaning that one address (/32 or /128).
func decodePrefix(n *yaml.Node) (netip.Prefix, *Error) {
	s, e := decodeString(n)
	if e != nil {
		return netip.Prefix{}, e
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, bad(n, "invalid CIDR %q (want e.g. 10.0.0.0/8 or fd00::/8)", clip(s))
		}
		// 10.0.0.1/8 is refused rather than read as 10.0.0.0/8: a typo in
		// the prefix length should not silently trust a larger network.
		if p != p.Masked() {
			return netip.Prefix{}, bad(n, "CIDR %q has bits set after the prefix length; did you mean %s?", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, bad(n, "invalid IP address %q (want e.g. 10.0.0.1 or a CIDR such as 10.0.0.0/8)", clip(s))
	}
	if a.Zone() != "" {
		return netip.Prefix{}, bad(n, "IP address %q must not have a zone", clip(s))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// isMapping reports whether n is a plain YAML mapping.
func isMapping(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode && n.ShortTag() == "!!map"
}

// isNull reports whether n is an empty or null value.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names the kind of n for a message, with its value if short.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping" + tagged(n, "!!map")
	case yaml.SequenceNode:
		return "a list" + tagged(n, "!!seq")
	case yaml.AliasNode:
		return "the alias *" + clip(n.Value)
	case yaml.ScalarNode:
	default:
		return "an unexpected YAML node"
	}
	v := clip(n.Value)
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int":
		return "the integer " + v
	case "!!float":
		return "the number " + v
	case "!!bool":
		return "the boolean " + v
	case "!!null":
		return "null"
	case "!!timestamp":
		return "the timestamp " + v
	default:
		return fmt.Sprintf("a value tagged %s", clip(tag))
	}
}

// tagged names the tag of n if it is not the standard one.
func tagged(n *yaml.Node, standard string) string {
	if tag := n.ShortTag(); tag != standard {
		return " tagged " + clip(tag)
	}
	return ""
}

// clip shortens s for a message, so that a huge value cannot make a huge
// error, and keeps it valid UTF-8.
func clip(s string) string {
	const max = 64
	c := textclip.Clip(s, max)
	if len(s) > max {
		c += "…"
	}
	return c
}
