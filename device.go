package gatehouse

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Known devices.
//
// Locking an account after a few failed logins stops password guessing, but
// it also hands anyone who knows an email address a way to lock its owner
// out (ASVS 6.1.1, SECURITY-CASES G-09). A successful login therefore gives
// the client a known-device token: a random device id bound to the account
// by an HMAC under Config.DeviceKey, with an expiry. A login that presents a
// valid token for the account it names skips the account's lockout and
// progressive delay and is counted in a bucket of its own, per (account,
// device), with the same limit: the owner's own browser keeps working
// while an attacker hammers the account, and a stolen token is no better
// for guessing than the account limit allows.

// DefaultDeviceTTL is how long a known-device token lasts when
// Config.DeviceTTL is zero. Each successful login renews it.
const DefaultDeviceTTL = 90 * 24 * time.Hour

const (
	deviceIDLen    = 16
	deviceTokenRaw = deviceIDLen + 8 + sha256.Size
	// deviceTokenLen is the length of an encoded token: id, expiry and MAC
	// in unpadded base64url.
	deviceTokenLen = (deviceTokenRaw*8 + 5) / 6
)

// deviceToken returns the token binding device id to userID until exp.
func (s *Service) deviceToken(id []byte, userID string, exp time.Time) string {
	b := make([]byte, 0, deviceTokenRaw)
	b = append(b, id...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	b = append(b, s.deviceMAC(b, userID)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// knownDevice checks that tok is an unexpired known-device token for
// userID and returns its device id, encoded. The shape is checked before
// anything else, and the MAC compared in constant time.
func (s *Service) knownDevice(tok, userID string) (string, bool) {
	if len(s.cfg.DeviceKey) == 0 || len(tok) != deviceTokenLen {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != deviceTokenRaw {
		return "", false
	}
	body, mac := b[:deviceIDLen+8], b[deviceIDLen+8:]
	if !hmac.Equal(mac, s.deviceMAC(body, userID)) {
		return "", false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(body[deviceIDLen:])), 0)
	if !s.now().Before(exp) {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(body[:deviceIDLen]), true
}

// deviceMAC authenticates a token body (id and expiry) for userID. The
// body has a fixed length, so the user id can follow it unambiguously.
func (s *Service) deviceMAC(body []byte, userID string) []byte {
	m := hmac.New(sha256.New, s.cfg.DeviceKey)
	m.Write([]byte("gatehouse known device v1\x00"))
	m.Write(body)
	m.Write([]byte(userID))
	return m.Sum(nil)
}

// issueDevice adds a known-device token for u to g: the same device id when
// the client presented a valid one for u (device, encoded), a new one
// otherwise. Without a DeviceKey it does nothing.
func (s *Service) issueDevice(g *Grant, u *User, device string) {
	if len(s.cfg.DeviceKey) == 0 {
		return
	}
	id, err := base64.RawURLEncoding.DecodeString(device)
	if err != nil || len(id) != deviceIDLen {
		id = make([]byte, deviceIDLen)
		rand.Read(id)
	}
	exp := s.now().Add(s.cfg.DeviceTTL).Truncate(time.Second)
	g.DeviceToken, g.DeviceExpiresAt = s.deviceToken(id, u.ID, exp), exp
}
