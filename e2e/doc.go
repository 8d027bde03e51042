// Package e2e holds the end-to-end tests of a Gatehouse deployment: they
// build the gatehouse binary, run several `gatehouse serve` processes on
// one PostgreSQL database and one Redis, and check over HTTP what only
// several instances can show: sessions, refresh rotation, throttling and
// revocation across instances, and behaviour while PostgreSQL or Redis is
// down.
//
// The tests need PostgreSQL on 127.0.0.1:5432 (GATEHOUSE_TEST_DATABASE_URL)
// and Redis on 127.0.0.1:6379 (GATEHOUSE_TEST_REDIS_URL). Without them they
// skip, unless CI is set: then they fail.
package e2e
