package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreOptionErrors checks that store options which cannot work stop
// the program with a message saying what to change, before anything is
// opened.
func TestStoreOptionErrors(t *testing.T) {
	pg := "postgres://postgres@127.0.0.1:1/none?sslmode=disable" // never reached
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"PostgreSQLWithoutSharedMasterKey", nil, []string{"serve", "--database-url", pg}, "GATEHOUSE_MASTER_KEY"},
		{"PostgreSQLFromEnvironmentWithoutSharedMasterKey", map[string]string{"GATEHOUSE_DATABASE_URL": pg}, []string{"user", "add", "--email", "a@example.org"}, "share one master key"},
		{"NoMigrateOnSQLite", nil, []string{"serve", "--no-migrate"}, "--no-migrate needs --database-url"},
		{"MaxConnsOnSQLite", nil, []string{"serve", "--db-max-conns", "8"}, "--db-max-conns needs --database-url"},
		{"NegativeMaxConns", nil, []string{"serve", "--database-url", pg, "--db-max-conns", "-1"}, "--db-max-conns must be"},
		{"SyncSlowerThanTokens", nil, []string{"serve", "--sync-interval", "11m"}, "--sync-interval must be"},
		{"ZeroSync", nil, []string{"serve", "--sync-interval", "0s"}, "--sync-interval must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			args := append(tc.args, "--data", data)
			if tc.args[0] == "serve" {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			err := run(context.Background(), args, getenvFrom(tc.env), strings.NewReader("a passphrase long enough\n"), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: err = %v, want one that says %q", tc.args, err, tc.want)
			}
			if entries, _ := os.ReadDir(data); len(entries) > 0 && strings.Contains(tc.name, "PostgreSQL") {
				t.Errorf("the data dir holds %d files; with PostgreSQL nothing should be written there", len(entries))
			}
		})
	}
}

func TestMigrateSQLite(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var out strings.Builder
	if err := run(context.Background(), []string{"migrate", "--data", data}, getenvFrom(nil), nil, &out, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), "up to date") {
		t.Errorf("migrate printed %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "gatehouse.db")); err != nil {
		t.Errorf("migrate did not create the database: %v", err)
	}
	if err := run(context.Background(), []string{"migrate", "--database-url", "postgres://postgres@127.0.0.1:1/x?sslmode=disable"}, getenvFrom(nil), nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "unavailable") || !strings.Contains(err.Error(), "check --database-url") {
		t.Errorf("migrate of an unreachable PostgreSQL: err = %v, want unavailable and a hint", err)
	}
}
