package policy_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/policy"
)

// FuzzParse checks that Parse never panics or hangs, that every problem it
// reports is a *policy.Error, and that a policy it accepts has a source for
// every key, validates to nothing or to *policy.Error values naming a key,
// and reads back the same when written out with Value.
func FuzzParse(f *testing.F) {
	seeds := []string{
		example,
		"",
		"tokens:\n",
		"issuer: 123\n",
		"tokens:\n  acces_ttl: 10m\n",
		"tokens:\n  access_ttl: 10 minutes\n",
		"tokens: {leeway: 30}\n",
		"tokens: {access_ttl: 0s}\n",
		"issuer: a\nissuer: b\n",
		"tokens: [1]\n",
		"passwords: {argon2: {parallelism: 256, memory_kib: 4194305}}\n",
		"passwords: {min_length: 99999999999999999999}\n",
		"transport: {trusted_proxies: [10.0.0.1/8, \"::1\", 300.0.0.1]}\n",
		"csrf: {trusted_origins: [\"https://a.example/\", \"HTTPS://B.EXAMPLE:443\"]}\n",
		"issuer: &a x\naudience: *a\n",
		"a: 1\n---\nb: 2\n",
		"tokens: [\n",
		"registration: closed\ncookies: {same_site: none}\n",
		"? [a]\n: b\n",
		"issuer: !!binary aGVsbG8=\n",
		"audience: \"\\u00e9\\x00\\t\"\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		p, src, err := policy.Parse(data)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Parse took %v", d)
		}
		if err != nil {
			for _, e := range unjoin(err) {
				if pe, ok := e.(*policy.Error); !ok || pe.Msg == "" {
					t.Fatalf("Parse error %#v (%T) is not a *policy.Error with a message", e, e)
				}
			}
			return
		}
		for _, key := range policy.Keys() {
			if s := src[key]; s != "default" && !strings.HasPrefix(s, "file line ") {
				t.Errorf("Sources[%q] = %q", key, s)
			}
		}
		if verr := p.Validate(); verr != nil {
			for _, e := range unjoin(verr) {
				if pe, ok := e.(*policy.Error); !ok || pe.Key == "" {
					t.Fatalf("Validate error %#v (%T) is not a *policy.Error with a key", e, e)
				}
			}
		}
		file := render(p)
		again, _, err := policy.Parse([]byte(file))
		if err != nil {
			t.Fatalf("Parse(render(p)) error: %v\nfile:\n%s", err, file)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("Parse(render(p)) = %+v, want %+v\nfile:\n%s", again, p, file)
		}
	})
}
