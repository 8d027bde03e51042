package gatehouse_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

var deviceKey = bytes.Repeat([]byte{5}, 32)

const wrongPassword = "wrong password!"

// withDelay turns the progressive delay on, as cmd/gatehouse does by default.
func withDelay(c *gatehouse.Config) { c.LoginDelay = gatehouse.DefaultLoginDelay }

// withDevices turns known devices on.
func withDevices(c *gatehouse.Config) { c.DeviceKey = deviceKey }

// from returns a client at address ip, presenting device token dev.
func from(ip, dev string) gatehouse.Client {
	return gatehouse.Client{IP: ip, UserAgent: "loginlimit-test", Device: dev}
}

// TestG04ProgressiveDelay checks the progressive delay: after the k-th
// consecutive failure the account's next attempt waits 2^(k-1) seconds, is
// refused before any hashing while it waits (even with the right password),
// and waiting does not use up the hard limit.
func TestG04ProgressiveDelay(t *testing.T) {
	f := newFixture(t, withDelay)
	f.register(t, "delia@example.org")
	wait := time.Second
	for k := 1; k <= 4; k++ {
		// Each failure comes from another address: the delay belongs to
		// the account, not to the client (G-04).
		c := from(fmt.Sprintf("198.51.100.%d", k), "")
		_, _, err := f.svc.Login(t.Context(), "delia@example.org", wrongPassword, c)
		wantErr(t, fmt.Sprintf("failure %d", k), err, gatehouse.ErrInvalidCredentials)
		_, _, err = f.svc.Login(t.Context(), "delia@example.org", testPassword, from("203.0.113.9", ""))
		wantThrottled(t, fmt.Sprintf("right password just after failure %d", k), err, wait)
		f.clock.Advance(wait / 2)
		_, _, err = f.svc.Login(t.Context(), "delia@example.org", wrongPassword, c)
		wantThrottled(t, fmt.Sprintf("half-way through delay %d", k), err, wait/2)
		f.clock.Advance(wait / 2)
		wait *= 2
	}
	// Four failures and eight refused attempts: the fifth failure is still
	// allowed, the sixth attempt meets the hard limit.
	_, _, err := f.svc.Login(t.Context(), "delia@example.org", wrongPassword, client)
	wantErr(t, "failure 5", err, gatehouse.ErrInvalidCredentials)
	f.clock.Advance(time.Hour)

	f.login(t, "delia@example.org", testPassword)
	// The success ended the run of failures: the next failure waits 1s again.
	f.svc.Login(t.Context(), "delia@example.org", wrongPassword, client)
	_, _, err = f.svc.Login(t.Context(), "delia@example.org", wrongPassword, client)
	wantThrottled(t, "after a success and one failure", err, time.Second)
}

// TestG04AccountLimitIgnoresAddresses makes 50 failures against one account
// from 50 addresses: the account limit holds whatever address a guess
// claims to come from, and then refuses even the right password.
func TestG04AccountLimitIgnoresAddresses(t *testing.T) {
	f := newFixture(t, withDelay)
	f.register(t, "gert@example.org")
	var failed, throttled int
	for i := range 50 {
		f.clock.Advance(17 * time.Second) // past every progressive delay, within the window
		_, _, err := f.svc.Login(t.Context(), "gert@example.org", wrongPassword, from(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), ""))
		switch {
		case errors.Is(err, gatehouse.ErrInvalidCredentials):
			failed++
		case errors.Is(err, gatehouse.ErrThrottled):
			throttled++
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if failed != 5 || throttled != 45 {
		t.Fatalf("50 failures from 50 addresses: %d checked, %d throttled; want 5 and 45", failed, throttled)
	}
	_, _, err := f.svc.Login(t.Context(), "gert@example.org", testPassword, from("192.0.2.77", ""))
	if !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("right password from a fresh address during the lockout: %v, want throttled", err)
	}
}

