package web_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

// runJS runs script, an ES module, with assets/gatehouse.js importable as
// ./gatehouse.mjs, location.origin set to https://app.example, and input
// as JSON on standard input; it returns what the script writes. It skips
// when Node.js is not installed (the browser tests run the client in
// Chromium regardless).
func runJS(t *testing.T, script string, input any) []byte {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed; skipping the check of gatehouse.js")
	}
	dir := t.TempDir()
	client, err := os.ReadFile(filepath.Join("assets", "gatehouse.js"))
	if err != nil {
		t.Fatal(err)
	}
	main := "globalThis.location = { origin: 'https://app.example' };\n" +
		"const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
	for name, text := range map[string]string{"gatehouse.mjs": string(client), "main.mjs": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--input-type=commonjs", "-e", main+"import('./main.mjs').then((m) => m.default(input)).then((out) => process.stdout.write(JSON.stringify(out)));")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s", err, stderr)
	}
	return out
}

// TestJSSafeNextMirrorsSafeNext runs NextCases through safeNext in
// gatehouse.js: the page's check before it navigates must agree with the
// server's.
func TestJSSafeNextMirrorsSafeNext(t *testing.T) {
	var nexts []string
	for _, c := range NextCases {
		nexts = append(nexts, c.Next)
	}
	out := runJS(t, `import { safeNext } from './gatehouse.mjs';
export default (nexts) => nexts.map((n) => safeNext(n));`, nexts)
	var got []string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(nexts) {
		t.Fatalf("node wrote %q (%v)", out, err)
	}
	for i, c := range NextCases {
		if got[i] != c.Want {
			t.Errorf("safeNext(%q) = %q, want %q as web.SafeNext", c.Next, got[i], c.Want)
		}
	}
}

// TestJSClientSendsOnlyToThisOrigin calls the client with paths a
// browser would fetch from another host, and expects each refused before
// anything is sent; paths on this origin, queries with encoded white
// space among them, are sent.
func TestJSClientSendsOnlyToThisOrigin(t *testing.T) {
	type call struct {
		Path string
		Want bool // sent
	}
	calls := []call{
		{`/\evil.example/x`, false},
		{`/\\evil.example/x`, false},
		{"//evil.example/x", false},
		{"/%5Cevil.example/x", false},
		{"/\t/evil.example/x", false},
		{"https://evil.example/x", false},
		{"javascript:alert(1)", false},
		{"api/x", false},
		{"", false},
		{"/api/x?q=a b", false},
		{"/api/x?q=\\", false},
		{"/api/x#\n", false},
		{"/api/x", true},
		{"/api/search?q=a%20b&next=%2F%2Fevil.example", true},
		{"/auth/sessions/abc-_1", true},
		{"/api/x#top", true},
	}
	// Every location SafeNext refuses, the client refuses too.
	for _, c := range NextCases {
		if c.Want == web.DefaultNext && c.Next != web.DefaultNext {
			calls = append(calls, call{c.Next, false})
		}
	}
	var paths []string
	for _, c := range calls {
		paths = append(paths, c.Path)
	}
	out := runJS(t, `import { createClient } from './gatehouse.mjs';
export default async (paths) => {
	const out = [];
	for (const p of paths) {
		let sent = false, refused = '';
		const c = createClient({ fetch: async () => {
			sent = true;
			return new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } });
		}});
		try {
			await c.post(p, {});
		} catch (e) {
			refused = e.name;
		}
		out.push({ sent, refused });
	}
	return out;
};`, paths)
	var got []struct {
		Sent    bool
		Refused string
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(calls) {
		t.Fatalf("node wrote %q (%v)", out, err)
	}
	for i, c := range calls {
		switch g := got[i]; {
		case c.Want && (!g.Sent || g.Refused != ""):
			t.Errorf("post(%q): sent %v, error %q; want it sent", c.Path, g.Sent, g.Refused)
		case !c.Want && (g.Sent || g.Refused != "TypeError"):
			t.Errorf("post(%q): sent %v, error %q; want a TypeError before sending", c.Path, g.Sent, g.Refused)
		}
	}
}
