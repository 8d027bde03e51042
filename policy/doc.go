// Package policy reads, defaults and validates the security policy of a
// Gatehouse server: token lifetimes and algorithm, session limits, cookie and
// CSRF settings, password and Argon2 parameters, sign-up, login throttling and
// the proxies and HSTS settings of the transport.
//
// The policy is a YAML file whose keys are listed by [Keys] and described,
// with the threat each one addresses, in REFERENCE.md next to this file.
// [Default] is the secure baseline; [Parse] lays a file over it, so a file
// needs to hold only the keys it changes, and [Sources] tells for every key
// whether its value is the default or came from a line of the file.
//
// Parsing is deliberately strict, because a policy that is silently read
// differently from how the operator wrote it is a security bug: an unknown or
// misspelt key, a duplicate key, a value of the wrong type, a duration without
// a unit, an out-of-range number, a YAML alias or a second document is an
// error naming the key and the line, never a value quietly ignored or
// defaulted. [Policy.Validate] then rejects values that parse but can never
// work, such as a zero access-token lifetime; the server refuses to start on
// either kind of error.
//
// Values that work can still be dangerous. [Check] reviews a policy, with
// the [Context] the server runs in (its address, TLS, where the master key
// comes from), against the rules listed by [Rules] and returns findings
// with a severity, the key and line, the threat and a reference to an RFC
// or OWASP requirement; the server refuses to start on an error finding.
// [Document] writes the policy in force, what it defends against and the
// risk that remains, for a security reviewer.
//
// The package never reads files or environment variables: the caller reads
// the file (at most [MaxSize] bytes) and passes its bytes to Parse.
package policy
