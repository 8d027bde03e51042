package token_test

// Cases of section B of SECURITY-CASES.md: claims validation. Every token
// here is validly signed by ed-1; only its claims are at fault.

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

func casesB01(tb testing.TB, f *fixture) []vcase {
	return []vcase{
		reject("no exp", f.edToken(tb, payload(del("exp"))), "exp"),
		reject("exp 0 (MapClaims reads it as absent)", f.edToken(tb, payload(set("exp", "0"))), "exp"),
		reject("exp null", f.edToken(tb, payload(set("exp", "null"))), "exp"),
	}
}

func casesB02(tb testing.TB, f *fixture) []vcase {
	beyond := testNow.Add(-testLeeway - 5*time.Second)
	edge := testNow.Add(-testLeeway)
	within := testNow.Add(-testLeeway / 2)
	return []vcase{
		reject("exp = now - leeway - 5s", f.edToken(tb, payload(times(beyond.Add(-testTTL), beyond))), "exp"),
		reject("exp = now - leeway", f.edToken(tb, payload(times(edge.Add(-testTTL), edge))), "exp"),
		accept("exp = now - leeway/2", f.edToken(tb, payload(times(within.Add(-testTTL), within)))),
	}
}

func casesB03(tb testing.TB, f *fixture) []vcase {
	exp := testNow.Add(-10 * time.Minute)
	return []vcase{
		reject("exp = now - 10min", f.edToken(tb, payload(times(exp.Add(-testTTL), exp))), "exp"),
		reject("nbf = now + 10min", f.edToken(tb, payload(set("nbf", num(testNow.Add(10*time.Minute))))), "nbf"),
	}
}

func casesB05(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, v := range []string{"-1", "1e-9", "-9.2e18", "-0", "0.5"} {
		cs = append(cs, reject("exp "+v, f.edToken(tb, payload(set("exp", v))), "exp"))
	}
	for _, name := range []string{"iat", "nbf"} {
		cs = append(cs, reject(name+" -1", f.edToken(tb, payload(set(name, "-1"))), ""))
		cs = append(cs, reject(name+" -9.2e18", f.edToken(tb, payload(set(name, "-9.2e18"))), ""))
	}
	return cs
}

func casesB06(tb testing.TB, f *fixture) []vcase {
	iat := testNow.Add(-time.Minute)
	exp := iat.Add(testTTL)
	return []vcase{
		reject("exp as a string", f.edToken(tb, payload(set("exp", q(num(exp))))), ""),
		reject("iat as a string", f.edToken(tb, payload(set("iat", q(num(iat))))), ""),
		reject("nbf as a string", f.edToken(tb, payload(set("nbf", q(num(iat))))), ""),
		reject("exp as true", f.edToken(tb, payload(set("exp", "true"))), ""),
		reject("exp as an array", f.edToken(tb, payload(set("exp", "["+num(exp)+"]"))), ""),
		reject("exp as an object", f.edToken(tb, payload(set("exp", `{"n":`+num(exp)+`}`))), ""),
	}
}

func casesB07(tb testing.TB, f *fixture) []vcase {
	iat := testNow.Add(-time.Minute)
	cs := []vcase{
		reject("exp = iat + 30 days", f.edToken(tb, payload(times(iat, iat.Add(30*24*time.Hour)))), ""),
		reject("exp = iat + TTL + 1s", f.edToken(tb, payload(times(iat, iat.Add(testTTL+time.Second)))), "MaxTTL"),
		reject("iat long ago, exp still ahead", f.edToken(tb, payload(times(testNow.Add(-48*time.Hour), testNow.Add(time.Minute)))), "MaxTTL"),
		reject("exp before iat", f.edToken(tb, payload(times(iat, iat.Add(-time.Second)))), ""),
		reject("exp equals iat", f.edToken(tb, payload(set("exp", num(testNow)), set("iat", num(testNow)))), ""),
		accept("exp = iat + TTL", f.edToken(tb, payload(times(iat, iat.Add(testTTL))))),
		accept("fractional exp", f.edToken(tb, payload(set("exp", num(iat.Add(testTTL))+".5"), set("iat", num(iat)+".5")))),
	}
	for _, v := range []string{"253402300800", "1e20", "1e300", "1e400", "9223372036854775807", "18446744073709551616"} {
		cs = append(cs, reject("exp "+v, f.edToken(tb, payload(set("exp", v))), ""))
	}
	return cs
}

