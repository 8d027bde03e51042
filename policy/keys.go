package policy

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxMemoryKiB caps passwords.argon2.memory_kib at 4 GiB: a larger value is
// far more likely a unit mistake (bytes for KiB) than a wish, and would let
// a handful of logins exhaust the server's memory.
const maxMemoryKiB = 4 << 20

// A leaf is one key of the file format: where its value lives in a Policy,
// how a YAML node becomes that value, and how the value is written back.
type leaf struct {
	key    string
	decode func(p *Policy, n *yaml.Node) *Error // the *Error has Line set, not Key
	format func(p *Policy) string
}

// leaves is the file format, in document order. Sections such as "tokens"
// are implied by the dotted keys.
var leaves = []leaf{
	stringLeaf("issuer", func(p *Policy) *string { return &p.Issuer }),
	stringLeaf("audience", func(p *Policy) *string { return &p.Audience }),
	stringLeaf("tokens.algorithm", func(p *Policy) *string { return &p.Tokens.Algorithm }),
	durationLeaf("tokens.access_ttl", func(p *Policy) *time.Duration { return &p.Tokens.AccessTTL }),
	durationLeaf("tokens.leeway", func(p *Policy) *time.Duration { return &p.Tokens.Leeway }),
	durationLeaf("sessions.idle_timeout", func(p *Policy) *time.Duration { return &p.Sessions.IdleTimeout }),
	durationLeaf("sessions.absolute_lifetime", func(p *Policy) *time.Duration { return &p.Sessions.AbsoluteLifetime }),
	durationLeaf("sessions.reuse_grace", func(p *Policy) *time.Duration { return &p.Sessions.ReuseGrace }),
	stringLeaf("cookies.same_site", func(p *Policy) *string { return &p.Cookies.SameSite }),
	stringLeaf("cookies.same_site_none_reason", func(p *Policy) *string { return &p.Cookies.SameSiteNoneReason }),
	stringsLeaf("csrf.trusted_origins", func(p *Policy) *[]string { return &p.CSRF.TrustedOrigins }),
	intLeaf("passwords.min_length", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Passwords.MinLength }),
	intLeaf("passwords.max_length", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Passwords.MaxLength }),
	intLeaf("passwords.argon2.memory_kib", 0, maxMemoryKiB, func(p *Policy) *uint32 { return &p.Passwords.Argon2.MemoryKiB }),
	intLeaf("passwords.argon2.iterations", 0, math.MaxUint32, func(p *Policy) *uint32 { return &p.Passwords.Argon2.Iterations }),
	intLeaf("passwords.argon2.parallelism", 0, math.MaxUint8, func(p *Policy) *uint8 { return &p.Passwords.Argon2.Parallelism }),
	intLeaf("passwords.max_concurrent", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Passwords.MaxConcurrent }),
	boolLeaf("passwords.breached.enabled", func(p *Policy) *bool { return &p.Passwords.Breached.Enabled }),
	stringLeaf("passwords.breached.api_base", func(p *Policy) *string { return &p.Passwords.Breached.APIBase }),
	stringLeaf("passwords.breached.fail", func(p *Policy) *string { return &p.Passwords.Breached.Fail }),
	durationLeaf("passwords.breached.timeout", func(p *Policy) *time.Duration { return &p.Passwords.Breached.Timeout }),
	stringLeaf("registration", func(p *Policy) *string { return &p.Registration }),
	intLeaf("throttle.account.max_failures", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Throttle.Account.MaxFailures }),
	durationLeaf("throttle.account.window", func(p *Policy) *time.Duration { return &p.Throttle.Account.Window }),
	intLeaf("throttle.ip.max_failures", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Throttle.IP.MaxFailures }),
	durationLeaf("throttle.ip.window", func(p *Policy) *time.Duration { return &p.Throttle.IP.Window }),
	durationLeaf("throttle.delay", func(p *Policy) *time.Duration { return &p.Throttle.Delay }),
	intLeaf("throttle.stuffing.max_failures", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Throttle.Stuffing.MaxFailures }),
	durationLeaf("throttle.stuffing.window", func(p *Policy) *time.Duration { return &p.Throttle.Stuffing.Window }),
	intLeaf("throttle.stuffing.ip_max_failures", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Throttle.Stuffing.IPMaxFailures }),
	intLeaf("throttle.registration.max_attempts", math.MinInt, math.MaxInt, func(p *Policy) *int { return &p.Throttle.Registration.MaxAttempts }),
	durationLeaf("throttle.registration.window", func(p *Policy) *time.Duration { return &p.Throttle.Registration.Window }),
	prefixesLeaf("transport.trusted_proxies", func(p *Policy) *[]netip.Prefix { return &p.Transport.TrustedProxies }),
	durationLeaf("transport.hsts_max_age", func(p *Policy) *time.Duration { return &p.Transport.HSTSMaxAge }),
	durationLeaf("keys.rotation_interval", func(p *Policy) *time.Duration { return &p.Keys.RotationInterval }),
	stringsLeaf("services.feed_token_sha256", func(p *Policy) *[]string { return &p.Services.FeedTokenSHA256 }),
}