// TestG09KnownDeviceBypass: an attacker makes 1,000 failed attempts against
// the victim's account from many addresses. The victim's browser, known to
// the account from an earlier login, still gets in; a client without the
// token does not; the token is bound to its account and cannot be forged,
// and a stolen one is limited like the account.
func TestG09KnownDeviceBypass(t *testing.T) {
	sink := &eventLog{}
	f := newFixture(t, withDelay, withDevices, func(c *gatehouse.Config) { c.Events = sink })
	f.register(t, "vic@example.org")
	f.register(t, "mallory@example.org")
	home := from("192.0.2.10", "")
	_, g, err := f.svc.Login(t.Context(), "vic@example.org", testPassword, home)
	if err != nil {
		t.Fatal(err)
	}
	if g.DeviceToken == "" || !g.DeviceExpiresAt.After(f.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("login grant: device token %q until %v, want a long-lived one", g.DeviceToken, g.DeviceExpiresAt)
	}
	device := g.DeviceToken
	_, mg, _ := f.svc.Login(t.Context(), "mallory@example.org", testPassword, from("203.0.113.66", ""))

	for i := range 1000 {
		if i < 10 {
			f.clock.Advance(20 * time.Second) // past each progressive delay: the account limit is reached
		}
		ip := fmt.Sprintf("10.%d.%d.1", i/200, i%200)
		_, _, err := f.svc.Login(t.Context(), "vic@example.org", fmt.Sprintf("guess %d!", i), from(ip, ""))
		if !errors.Is(err, gatehouse.ErrInvalidCredentials) && !errors.Is(err, gatehouse.ErrThrottled) {
			t.Fatalf("attack attempt %d: %v", i, err)
		}
	}
	_, _, err = f.svc.Login(t.Context(), "vic@example.org", testPassword, from("192.0.2.10", ""))
	if !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("victim without the device token: %v, want throttled (the account is locked)", err)
	}

	for _, tt := range []struct {
		name, token string
	}{
		{"another account's token", mg.DeviceToken},
		{"tampered token", tamper(device)},
		{"truncated token", device[:len(device)-1]},
		{"garbage", "not a token"},
	} {
		_, _, err := f.svc.Login(t.Context(), "vic@example.org", testPassword, from("192.0.2.10", tt.token))
		if !errors.Is(err, gatehouse.ErrThrottled) {
			t.Fatalf("%s: %v, want throttled like any unknown client", tt.name, err)
		}
	}

	u, g2, err := f.svc.Login(t.Context(), "vic@example.org", testPassword, from("192.0.2.10", device))
	if err != nil {
		t.Fatalf("victim on her known device during the attack: %v, want success", err)
	}
	if u.Email != "vic@example.org" || g2.DeviceToken == "" {
		t.Fatalf("known-device login: user %q, device token %q", u.Email, g2.DeviceToken)
	}
	if ev := sink.named(gatehouse.EventLoginSuccess); len(ev) == 0 || ev[len(ev)-1].Reason != "known_device" {
		t.Fatalf("last login.success event %+v, want reason known_device", ev)
	}
	// Logging in on the known device does not unlock the account for
	// everyone else: the attacker is still held back.
	_, _, err = f.svc.Login(t.Context(), "vic@example.org", testPassword, from("10.9.9.9", ""))
	if !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("unknown client after the owner's known-device login: %v, want still throttled", err)
	}

	// A stolen device token is no better for guessing than the account
	// limit: five failures, then its own bucket refuses.
	for i := range 5 {
		_, _, err := f.svc.Login(t.Context(), "vic@example.org", wrongPassword, from("10.8.8.8", device))
		wantErr(t, fmt.Sprintf("guess %d with a stolen device token", i), err, gatehouse.ErrInvalidCredentials)
	}
	_, _, err = f.svc.Login(t.Context(), "vic@example.org", testPassword, from("10.8.8.8", device))
	wantThrottled(t, "stolen device token after five failures", err, 15*time.Minute)

	// An expired token is an unknown client.
	f.clock.Advance(gatehouse.DefaultDeviceTTL + time.Second)
	f.svc.Login(t.Context(), "vic@example.org", wrongPassword, client) // a fresh lockout window...
	for range 5 {
		f.clock.Advance(time.Minute)
		f.svc.Login(t.Context(), "vic@example.org", wrongPassword, from("10.7.7.7", ""))
	}
	_, _, err = f.svc.Login(t.Context(), "vic@example.org", testPassword, from("192.0.2.10", g2.DeviceToken))
	if !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("expired device token: %v, want throttled", err)
	}
}