func casesB09(tb testing.TB, f *fixture) []vcase {
	return []vcase{
		reject("nbf = now + leeway + 60s", f.edToken(tb, payload(set("nbf", num(testNow.Add(testLeeway+time.Minute))))), "nbf"),
		reject("nbf = now + leeway + 1s", f.edToken(tb, payload(set("nbf", num(testNow.Add(testLeeway+time.Second))))), "nbf"),
		accept("nbf = now + leeway/2", f.edToken(tb, payload(set("nbf", num(testNow.Add(testLeeway/2)))))),
		accept("nbf absent", f.edToken(tb, payload(del("nbf")))),
	}
}

func casesB10(tb testing.TB, f *fixture) []vcase {
	hour := testNow.Add(time.Hour)
	edge := testNow.Add(testLeeway + time.Second)
	within := testNow.Add(testLeeway / 2)
	return []vcase{
		reject("iat = now + 1h", f.edToken(tb, payload(times(hour, hour.Add(testTTL)))), ""),
		reject("iat = now + leeway + 1s", f.edToken(tb, payload(set("iat", num(edge)), set("exp", num(edge.Add(time.Minute))))), "iat"),
		reject("iat missing", f.edToken(tb, payload(del("iat"))), "iat"),
		accept("iat = now + leeway/2", f.edToken(tb, payload(times(within, within.Add(testTTL))))),
	}
}

func casesB11(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, c := range []struct{ name, raw string }{
		{"iss of another tenant", q("https://staging.gatehouse.test")},
		{"iss upper case", q(strings.ToUpper(testIss))},
		{"iss with trailing slash", q(testIss + "/")},
		{"iss empty", q("")},
		{"iss a number", "1"},
		{"iss null", "null"},
		{"iss an array", "[" + q(testIss) + "]"},
	} {
		cs = append(cs, reject(c.name, f.edToken(tb, payload(set("iss", c.raw))), "iss"))
	}
	return append(cs, reject("iss missing", f.edToken(tb, payload(del("iss"))), "iss"))
}

func casesB12(tb testing.TB, f *fixture) []vcase {
	var cs []vcase
	for _, c := range []struct {
		name, raw string
		ok        bool
	}{
		{"other-service", q("other-service"), false},
		{"[]", "[]", false},
		{`[""]`, `[""]`, false},
		{"123", "123", false},
		{"null", "null", false},
		{"AUD with trailing space", "[" + q(testAud+" ") + "]", false},
		{"AUD upper case", q(strings.ToUpper(testAud)), false},
		{"AUD and a number", "[" + q(testAud) + ",1]", false},
		{"AUD and an empty string", "[" + q(testAud) + `,""]`, false},
		{"object", `{"aud":` + q(testAud) + "}", false},
		{"nested array", "[[" + q(testAud) + "]]", false},
		{"[other, AUD]", `["other",` + q(testAud) + "]", true},
		{"[AUD]", "[" + q(testAud) + "]", true},
	} {
		raw := f.edToken(tb, payload(set("aud", c.raw)))
		if c.ok {
			cs = append(cs, accept(c.name, raw))
		} else {
			cs = append(cs, reject(c.name, raw, "aud"))
		}
	}
	return append(cs, reject("aud missing", f.edToken(tb, payload(del("aud"))), "aud"))
}

func casesB13(tb testing.TB, f *fixture) []vcase {
	return []vcase{
		reject("sub missing", f.edToken(tb, payload(del("sub"))), "sub"),
		reject(`sub ""`, f.edToken(tb, payload(set("sub", q("")))), "sub"),
		reject("sub 1", f.edToken(tb, payload(set("sub", "1"))), "sub"),
		reject(`sub ["admin"]`, f.edToken(tb, payload(set("sub", `["admin"]`))), "sub"),
		reject("sub null", f.edToken(tb, payload(set("sub", "null"))), "sub"),
	}
}

func casesB14(tb testing.TB, f *fixture) []vcase {
	return []vcase{
		reject("jti missing", f.edToken(tb, payload(del("jti"))), "jti"),
		reject(`jti ""`, f.edToken(tb, payload(set("jti", q("")))), "jti"),
		reject("jti 123", f.edToken(tb, payload(set("jti", "123"))), "jti"),
		reject("jti null", f.edToken(tb, payload(set("jti", "null"))), "jti"),
	}
}

