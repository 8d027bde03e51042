package policy

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Severities of a [Finding], from the most to the least serious.
const (
	// SeverityError is a setting that exposes users to a known attack or
	// cannot work as intended; the server refuses to start with one.
	SeverityError = "error"
	// SeverityWarning is a setting that weakens a defence and needs a
	// reason; the server starts and prints it.
	SeverityWarning = "warning"
	// SeverityNote is information a reviewer should know about the
	// deployment; nothing needs to change.
	SeverityNote = "note"
)

// A Finding is one thing [Check] has to say about a policy.
type Finding struct {
	// Severity is SeverityError, SeverityWarning or SeverityNote.
	Severity string
	// Rule is the stable id of the rule that found it, such as
	// "cookies.same_site.none".
	Rule string
	// Key is the dotted policy key concerned, such as "cookies.same_site",
	// or, for a setting outside the policy file, the flag or environment
	// variable that controls it, such as "--addr" or "GATEHOUSE_MASTER_KEY".
	Key string
	// Line is the line of the policy file that set Key, or 0 when Key kept
	// its default or is not a policy key.
	Line int
	// Message says what is wrong with the value in force, and what to do.
	Message string
	// Why is the threat, in one sentence.
	Why string
	// Reference is where the rule comes from: an RFC section, an OWASP
	// ASVS 5.0 requirement or an OWASP cheat sheet.
	Reference string
}

// Context is what the server reads from outside the policy file and the
// checks need: its flags and environment. The caller fills it; this package
// reads neither.
type Context struct {
	// Addr is the host:port the server listens on; empty when unknown.
	Addr string
	// TLS reports whether the server terminates TLS itself (--tls-cert or
	// --dev-tls) rather than serving plain HTTP.
	TLS bool
	// DevTLS reports whether the certificate is the self-signed development
	// certificate of --dev-tls.
	DevTLS bool
	// MasterKeyFromEnv reports whether the master key that seals the
	// signing keys comes from GATEHOUSE_MASTER_KEY rather than from the
	// master.key file in the data dir.
	MasterKeyFromEnv bool
	// HS256SecretLen is the length in bytes of an HS256 secret supplied
	// from outside, and HS256SecretLowEntropy whether [SecretLowEntropy]
	// judged it to be chosen by a person. Both are zero when the server
	// generates its own secret (32 bytes from crypto/rand), which it does
	// whenever it needs a new HS256 key.
	HS256SecretLen        int
	HS256SecretLowEntropy bool
}

// Rule describes one of the checks [Check] makes.
type Rule struct {
	// ID is the stable id that findings of this rule carry.
	ID string
	// Severity is the severity of its findings.
	Severity string
	// Key is the key its findings concern (see [Finding].Key).
	Key string
	// Why is the threat, in one sentence.
	Why string
	// Reference is where the rule comes from.
	Reference string
}

// A rule is a Rule with the test that finds it: test returns one message
// per problem, or none.
type rule struct {
	Rule
	test func(p Policy, c Context) []string
}

// Rules returns every rule [Check] applies, in the order it applies them.
func Rules() []Rule {
	list := make([]Rule, len(rules))
	for i, r := range rules {
		list[i] = r.Rule
	}
	return list
}

// Check reviews a policy, together with the context the server runs in,
// against the rules listed by [Rules], and returns what it finds: errors
// first, then warnings, then notes, each group in rule order. The line of
// each finding comes from src, which may be nil.
//
// Check judges values that parse and validate but are dangerous; it does
// not repeat [Policy.Validate], whose errors the caller reports first. The
// [Default] policy served on a loopback address has no errors or warnings.
func Check(p Policy, src Sources, c Context) []Finding {
	var found []Finding
	for _, r := range rules {
		for _, msg := range r.test(p, c) {
			found = append(found, Finding{
				Severity: r.Severity, Rule: r.ID, Key: r.Key, Line: src.line(r.Key),
				Message: msg, Why: r.Why, Reference: r.Reference,
			})
		}
	}
	slices.SortStableFunc(found, func(a, b Finding) int {
		return cmp.Compare(severityRank(a.Severity), severityRank(b.Severity))
	})
	return found
}

func severityRank(s string) int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	default:
		return 2
	}
}

// HasErrors reports whether any of findings is an error.
func HasErrors(findings []Finding) bool {
	return slices.ContainsFunc(findings, func(f Finding) bool { return f.Severity == SeverityError })
}

// isLoopbackHost reports whether host (a name or an IP address, IPv6
// possibly in brackets) is this machine: "localhost" or a loopback address.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// listenHost returns the host part of addr and whether addr is a valid
// host:port. An empty host means every interface.
func listenHost(addr string) (string, bool) {
	host, _, err := net.SplitHostPort(addr)
	return host, err == nil
}

// effectiveIssuer is the issuer the server puts into tokens: the policy's,
// or the URL it listens on. It is "" when neither is known.
func effectiveIssuer(p Policy, c Context) string {
	if p.Issuer != "" || c.Addr == "" {
		return p.Issuer
	}
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	return scheme + "://" + c.Addr
}

// SecretLowEntropy reports whether a secret looks chosen or typed by a
// person rather than drawn from a random source: a repeated pattern, few
// distinct bytes, well-known words, or printable text with spaces. A secret
// that passes may still be weak; one that fails certainly is, because a
// human-memorable key can be guessed offline from a single token (RFC 8725
// §3.5). It never reveals anything about secret beyond the answer.
func SecretLowEntropy(secret []byte) bool {
	n := len(secret)
	if n == 0 {
		return true
	}
	for period := 1; period <= n/2; period++ {
		if repeats(secret, period) {
			return true
		}
	}
	distinct := make(map[byte]bool)
	printable, spaces := true, 0
	for _, b := range secret {
		distinct[b] = true
		if b < 0x20 || b > 0x7e {
			printable = false
		}
		if b == ' ' {
			spaces++
		}
	}
	if len(distinct) < min(10, n/3) {
		return true
	}
	if printable {
		if spaces > 0 {
			return true // a phrase
		}
		lower := strings.ToLower(string(secret))
		for _, w := range []string{"secret", "password", "passwd", "changeme", "example", "gatehouse", "token", "qwerty", "123456", "abcdef"} {
			if strings.Contains(lower, w) {
				return true
			}
		}
	}
	return false
}

// repeats reports whether b is its first period bytes over and over.
func repeats(b []byte, period int) bool {
	for i := period; i < len(b); i++ {
		if b[i] != b[i-period] {
			return false
		}
	}
	return true
}