// tamper flips one bit in the middle of a token, keeping its alphabet.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestThrottleInterleaving logs into an account the attacker owns between
// failures against another, from one address: the successes reset the
// attacker's own account and nothing else. The target's account count,
// its progressive delay and the address's count all survive them.
func TestThrottleInterleaving(t *testing.T) {
	f := newFixture(t, withDelay, func(c *gatehouse.Config) {
		c.IPLimit = gatehouse.Limit{MaxFailures: 12, Window: time.Hour}
	})
	f.register(t, "own@example.org")
	f.register(t, "target@example.org")
	f.register(t, "third@example.org")
	attacker := from("198.51.100.200", "")
	own := func(what string) {
		t.Helper()
		if _, _, err := f.svc.Login(t.Context(), "own@example.org", testPassword, attacker); err != nil {
			t.Fatalf("own login %s: %v", what, err)
		}
	}
	for i := range 4 {
		_, _, err := f.svc.Login(t.Context(), "target@example.org", wrongPassword, attacker)
		wantErr(t, fmt.Sprintf("failure %d against the target", i+1), err, gatehouse.ErrInvalidCredentials)
		own(fmt.Sprint(i + 1))
		// Still within the target's delay: the own success did not end it.
		_, _, err = f.svc.Login(t.Context(), "target@example.org", wrongPassword, attacker)
		wantThrottled(t, fmt.Sprintf("target right after own login %d", i+1), err, time.Second<<i)
		f.clock.Advance(time.Second << i)
	}
	_, _, err := f.svc.Login(t.Context(), "target@example.org", wrongPassword, attacker)
	wantErr(t, "failure 5 against the target", err, gatehouse.ErrInvalidCredentials)
	own("5")
	_, _, err = f.svc.Login(t.Context(), "target@example.org", testPassword, attacker)
	wantThrottled(t, "target after five failures and five own successes", err, 15*time.Minute-15*time.Second)

	// The address has counted 10 attempts: 5 failures and 5 refused; the
	// own successes gave back only their own. Two more failures reach the
	// limit of 12, and then the attacker's own account is refused too.
	for i := range 2 {
		f.clock.Advance(time.Minute)
		_, _, err := f.svc.Login(t.Context(), "third@example.org", wrongPassword, attacker)
		wantErr(t, fmt.Sprintf("failure %d against a third account", i+1), err, gatehouse.ErrInvalidCredentials)
		if i == 0 {
			own("between")
		}
	}
	_, _, err = f.svc.Login(t.Context(), "own@example.org", testPassword, attacker)
	if !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("own login after the address reached its limit: %v, want throttled", err)
	}
}

