package migrations_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse/gatehouse/internal/migrations"
)

func TestLoad(t *testing.T) {
	ms, err := migrations.Load(fstest.MapFS{
		"migrations/0002_b.sql":  {Data: []byte("B")},
		"migrations/0001_a.sql":  {Data: []byte("A")},
		"migrations/0010_c.sql":  {Data: []byte("C")},
		"migrations/README":      {Data: []byte("not a migration")},
		"other/0003_nothere.sql": {Data: []byte("elsewhere")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+m.SQL)
	}
	if want := "0001_a.sql=A 0002_b.sql=B 0010_c.sql=C"; strings.Join(got, " ") != want {
		t.Fatalf("Load: %s, want %s", strings.Join(got, " "), want)
	}
	if ms[2].Version != 10 {
		t.Fatalf("version of %s: %d", ms[2].Name, ms[2].Version)
	}
}

func TestLoadRefuses(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no version":    {"migrations/init.sql": {}},
		"zero version":  {"migrations/0000_init.sql": {}},
		"no underscore": {"migrations/0001.sql": {}},
		"same version":  {"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
		"no migration":  {"migrations/README": {}},
		"negative":      {"migrations/-1_a.sql": {}},
	} {
		if ms, err := migrations.Load(fsys); err == nil {
			t.Errorf("%s: Load accepted %v", name, ms)
		}
	}
}
