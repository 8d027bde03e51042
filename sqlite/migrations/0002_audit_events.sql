-- The audit trail: one row per security event (gatehouse.Event), written by
-- gatehouse.AuditTrail in batches and read by `gatehouse audit`. Every text
-- column is data exactly as recorded, some of it chosen by clients (the
-- user agent); readers escape it on output. No column ever holds a
-- password, a token or a refresh value.

CREATE TABLE audit_events (
	id         INTEGER PRIMARY KEY, -- insertion order
	time       INTEGER NOT NULL,
	event      TEXT    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	session_id TEXT    NOT NULL DEFAULT '',
	key_id     TEXT    NOT NULL DEFAULT '',
	ip         TEXT    NOT NULL DEFAULT '',
	user_agent TEXT    NOT NULL DEFAULT '',
	outcome    TEXT    NOT NULL DEFAULT '',
	reason     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Queries select by time (retention, --since) and by user and time (--user).
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user_id_time ON audit_events (user_id, time);
