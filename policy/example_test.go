package policy_test

import (
	"fmt"

	"github.com/gatehouse/gatehouse/policy"
)

func ExampleParse() {
	file := []byte(`
tokens:
  access_ttl: 5m
registration: closed
`)
	p, src, err := policy.Parse(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"tokens.access_ttl", "tokens.leeway", "registration"} {
		v, _ := p.Value(key)
		fmt.Printf("%s: %s (%s)\n", key, v, src[key])
	}
	// Output:
	// tokens.access_ttl: 5m (file line 3)
	// tokens.leeway: 30s (default)
	// registration: "closed" (file line 4)
}

func ExampleParse_error() {
	file := []byte(`
tokens:
  acces_ttl: 5m
  leeway: 30
`)
	_, _, err := policy.Parse(file)
	fmt.Println(err)
	// Output:
	// policy: line 3: tokens.acces_ttl: unknown key (did you mean access_ttl?)
	// policy: line 4: tokens.leeway: invalid duration "30": missing unit (write e.g. 30s or 30m)
}

func ExampleSources_Locate() {
	p, src, err := policy.Parse([]byte("sessions:\n  idle_timeout: 0s\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Validate(); err != nil {
		fmt.Println(src.Locate(err))
	}
	// Output:
	// policy: line 2: sessions.idle_timeout: must be positive, got 0s
}
