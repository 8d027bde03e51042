// Command gatehouse runs the Gatehouse authentication server and its
// operator commands. It is the only part of Gatehouse that reads files and
// the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code) // the command has said everything already
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(2)
	}
}

// exitError ends the program with an exit status and no further message,
// for a command that has already printed its result, such as `policy check`
// finding an error.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// env holds what a command may read from the outside world; tests pass
// their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run is the whole program, callable in-process by tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, e)
	case "user":
		return runUser(ctx, rest, e)
	case "keys":
		return runKeys(ctx, rest, e)
	case "migrate":
		return runMigrate(ctx, rest, e)
	case "audit":
		return runAudit(ctx, rest, e)
	case "policy":
		return runPolicy(ctx, rest, e)
	case "version":
		fmt.Fprintln(stdout, "gatehouse", version)
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Gatehouse: login and user authentication for API servers.

Usage:
  gatehouse serve   [--addr 127.0.0.1:8080] [--data ./gatehouse-data] [--config gatehouse.yaml]
                    [--tls-cert FILE --tls-key FILE | --dev-tls] [--http-redirect-addr ADDR]
                    [--admin-addr 127.0.0.1:9090]    (GET /metrics, on this listener only)
  gatehouse user add --email EMAIL [--data DIR]     (password read from stdin)
  gatehouse user disable --email EMAIL [--data DIR]
  gatehouse keys list | rotate | import --alg ALG --private-key-file PEM [--activate] | retire KID
  gatehouse policy check [--config FILE] [--addr ADDR] [--tls-cert F --tls-key F | --dev-tls]
                                                    (exit status 1 when the policy has an error)
  gatehouse policy show  [--config FILE]            (effective policy and where each value came from)
  gatehouse policy doc   [--config FILE] [--format markdown|html]
  gatehouse migrate [--data DIR | --database-url URL]  (apply database migrations and exit)
  gatehouse audit   [--user EMAIL] [--since DURATION] [--json] [--data DIR]  (the audit trail)
  gatehouse version

Environment: GATEHOUSE_ADDR, GATEHOUSE_DATA, GATEHOUSE_CONFIG, GATEHOUSE_MASTER_KEY,
GATEHOUSE_TLS_CERT, GATEHOUSE_TLS_KEY, GATEHOUSE_HTTP_REDIRECT_ADDR, GATEHOUSE_ADMIN_ADDR.
`)
}
