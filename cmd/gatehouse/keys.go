package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/httpapi"
	"github.com/gatehouse/gatehouse/policy"
)

// jwksMaxAge is the JWKS Cache-Control max-age. The key schedule publishes
// a next key at least access_ttl plus this long before it signs, so the
// two must come from this one place.
const jwksMaxAge = httpapi.DefaultJWKSMaxAge

// keySchedule is the key schedule the policy implies.
func keySchedule(p policy.Policy) gatehouse.KeySchedule {
	return gatehouse.KeySchedule{
		RotationInterval: p.Keys.RotationInterval,
		AccessTTL:        p.Tokens.AccessTTL,
		Leeway:           p.Tokens.Leeway,
		JWKSMaxAge:       jwksMaxAge,
	}
}

// feedTokenHashes decodes services.feed_token_sha256 (validated as hex).
func feedTokenHashes(p policy.Policy) ([][sha256.Size]byte, error) {
	out := make([][sha256.Size]byte, len(p.Services.FeedTokenSHA256))
	for i, h := range p.Services.FeedTokenSHA256 {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("policy services.feed_token_sha256: entry %d is not a SHA-256 in hex", i+1)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// maxKeyFile bounds what keys import reads: an RSA-8192 PKCS#8 PEM is
// under 7 KiB.
const maxKeyFile = 64 << 10

func keysUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  gatehouse keys list    [--data DIR] [--config FILE]
  gatehouse keys rotate  [--data DIR] [--config FILE]
  gatehouse keys import  --alg ALG --private-key-file FILE [--activate] [--data DIR] [--config FILE]
  gatehouse keys retire  KID [--data DIR] [--config FILE]

list shows every signing key (never key material). rotate makes the next key
sign now and retires the current one. import stores a PKCS#8 PEM private key
(or, for HS256, a raw secret file of at least 32 bytes) as the next key, or as
the signing key with --activate. retire stops a key signing; it keeps
verifying until the tokens it signed have expired. Running servers pick up
changes within 30 seconds, and at once on a token naming a new key.
`)
}

func runKeys(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		keysUsage(e.stderr)
		return errors.New("keys: want a subcommand: list, rotate, import or retire")
	}
	sub := args[0]
	switch sub {
	case "list", "rotate", "import", "retire":
	case "help", "-h", "--help":
		keysUsage(e.stdout)
		return nil
	default:
		keysUsage(e.stderr)
		return fmt.Errorf("keys: unknown subcommand %q", sub)
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { keysUsage(e.stderr) }
	var c common
	c.register(fs, e)
	alg := fs.String("alg", "", "`algorithm` of the imported key: EdDSA, ES256, RS256 or HS256 (must be tokens.algorithm)")
	keyFile := fs.String("private-key-file", "", "PKCS#8 PEM private key `file` to import (HS256: the raw secret)")
	activate := fs.Bool("activate", false, "sign with the imported key at once")
	// The kid of retire comes first or last: flags may go on either side.
	var rest []string
	if len(args) > 1 && len(args[1]) > 0 && args[1][0] != '-' {
		rest = []string{args[1]}
		args = append(args[:1:1], args[2:]...)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	rest = append(rest, fs.Args()...)
	switch {
	case sub == "retire" && len(rest) != 1:
		return errors.New("keys retire: want exactly one KID (see gatehouse keys list)")
	case sub != "retire" && len(rest) > 0:
		return fmt.Errorf("keys %s: unexpected argument %q", sub, rest[0])
	case sub == "import" && (*alg == "" || *keyFile == ""):
		return errors.New("keys import: --alg and --private-key-file are required")
	case sub != "import" && (*alg != "" || *keyFile != "" || *activate):
		return fmt.Errorf("keys %s: --alg, --private-key-file and --activate belong to keys import", sub)
	}
	p, _, err := loadPolicy(c.config)
	if err != nil {
		return err
	}
	issuer := p.Issuer
	if issuer == "" {
		issuer = "gatehouse-cli"
	}
	a, err := openApp(ctx, c, p, issuer, e, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer a.Close()

	switch sub {
	case "list":
		return listKeys(e.stdout, a.keys.Records())
	case "rotate":
		rec, err := a.keys.Rotate(ctx)
		if err != nil {
			return fmt.Errorf("keys rotate: %w", err)
		}
		fmt.Fprintf(e.stdout, "key %s (%s) now signs; the previous key is retired and keeps verifying until its tokens expire\n", rec.ID, rec.Algorithm)
	case "import":
		data, err := readKeyFile(*keyFile)
		if err != nil {
			return err
		}
		rec, err := a.keys.Import(ctx, *alg, data, *activate)
		if err != nil {
			return fmt.Errorf("keys import: %w", err)
		}
		clear(data)
		what := "published as the next key; it signs from the next rotation"
		if *activate {
			what = "signing now; the previous key is retired"
		}
		fmt.Fprintf(e.stdout, "imported key %s (%s): %s\n", rec.ID, rec.Algorithm, what)
	case "retire":
		if err := a.keys.Retire(ctx, rest[0]); err != nil {
			if errors.Is(err, gatehouse.ErrNotFound) {
				return fmt.Errorf("keys retire: no key %q (see gatehouse keys list)", rest[0])
			}
			return fmt.Errorf("keys retire: %w", err)
		}
		fmt.Fprintf(e.stdout, "key %s retired; it keeps verifying for %s, until every token it signed has expired\n", rest[0], a.keys.Schedule().Retention())
	}
	return nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys import: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys import: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("keys import: %s is larger than %d bytes: not a private key file", path, maxKeyFile)
	}
	return data, nil
}

// listKeys prints the keys, newest last. It prints ids, algorithms, states
// and times only: never key material, sealed or not.
func listKeys(w io.Writer, recs []*gatehouse.KeyRecord) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVATED\tRETIRED")
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Algorithm, r.State, ts(r.CreatedAt), ts(r.ActivatedAt), ts(r.RetiredAt))
	}
	return tw.Flush()
}
