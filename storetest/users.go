package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// newUser returns a user with every field set, not yet stored.
func newUser(id, email string) *gatehouse.User {
	return &gatehouse.User{
		ID:           id,
		Email:        email,
		DisplayName:  "Zoë O'Brien 李",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		CreatedAt:    at(0),
		UpdatedAt:    at(0),
	}
}

func createUser(t *testing.T, st Stores, u *gatehouse.User) {
	t.Helper()
	if err := st.Users.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", u.ID, err)
	}
}

// checkUser fails t unless the stored user with want.ID equals want.
func checkUser(t *testing.T, st Stores, want *gatehouse.User) {
	t.Helper()
	got, err := st.Users.UserByID(t.Context(), want.ID)
	if err != nil {
		t.Errorf("UserByID(%q): %v", want.ID, err)
		return
	}
	diffUser(got, want).report(t, "UserByID("+want.ID+")")
}

func testUsers(t *testing.T, open func(*testing.T) Stores) {
	t.Run("CreateAndLookUp", func(t *testing.T) {
		st := open(t)
		alice := newUser("u-alice", "alice@example.org")
		bob := newUser("u-bob", "bob@example.org")
		bob.DisplayName = ""
		bob.Disabled = true
		bob.UpdatedAt = at(time.Hour)
		for _, u := range []*gatehouse.User{alice, bob} {
			createUser(t, st, u)
		}
		for _, want := range []*gatehouse.User{alice, bob} {
			checkUser(t, st, want)
			got, err := st.Users.UserByEmail(t.Context(), want.Email)
			if err != nil {
				t.Errorf("UserByEmail(%q): %v", want.Email, err)
				continue
			}
			diffUser(got, want).report(t, "UserByEmail("+want.Email+")")
		}
	})

	t.Run("EmailTaken", func(t *testing.T) {
		st := open(t)
		first := newUser("u-first", "taken@example.org")
		createUser(t, st, first)
		err := st.Users.CreateUser(t.Context(), newUser("u-second", "taken@example.org"))
		wantErr(t, "CreateUser with a registered email", err, gatehouse.ErrEmailTaken)
		_, err = st.Users.UserByID(t.Context(), "u-second")
		wantErr(t, "UserByID of the rejected user", err, gatehouse.ErrNotFound)
		checkUser(t, st, first)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := open(t)
		createUser(t, st, newUser("u-present", "present@example.org"))
		ctx := t.Context()
		for _, tc := range []struct {
			call string
			do   func(context.Context) error
		}{
			{"UserByID", func(ctx context.Context) error { _, err := st.Users.UserByID(ctx, "u-absent"); return err }},
			{"UserByEmail", func(ctx context.Context) error {
				_, err := st.Users.UserByEmail(ctx, "absent@example.org")
				return err
			}},
			{"UpdateDisplayName", func(ctx context.Context) error {
				return st.Users.UpdateDisplayName(ctx, "u-absent", "x", at(time.Minute))
			}},
			{"UpdatePasswordHash", func(ctx context.Context) error {
				return st.Users.UpdatePasswordHash(ctx, "u-absent", "x", at(time.Minute))
			}},
			{"SetUserDisabled", func(ctx context.Context) error {
				return st.Users.SetUserDisabled(ctx, "u-absent", true, at(time.Minute))
			}},
		} {
			wantErr(t, tc.call+" of an absent user", tc.do(ctx), gatehouse.ErrNotFound)
		}
	})

	t.Run("Update", func(t *testing.T) {
		now := at(90 * time.Minute)
		for _, tc := range []struct {
			name   string
			do     func(context.Context, gatehouse.UserStore, string) error
			change func(*gatehouse.User)
		}{
			{
				"DisplayName",
				func(ctx context.Context, s gatehouse.UserStore, id string) error {
					return s.UpdateDisplayName(ctx, id, "Alice Liddell", now)
				},
				func(u *gatehouse.User) { u.DisplayName = "Alice Liddell" },
			},
			{
				"EmptyDisplayName",
				func(ctx context.Context, s gatehouse.UserStore, id string) error {
					return s.UpdateDisplayName(ctx, id, "", now)
				},
				func(u *gatehouse.User) { u.DisplayName = "" },
			},
			{
				"PasswordHash",
				func(ctx context.Context, s gatehouse.UserStore, id string) error {
					return s.UpdatePasswordHash(ctx, id, "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3aGFzaA", now)
				},
				func(u *gatehouse.User) { u.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3aGFzaA" },
			},
			{
				"Disable",
				func(ctx context.Context, s gatehouse.UserStore, id string) error {
					return s.SetUserDisabled(ctx, id, true, now)
				},
				func(u *gatehouse.User) { u.Disabled = true },
			},
			{
				// A store that counts changed rather than matched rows
				// would call this ErrNotFound.
				"UnchangedValue",
				func(ctx context.Context, s gatehouse.UserStore, id string) error {
					return s.SetUserDisabled(ctx, id, false, now)
				},
				func(u *gatehouse.User) {},
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t)
				u := newUser("u-1", "one@example.org")
				other := newUser("u-2", "two@example.org")
				createUser(t, st, u)
				createUser(t, st, other)
				if err := tc.do(t.Context(), st.Users, u.ID); err != nil {
					t.Fatalf("update: %v", err)
				}
				want := *u
				tc.change(&want)
				want.UpdatedAt = now
				checkUser(t, st, &want)
				checkUser(t, st, other) // untouched
			})
		}
	})

	t.Run("Enable", func(t *testing.T) {
		st := open(t)
		u := newUser("u-1", "one@example.org")
		u.Disabled = true
		createUser(t, st, u)
		now := at(time.Hour)
		if err := st.Users.SetUserDisabled(t.Context(), u.ID, false, now); err != nil {
			t.Fatalf("SetUserDisabled(false): %v", err)
		}
		want := *u
		want.Disabled, want.UpdatedAt = false, now
		checkUser(t, st, &want)
	})
}
