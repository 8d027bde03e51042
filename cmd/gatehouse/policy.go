package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse/gatehouse/policy"
)

//go:generate go test -run TestSecurityPolicyDocument -update .

func runPolicy(_ context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "show" && args[0] != "doc") {
		policyUsage(e.stderr)
		if len(args) == 0 {
			return errors.New("policy: want a subcommand: check, show or doc")
		}
		return fmt.Errorf("policy: unknown subcommand %q (want check, show or doc)", args[0])
	}
	fs := flag.NewFlagSet("policy "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f policyFlags
	f.register(fs, e)
	format := "markdown"
	if args[0] == "doc" {
		fs.StringVar(&format, "format", "markdown", "document `format`: markdown or html")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("policy %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errTLSPair
	}
	p, src, err := loadPolicy(f.config)
	if err != nil {
		return err
	}
	ctx := f.context(e)
	switch args[0] {
	case "check":
		findings := policy.Check(p, src, ctx)
		printFindings(e.stdout, findings, f.config, true)
		if policy.HasErrors(findings) {
			return exitError{code: 1}
		}
		return nil
	case "show":
		return showPolicy(e.stdout, p, src, f, fs, e)
	default: // doc
		doc, err := policy.Document(p, src, policy.Check(p, src, ctx), format)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(doc)
		return err
	}
}

func policyUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  gatehouse policy check [--config FILE] [--addr ADDR] [--tls-cert F --tls-key F | --dev-tls]
  gatehouse policy show  [--config FILE]
  gatehouse policy doc   [--config FILE] [--format markdown|html]
`)
}

// policyFlags are the settings, outside the policy file, that the checks
// depend on: the flags and variables of serve that matter to security.
type policyFlags struct {
	common
	addr, tlsCert, tlsKey string
	devTLS                bool
}

func (f *policyFlags) register(fs *flag.FlagSet, e env) {
	f.common.register(fs, e)
	fs.StringVar(&f.addr, "addr", envOr(e, "GATEHOUSE_ADDR", "127.0.0.1:8080"), "listen `address` to check (GATEHOUSE_ADDR)")
	fs.StringVar(&f.tlsCert, "tls-cert", e.getenv("GATEHOUSE_TLS_CERT"), "TLS certificate `file` (GATEHOUSE_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "tls-key", e.getenv("GATEHOUSE_TLS_KEY"), "TLS private key `file` (GATEHOUSE_TLS_KEY)")
	fs.BoolVar(&f.devTLS, "dev-tls", false, "check as if serving with the self-signed development certificate")
}

func (f *policyFlags) context(e env) policy.Context {
	return checkContext(f.addr, f.tlsCert, f.devTLS, e)
}

// checkContext is what the policy checks need to know about how serve
// runs. The HS256 secret fields stay zero: the server generates its HS256
// secrets itself, 32 bytes from crypto/rand.
func checkContext(addr, tlsCert string, devTLS bool, e env) policy.Context {
	return policy.Context{
		Addr:             addr,
		TLS:              tlsCert != "" || devTLS,
		DevTLS:           devTLS && tlsCert == "",
		MasterKeyFromEnv: e.getenv("GATEHOUSE_MASTER_KEY") != "",
	}
}

// errPolicyRefused is returned by serve when the policy has an error
// finding; the findings themselves have been printed.
var errPolicyRefused = errors.New("refusing to start: the policy has errors, listed above (gatehouse policy check lists every finding)")

// startupCheck runs the policy checks of `gatehouse policy check` for serve:
// errors and warnings go to w, and any error refuses the start.
func startupCheck(p policy.Policy, src policy.Sources, ctx policy.Context, config string, w io.Writer) error {
	var shown []policy.Finding
	for _, f := range policy.Check(p, src, ctx) {
		if f.Severity != policy.SeverityNote {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		return nil
	}
	printFindings(w, shown, config, false)
	if policy.HasErrors(shown) {
		return errPolicyRefused
	}
	return nil
}

// printFindings writes findings for an operator: where, what and what to
// do on one line, then why and the reference.
func printFindings(w io.Writer, findings []policy.Finding, config string, summary bool) {
	var n [3]int
	for _, f := range findings {
		switch f.Severity {
		case policy.SeverityError:
			n[0]++
		case policy.SeverityWarning:
			n[1]++
		default:
			n[2]++
		}
		key := f.Key
		if at := where(f, config); at != "" {
			key += " (" + at + ")"
		}
		fmt.Fprintf(w, "%s: %s: %s [%s]\n", f.Severity, key, f.Message, f.Rule)
		fmt.Fprintf(w, "    why: %s\n    reference: %s\n", f.Why, f.Reference)
	}
	if summary {
		fmt.Fprintf(w, "%s, %s, %s\n", plural(n[0], "error"), plural(n[1], "warning"), plural(n[2], "note"))
	}
}

// where says where the policy value a finding concerns comes from: a line
// of the file or the default. It is "" for a flag or variable.
func where(f policy.Finding, config string) string {
	switch {
	case f.Line > 0 && config != "":
		return fmt.Sprintf("%s line %d", config, f.Line)
	case f.Line > 0:
		return fmt.Sprintf("line %d", f.Line)
	case strings.HasPrefix(f.Key, "-"), strings.HasPrefix(f.Key, "GATEHOUSE_"):
		return ""
	default:
		return "default"
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// showPolicy prints every policy key with its effective value and where it
// came from, then the settings from flags and the environment. Secrets are
// never printed, only whether they are set.
func showPolicy(w io.Writer, p policy.Policy, src policy.Sources, f policyFlags, fs *flag.FlagSet, e env) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, key := range policy.Keys() {
		v, _ := p.Value(key)
		s := src[key]
		if line, ok := strings.CutPrefix(s, "file line "); ok {
			s = f.config + " line " + line
		}
		if key == "issuer" && p.Issuer == "" {
			s += " (serve derives it from the listen address)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", key, v, s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	set := make(map[string]bool)
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	origin := func(name, variable string) string {
		switch {
		case set[name]:
			return "--" + name
		case variable != "" && e.getenv(variable) != "":
			return variable
		default:
			return "default"
		}
	}
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	fmt.Fprintf(tw, "config\t%s\t%s\n", orNone(f.config), origin("config", "GATEHOUSE_CONFIG"))
	fmt.Fprintf(tw, "addr\t%s\t%s\n", f.addr, origin("addr", "GATEHOUSE_ADDR"))
	fmt.Fprintf(tw, "data\t%s\t%s\n", f.data, origin("data", "GATEHOUSE_DATA"))
	fmt.Fprintf(tw, "tls-cert\t%s\t%s\n", orNone(f.tlsCert), origin("tls-cert", "GATEHOUSE_TLS_CERT"))
	fmt.Fprintf(tw, "tls-key\t%s\t%s\n", orNone(f.tlsKey), origin("tls-key", "GATEHOUSE_TLS_KEY"))
	fmt.Fprintf(tw, "dev-tls\t%t\t%s\n", f.devTLS, origin("dev-tls", ""))
	if e.getenv("GATEHOUSE_MASTER_KEY") != "" {
		fmt.Fprintf(tw, "master key\t(set, redacted)\tGATEHOUSE_MASTER_KEY\n")
	} else {
		fmt.Fprintf(tw, "master key\t(not shown)\tmaster.key in the data dir\n")
	}
	return tw.Flush()
}
