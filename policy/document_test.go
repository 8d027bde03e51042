package policy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/policy"
)

var sectionTitles = []string{
	"Tokens and signing", "Cookies", "CSRF", "Transport", "Sessions and revocation",
	"Passwords", "Throttling and enumeration", "Logging",
}

func document(t *testing.T, p policy.Policy, src policy.Sources, c policy.Context, format string) string {
	t.Helper()
	b, err := policy.Document(p, src, policy.Check(p, src, c), format)
	if err != nil {
		t.Fatalf("Document(%s): %v", format, err)
	}
	again, _ := policy.Document(p, src, policy.Check(p, src, c), format)
	if !bytes.Equal(b, again) {
		t.Fatalf("Document(%s) differs between two calls", format)
	}
	return string(b)
}

func TestDocumentMarkdown(t *testing.T) {
	p, src, err := policy.Parse([]byte("tokens:\n  access_ttl: 2h\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc := document(t, p, src, local, "markdown")
	for i, title := range sectionTitles {
		if want := "\n## " + string(rune('1'+i)) + ". " + title + "\n"; !strings.Contains(doc, want) {
			t.Errorf("no section %q", want)
		}
	}
	for _, key := range policy.Keys() {
		n := 0
		for line := range strings.Lines(doc) {
			if strings.HasPrefix(line, "| `"+key+"` |") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("key %s has %d rows in the values tables, want 1", key, n)
		}
	}
	for _, want := range []string{
		"| `tokens.access_ttl` | `2h` | file line 2 |",
		"| `tokens.leeway` | `30s` | default |",
		"0 errors, 1 warning, 2 notes",
		"**warning** `tokens.access_ttl.long` (`tokens.access_ttl`, line 2): access tokens live 2h",
		"usable until it expires (up to 2h0m30s) unless its session is revoked",
		"within 10s of the rotation",
		"**Residual risk**",
		"**What it defends against**",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	for _, r := range policy.Rules() {
		if !strings.Contains(doc, "| `"+r.ID+"` | "+r.Severity+" |") {
			t.Errorf("rules table lacks %s", r.ID)
		}
	}
}

// hostile is a policy whose free-text values try to inject markup.
func hostile() policy.Policy {
	p := policy.Default()
	p.Audience = "<script>alert(1)</script>"
	p.Cookies.SameSite = "none"
	p.Cookies.SameSiteNoneReason = "`x` | <img src=x onerror=alert(1)> & *y*"
	return p
}

func TestDocumentMarkdownEscapes(t *testing.T) {
	doc := document(t, hostile(), nil, local, "markdown")
	for _, want := range []string{
		"| `audience` | `\"<script>alert(1)</script>\"` | not recorded |",
		"| `cookies.same_site_none_reason` | ``\"`x` \\| <img src=x onerror=alert(1)> & *y*\"`` |",
		`(reason given: "\` + "`x\\` \\| \\<img src=x onerror=alert(1)\\> \\& \\*y\\*\")",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	for line := range strings.Lines(doc) {
		if strings.Contains(line, "<img") && !strings.Contains(line, "`") {
			t.Errorf("unescaped markup outside a code span: %q", line)
		}
	}
}

func TestDocumentHTML(t *testing.T) {
	doc := document(t, hostile(), nil, local, "html")
	if !strings.HasPrefix(doc, "<!DOCTYPE html>\n<html lang=\"en\">") || !strings.HasSuffix(strings.TrimSpace(doc), "</html>") {
		t.Errorf("not a complete page:\n%.200s", doc)
	}
	for _, bad := range []string{"<script", "<img", "onerror=alert(1)>", "javascript:"} {
		if strings.Contains(doc, bad) {
			t.Errorf("html contains %q", bad)
		}
	}
	for _, want := range []string{
		"<title>Gatehouse security policy</title>",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&lt;img src=x onerror=alert(1)&gt; &amp; *y*",
		`<td class="warning">warning</td><td><code>cookies.same_site.none_justified</code>`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	for _, title := range sectionTitles {
		if !strings.Contains(doc, ". "+title+"</h2>") {
			t.Errorf("html lacks section %q", title)
		}
	}
}

func TestDocumentFormat(t *testing.T) {
	if _, err := policy.Document(policy.Default(), nil, nil, "pdf"); err == nil {
		t.Error("Document(pdf) succeeded, want an error")
	}
}
