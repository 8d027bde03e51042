package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gatehouse/gatehouse"
)

func runUser(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New("user: want a subcommand: add or disable")
	}
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c common
	c.register(fs, e)
	email := fs.String("email", "", "the user's `email`")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("user: --email is required")
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

	switch args[0] {
	case "add":
		// The password comes from stdin, never argv: argv is visible to
		// every user of the machine in the process list and lands in shell history.
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("user add: pipe the password on stdin, e.g. printf '%s\\n' \"$PW\" | gatehouse user add --email ...")
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		u, err := a.svc.AddUser(ctx, *email, pw)
		if err != nil {
			var ie *gatehouse.InputError
			if errors.As(err, &ie) {
				return fmt.Errorf("user add: %s %s", ie.Field, ie.Reason)
			}
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(e.stdout, "created user %s (%s)\n", u.Email, u.ID)
		return nil
	case "disable":
		norm, err := gatehouse.NormalizeEmail(*email)
		if err != nil {
			return err
		}
		u, err := a.db.UserByEmail(ctx, norm)
		if err != nil {
			return fmt.Errorf("user disable: %w", err)
		}
		if err := a.svc.DisableUser(ctx, u.ID); err != nil {
			return fmt.Errorf("user disable: %w", err)
		}
		fmt.Fprintf(e.stdout, "disabled user %s and ended its sessions\n", u.Email)
		return nil
	default:
		return fmt.Errorf("user: unknown subcommand %q", args[0])
	}
}
