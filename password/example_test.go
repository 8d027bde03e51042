package password_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/password"
)

func ExampleHasher() {
	ctx := context.Background()
	h := password.NewHasher(password.Options{
		Params:        password.DefaultParams(),
		MaxConcurrent: 4,
	})

	// On sign-up: vet, then hash.
	pw := "correct horse battery staple"
	if err := (password.Rules{MinLength: 8, MaxLength: 128}).Check(pw); err != nil {
		fmt.Println(err)
		return
	}
	encoded, err := h.Hash(ctx, []byte(pw))
	if err != nil {
		fmt.Println(err)
		return
	}

	// On login.
	ok, rehash, err := h.Verify(ctx, []byte(pw), encoded)
	fmt.Println(ok, rehash, err)
	// Output: true false <nil>
}

func ExampleRules_Check() {
	r := password.Rules{MinLength: 8, MaxLength: 64}
	for _, pw := range []string{"hunter2", "Password1", "correct horse battery staple"} {
		err := r.Check(pw)
		switch {
		case errors.Is(err, password.ErrTooShort):
			fmt.Println("too short")
		case errors.Is(err, password.ErrCommon):
			fmt.Println("too common")
		case err == nil:
			fmt.Println("ok")
		}
	}
	// Output:
	// too short
	// too common
	// ok
}
