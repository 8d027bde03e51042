package redisstore

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/storetest"
)

func revocation(id string) gatehouse.Revocation {
	return gatehouse.Revocation{SessionID: id, RevokedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

func TestBroker(t *testing.T) {
	storetest.RunBroker(t, func(t *testing.T) storetest.Brokers {
		prefix := testPrefix()
		a, b := openTest(t, prefix), openTest(t, prefix)
		other := openTest(t, "") // another deployment on the same Redis
		return storetest.Brokers{
			Publisher: a.Broker(),
			Listener:  b.Broker(),
			Raw: func(t *testing.T, payload string) {
				t.Helper()
				if err := a.rdb.Publish(t.Context(), a.Broker().channel(), payload).Err(); err != nil {
					t.Fatal(err)
				}
			},
			Other: other.Broker(),
		}
	})
}
