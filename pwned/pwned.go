// Package pwned tells whether a password is known from data breaches, with
// the k-anonymity range API of Have I Been Pwned's Pwned Passwords (or any
// server that speaks it): the client sends the first five hex digits of the
// password's SHA-1 and gets back the suffixes of every breached hash with
// that prefix, "SUFFIX:COUNT" a line, and looks for its own suffix locally.
// Neither the password nor its full hash ever leaves the process; the
// server learns one of 16^5 buckets, shared by hundreds of hashes.
//
// A Checker is a gatehouse.BreachChecker.
package pwned

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is the public Pwned Passwords API.
const DefaultBaseURL = "https://api.pwnedpasswords.com"

// Options configure a Checker. The zero value of each field picks its default.
type Options struct {
	// BaseURL is where the API lives; GET BaseURL/range/XXXXX is asked.
	// It must be https, except on a loopback host (a local mirror or a
	// test). Default DefaultBaseURL.
	BaseURL string
	// Timeout bounds each check, waiting for a free slot included;
	// default 2s. A caller's earlier deadline wins.
	Timeout time.Duration
	// MaxConcurrent bounds the checks in flight at once, so that a flood
	// of sign-ups cannot turn into a flood of outgoing requests; default 32.
	MaxConcurrent int
	// Client makes the requests; default a client that follows no redirects.
	Client *http.Client
}

// Checker checks passwords against the range API. It is safe for
// concurrent use.
type Checker struct {
	base    string
	timeout time.Duration
	slots   chan struct{}
	client  *http.Client
}

// maxResponse bounds the body read: a real answer is about 40 KiB (some
// 1,000 lines of 40 bytes, padded); anything far larger is not one.
const maxResponse = 1 << 20

// New returns a Checker configured by o. It returns an error for a base URL
// that is not an absolute https URL (http only on a loopback host) without
// query or fragment.
func New(o Options) (*Checker, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if err := CheckBaseURL(o.BaseURL); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 32
	}
	if o.Client == nil {
		o.Client = &http.Client{
			// The answer is needed from the server configured; a
			// redirect elsewhere is an error, not a detour.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Checker{
		base: strings.TrimSuffix(o.BaseURL, "/"), timeout: o.Timeout,
		slots: make(chan struct{}, o.MaxConcurrent), client: o.Client,
	}, nil
}

// CheckBaseURL reports why s cannot be the base URL of a range API: it must
// be an absolute https URL, or http on a loopback host, with no user info,
// query or fragment.
func CheckBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("pwned: base URL %q: %w", s, err)
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("pwned: base URL %q must be an absolute https URL", s)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return fmt.Errorf("pwned: base URL %q must use https (plain http only on a loopback host)", s)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("pwned: base URL %q must have no user info, query or fragment", s)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Breached reports whether pw appears in the corpus. An error means the
// answer could not be had (no free slot in time, the server unreachable,
// slow or answering something other than a range); it never contains the
// password or its hash.
func (c *Checker) Breached(ctx context.Context, pw string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return false, fmt.Errorf("pwned: no free slot: %w", ctx.Err())
	}
	sum := sha1.Sum([]byte(pw))
	digest := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := digest[:5], digest[5:]

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/range/"+prefix, nil)
	if err != nil {
		return false, fmt.Errorf("pwned: %w", err)
	}
	// Padding makes every answer about the same size, so that its length
	// on the wire does not narrow the bucket down further.
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "gatehouse")
	res, err := c.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("pwned: range request: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false, fmt.Errorf("pwned: range request: status %d", res.StatusCode)
	}
	return findSuffix(io.LimitReader(res.Body, maxResponse), suffix)
}

// findSuffix reads a range answer and reports whether suffix is in it with
// a count above zero (padding lines have a count of zero).
func findSuffix(r io.Reader, suffix string) (bool, error) {
	found := false
	sc := bufio.NewScanner(r)
	lines := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		lines++
		s, count, ok := strings.Cut(line, ":")
		n, err := strconv.ParseUint(count, 10, 64)
		if !ok || len(s) != len(suffix) || err != nil {
			return false, errors.New("pwned: malformed range answer")
		}
		if n > 0 && subtle.ConstantTimeCompare([]byte(strings.ToUpper(s)), []byte(suffix)) == 1 {
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("pwned: read range answer: %w", err)
	}
	if lines == 0 {
		// Every real bucket holds hundreds of hashes: an empty answer
		// is a broken server or proxy, not a clean bill.
		return false, errors.New("pwned: empty range answer")
	}
	return found, nil
}