// TestThrottleParallelBurst fires parallel bursts: the counters are atomic,
// so exactly the limit gets through, whatever the interleaving.
func TestThrottleParallelBurst(t *testing.T) {
	burst := func(t *testing.T, n int, attempt func(i int) error) (checked, throttled int) {
		t.Helper()
		var c, th atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				switch err := attempt(i); {
				case errors.Is(err, gatehouse.ErrInvalidCredentials):
					c.Add(1)
				case errors.Is(err, gatehouse.ErrThrottled):
					th.Add(1)
				default:
					t.Errorf("attempt %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		return int(c.Load()), int(th.Load())
	}
	t.Run("account", func(t *testing.T) {
		f := newFixture(t)
		f.register(t, "burst@example.org")
		checked, throttled := burst(t, 64, func(i int) error {
			_, _, err := f.svc.Login(t.Context(), "burst@example.org", wrongPassword, from(fmt.Sprintf("10.1.%d.1", i), ""))
			return err
		})
		if checked != 5 || throttled != 59 {
			t.Fatalf("64 parallel failures: %d checked, %d throttled; want 5 and 59", checked, throttled)
		}
	})
	t.Run("account with delay", func(t *testing.T) {
		f := newFixture(t, withDelay)
		f.register(t, "burst@example.org")
		checked, _ := burst(t, 64, func(i int) error {
			_, _, err := f.svc.Login(t.Context(), "burst@example.org", wrongPassword, from(fmt.Sprintf("10.1.%d.1", i), ""))
			return err
		})
		if checked < 1 || checked > 5 {
			t.Fatalf("64 parallel failures with the delay: %d checked, want 1 to 5", checked)
		}
	})
	t.Run("address", func(t *testing.T) {
		f := newFixture(t, func(c *gatehouse.Config) { c.IPLimit = gatehouse.Limit{MaxFailures: 10, Window: time.Hour} })
		checked, throttled := burst(t, 64, func(i int) error {
			_, _, err := f.svc.Login(t.Context(), fmt.Sprintf("user%d@example.org", i), wrongPassword, from("2001:db8::1", ""))
			return err
		})
		if checked != 10 || throttled != 54 {
			t.Fatalf("64 parallel failures from one address: %d checked, %d throttled; want 10 and 54", checked, throttled)
		}
	})
	t.Run("known device", func(t *testing.T) {
		f := newFixture(t, withDevices)
		f.register(t, "burst@example.org")
		_, g, err := f.svc.Login(t.Context(), "burst@example.org", testPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		checked, throttled := burst(t, 64, func(i int) error {
			_, _, err := f.svc.Login(t.Context(), "burst@example.org", wrongPassword, from(fmt.Sprintf("10.2.%d.1", i), g.DeviceToken))
			return err
		})
		if checked != 5 || throttled != 59 {
			t.Fatalf("64 parallel failures with a device token: %d checked, %d throttled; want 5 and 59", checked, throttled)
		}
	})
}

// TestG06StuffingAlarm spreads failures over many accounts and addresses,
// none of which reaches its own limit: the global count sets the alarm off
// once, it is recorded, and while it lasts each address gets fewer tries.
func TestG06StuffingAlarm(t *testing.T) {
	sink := &eventLog{}
	f := newFixture(t, func(c *gatehouse.Config) {
		c.Events = sink
		c.Stuffing = gatehouse.StuffingAlarm{MaxFailures: 20, Window: time.Minute, IPMaxFailures: 2}
	})
	for i := range 40 {
		_, _, err := f.svc.Login(t.Context(), fmt.Sprintf("victim%d@example.org", i), "Summer2026!", from(fmt.Sprintf("10.3.%d.1", i), ""))
		wantErr(t, fmt.Sprintf("sprayed attempt %d", i), err, gatehouse.ErrInvalidCredentials)
		if want := i >= 20; f.svc.StuffingAlarm() != want {
			t.Fatalf("after %d failures: alarm %v, want %v", i+1, !want, want)
		}
	}
	if n := len(sink.named(gatehouse.EventStuffingAlarm)); n != 1 {
		t.Fatalf("%d %s events, want exactly 1", n, gatehouse.EventStuffingAlarm)
	}
	// While the alarm is on, an address has two tries instead of fifty.
	stuffer := from("192.0.2.99", "")
	for i := range 2 {
		_, _, err := f.svc.Login(t.Context(), fmt.Sprintf("other%d@example.org", i), "Summer2026!", stuffer)
		wantErr(t, "stuffer within the strict limit", err, gatehouse.ErrInvalidCredentials)
	}
	_, _, err := f.svc.Login(t.Context(), "other9@example.org", "Summer2026!", stuffer)
	wantThrottled(t, "stuffer beyond the strict limit", err, 15*time.Minute)
	th := sink.named(gatehouse.EventThrottled)
	if len(th) == 0 || th[len(th)-1].Reason != "ip_alarm" {
		t.Fatalf("throttled events %+v, want the last with reason ip_alarm", th)
	}
	// The window ends: the alarm is off and the usual limit applies again.
	f.clock.Advance(time.Minute)
	if f.svc.StuffingAlarm() {
		t.Fatal("alarm still on after its window")
	}
	f.register(t, "late@example.org")
	if _, _, err := f.svc.Login(t.Context(), "late@example.org", testPassword, stuffer); err != nil {
		t.Fatalf("login from the address after the alarm: %v", err)
	}
}

// TestH08ChangePasswordThrottled changes the password with a wrong current
// one 50 times: the answer is the same whether or not the new password is
// acceptable, the progressive delay and the account limit apply as at
// login, and the right current password is refused too once throttled.
func TestH08ChangePasswordThrottled(t *testing.T) {
	f := newFixture(t, withDelay)
	_, g := f.register(t, "hank@example.org")
	p := f.principal(t, g)
	var wrong, throttled int
	for i := range 50 {
		next := newPassword
		if i%2 == 1 {
			next = "short" // a new password the rules refuse: no oracle
		}
		_, err := f.svc.ChangePassword(t.Context(), p, wrongPassword, next, client)
		switch {
		case errors.Is(err, gatehouse.ErrCurrentPassword):
			wrong++
		case errors.Is(err, gatehouse.ErrThrottled):
			throttled++
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
		f.clock.Advance(5 * time.Second)
	}
	if wrong != 5 || throttled != 45 {
		t.Fatalf("50 wrong current passwords: %d checked, %d throttled; want 5 and 45", wrong, throttled)
	}
	_, err := f.svc.ChangePassword(t.Context(), p, testPassword, newPassword, client)
	if !errors.Is(err, gatehouse.ErrThrottled) {
		t.Fatalf("right current password while throttled: %v, want throttled", err)
	}
}