func casesSid(tb testing.TB, f *fixture) []vcase {
	return []vcase{
		reject("sid missing", f.edToken(tb, payload(del("sid"))), "sid"),
		reject(`sid ""`, f.edToken(tb, payload(set("sid", q("")))), "sid"),
		reject("sid 7", f.edToken(tb, payload(set("sid", "7"))), "sid"),
	}
}

func casesB15(tb testing.TB, f *fixture) []vcase {
	iat := testNow.Add(-time.Minute)
	exp := num(iat.Add(testTTL))
	far := "253402300799"
	pl := func(edits ...edit) string { return f.edToken(tb, payload(edits...)) }
	return []vcase{
		// encoding/json would let these satisfy (or override) exp, iss, sub.
		reject("EXP instead of exp", pl(del("exp"), set("EXP", exp)), "case variant"),
		reject("Exp beside exp", pl(add("Exp", far)), "case variant"),
		reject("ISS beside iss", pl(add("ISS", q("https://evil.example"))), "case variant"),
		reject("Sub instead of sub", pl(del("sub"), set("Sub", q("user-admin"))), "case variant"),
		reject("long s (U+017F) sub", pl(add("\u017fub", q("user-admin"))), "case variant"),
		reject("AUD beside aud", pl(add("AUD", q("other"))), "case variant"),
		reject("IaT instead of iat", pl(del("iat"), set("IaT", num(iat))), "case variant"),
		reject("NBF beside nbf", pl(add("NBF", far)), "case variant"),
		reject("JTI instead of jti", pl(del("jti"), set("JTI", q("x"))), "case variant"),
		reject("SID beside sid", pl(add("SID", q("sid-2"))), "case variant"),
		reject("duplicate exp, far one last", pl(add("exp", far)), "duplicate"),
		reject("duplicate exp, far one first", f.edToken(tb, `{"exp":`+far+`,`+payload()[1:]), "duplicate"),
		reject("duplicate exp, escaped name", pl(add(`"\u0065xp"`, far)), "duplicate"),
		reject("duplicate iss", pl(add("iss", q("https://evil.example"))), "duplicate"),
		reject("duplicate sub", pl(add("sub", q("user-admin"))), "duplicate"),
		reject("duplicate aud", pl(add("aud", q("other"))), "duplicate"),
		reject("invalid UTF-8 in payload", pl(set("sub", "\"user-\xff\"")), "UTF-8"),
		reject("payload an array", f.edToken(tb, "["+payload()+"]"), "not a JSON object"),
		reject("payload null", f.edToken(tb, "null"), "not a JSON object"),
		reject("payload with trailing object", f.edToken(tb, payload()+"{}"), "data after"),
		reject("payload with trailing comma", f.edToken(tb, strings.TrimSuffix(payload(), "}")+",}"), ""),
		accept("unknown claim ignored", pl(add("role", q("admin")))),
	}
}

func casesB15Header(tb testing.TB, f *fixture) []vcase {
	hd := func(hdr string) string { return f.edHeader(tb, hdr) }
	return []vcase{
		reject("duplicate alg, none last", hd(header(token.EdDSA, f.ed.ID, add("alg", q("none")))), "duplicate"),
		reject("duplicate alg, none first", hd(`{"alg":"none",`+header(token.EdDSA, f.ed.ID)[1:]), "duplicate"),
		reject("duplicate typ", hd(header(token.EdDSA, f.ed.ID, add("typ", q("JWT")))), "duplicate"),
		reject("duplicate kid", hd(header(token.EdDSA, f.ed.ID, add("kid", q("hs-1")))), "duplicate"),
		reject("duplicate alg, escaped name", hd(header(token.EdDSA, f.ed.ID, add(`"\u0061lg"`, q("none")))), "duplicate"),
		reject("ALG beside alg", hd(header(token.EdDSA, f.ed.ID, add("ALG", q("none")))), "not allowed"),
		reject("Typ instead of typ", hd(header(token.EdDSA, f.ed.ID, del("typ"), add("Typ", q("at+jwt")))), "not allowed"),
	}
}