var (
	// leafByKey finds a leaf by its dotted key.
	leafByKey = indexLeaves(leaves)
	// children lists the known keys directly under each section, in
	// document order; "" is the top level. A dotted key names a section
	// exactly when it has children.
	children = childrenOf(leaves)
)

func indexLeaves(ls []leaf) map[string]*leaf {
	m := make(map[string]*leaf, len(ls))
	for i := range ls {
		m[ls[i].key] = &ls[i]
	}
	return m
}

func childrenOf(ls []leaf) map[string][]string {
	m := make(map[string][]string)
	for _, l := range ls {
		parent := ""
		for name := range strings.SplitSeq(l.key, ".") {
			if !slices.Contains(m[parent], name) {
				m[parent] = append(m[parent], name)
			}
			parent = join(parent, name)
		}
	}
	return m
}

// join appends name to the dotted path prefix.
func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Keys returns the dotted path of every key the file format knows, such as
// "tokens.access_ttl", in document order. Sections are not listed, only the
// keys that hold values.
func Keys() []string {
	keys := make([]string, len(leaves))
	for i, l := range leaves {
		keys[i] = l.key
	}
	return keys
}

// Value returns the value of key in p written as it would be in a policy
// file (durations like 10m, strings and lists quoted), and whether key is one
// of [Keys].
func (p Policy) Value(key string) (string, bool) {
	l, ok := leafByKey[key]
	if !ok {
		return "", false
	}
	return l.format(&p), true
}

func stringLeaf(key string, field func(*Policy) *string) leaf {
	return leaf{
		key: key,
		decode: func(p *Policy, n *yaml.Node) *Error {
			s, err := decodeString(n)
			if err == nil {
				*field(p) = s
			}
			return err
		},
		format: func(p *Policy) string { return strconv.Quote(*field(p)) },
	}
}

func boolLeaf(key string, field func(*Policy) *bool) leaf {
	return leaf{
		key: key,
		decode: func(p *Policy, n *yaml.Node) *Error {
			b, err := decodeBool(n)
			if err == nil {
				*field(p) = b
			}
			return err
		},
		format: func(p *Policy) string { return strconv.FormatBool(*field(p)) },
	}
}

func durationLeaf(key string, field func(*Policy) *time.Duration) leaf {
	return leaf{
		key: key,
		decode: func(p *Policy, n *yaml.Node) *Error {
			d, err := decodeDuration(n)
			if err == nil {
				*field(p) = d
			}
			return err
		},
		format: func(p *Policy) string { return formatDuration(*field(p)) },
	}
}

// intLeaf is a key holding an integer of type T within [lo, hi].
func intLeaf[T int | uint32 | uint8](key string, lo, hi int64, field func(*Policy) *T) leaf {
	return leaf{
		key: key,
		decode: func(p *Policy, n *yaml.Node) *Error {
			v, err := decodeInt(n, lo, hi)
			if err == nil {
				*field(p) = T(v)
			}
			return err
		},
		format: func(p *Policy) string { return strconv.FormatInt(int64(*field(p)), 10) },
	}
}

func stringsLeaf(key string, field func(*Policy) *[]string) leaf {
	return leaf{
		key: key,
		decode: func(p *Policy, n *yaml.Node) *Error {
			list, err := decodeList(n, decodeString)
			if err == nil {
				*field(p) = list
			}
			return err
		},
		format: func(p *Policy) string { return formatList(*field(p), func(s string) string { return s }) },
	}
}

func prefixesLeaf(key string, field func(*Policy) *[]netip.Prefix) leaf {
	return leaf{
		key: key,
		decode: func(p *Policy, n *yaml.Node) *Error {
			list, err := decodeList(n, decodePrefix)
			if err == nil {
				*field(p) = list
			}
			return err
		},
		format: func(p *Policy) string { return formatList(*field(p), netip.Prefix.String) },
	}
}

// formatDuration writes d the way a person would, 10m rather than 10m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// formatList writes list as a YAML flow sequence of quoted strings.
func formatList[T any](list []T, str func(T) string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(str(v)))
	}
	b.WriteByte(']')
	return b.String()
}
