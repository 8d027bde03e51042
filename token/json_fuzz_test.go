package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// refDecodeObject is the reader decodeObject replaced: the same contract,
// built on json.Decoder. FuzzDecodeObject holds the two to the same answers.
func refDecodeObject(b []byte, fn func(name string, value json.RawMessage) error) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]bool)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %v", err)
		}
		name, _ := t.(string)
		if seen[name] {
			return fmt.Errorf("duplicate member %s", quote(name))
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("bad JSON: %v", err)
		}
		if err := fn(name, v); err != nil {
			return err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return errors.New("bad JSON: unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

type member struct{ name, value string }

func members(s string) ([]member, error) {
	var ms []member
	err := decodeObject(s, func(name, value string) error {
		ms = append(ms, member{name, value})
		return nil
	})
	return ms, err
}

func refMembers(s string) ([]member, error) {
	var ms []member
	err := refDecodeObject([]byte(s), func(name string, value json.RawMessage) error {
		var c bytes.Buffer
		if err := json.Compact(&c, value); err != nil {
			return err
		}
		ms = append(ms, member{name, c.String()})
		return nil
	})
	return ms, err
}

var jsonSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{"a":1}{}`, `{"a":1} x`, `{"a":1,"a":2}`,
	`{"\u0061":1,"a":2}`, `{"a\ud800":1}`, `{"a\ud83d\ude00":"x"}`, `{"a":"\u00zz"}`, `{"a":"\x"}`,
	`{"a":[1,{"b":[true,false,null]}],"c":{}}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b"}}`,
	`{"a":-0.5e+10,"b":0,"c":-0,"d":1E5}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`,
	`{"a":+1}`, `{"a":tru}`, `{"a":nul}`, `{"a":"` + "\x01" + `"}`, "{\"a\":\"\xff\"}", `[1]`, `null`, ``,
	`{"a":"b"`, `{"a"`, `{"a":`, `{`, `{"a":1 ,"b":2}`, "{\"a\":\t\n\r1}", `{"a":"\"\\\/\b\f\n\r\t"}`,
	`{"alg":"EdDSA","typ":"at+jwt","kid":"k"}`, `{"aud":["x","y"],"exp":1.5}`, `{"a":1}` + "\x00",
	strings.Repeat("[", 50) + strings.Repeat("]", 50), `{"a":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`,
}

// FuzzDecodeObject checks that decodeObject accepts exactly what the
// json.Decoder reader it replaced accepts, with the same member names in
// the same order and the same values.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := members(s)
		want, refErr := refMembers(s)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("decodeObject(%q) error %v, reference error %v", s, err, refErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("decodeObject(%q) = %q, reference %q", s, got, want)
		}
		for i := range got {
			var c bytes.Buffer
			if err := json.Compact(&c, []byte(got[i].value)); err != nil {
				t.Fatalf("decodeObject(%q) member %q value %q is not JSON: %v", s, got[i].name, got[i].value, err)
			}
			if got[i].name != want[i].name || c.String() != want[i].value {
				t.Fatalf("decodeObject(%q) member %d = %q, reference %q", s, i, got[i], want[i])
			}
			if v := got[i].value; v != strings.TrimSpace(v) {
				t.Fatalf("decodeObject(%q) value %q carries white space", s, v)
			}
		}
	})
}

// TestDecodeObjectAllocations pins the point of decodeObject: a header or
// payload as Gatehouse signs them is read without allocating.
func TestDecodeObjectAllocations(t *testing.T) {
	s := `{"aud":["gatehouse-api"],"exp":1772366400,"iat":1772365800,"iss":"https://auth.example","jti":"abc","nbf":1772365800,"sid":"s","sub":"u"}`
	n := testing.AllocsPerRun(100, func() {
		if err := decodeObject(s, func(name, value string) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("decodeObject allocates %v times per call, want 0", n)
	}
}
