-- The audit trail: one row per security event (gatehouse.Event), written by
-- gatehouse.AuditTrail in batches and read by `gatehouse audit`. Every text
-- column is data exactly as recorded, some of it chosen by clients (the
-- user agent); readers escape it on output. No column ever holds a
-- password, a token or a refresh value.

CREATE TABLE audit_events (
	id         bigint      GENERATED ALWAYS AS IDENTITY, -- insertion order
	time       timestamptz NOT NULL,
	event      text        NOT NULL,
	user_id    text        NOT NULL DEFAULT '',
	session_id text        NOT NULL DEFAULT '',
	key_id     text        NOT NULL DEFAULT '',
	ip         text        NOT NULL DEFAULT '',
	user_agent text        NOT NULL DEFAULT '',
	outcome    text        NOT NULL DEFAULT '',
	reason     text        NOT NULL DEFAULT '',
	CONSTRAINT audit_events_pkey PRIMARY KEY (id)
);

-- Queries select by time (retention, --since) and by user and time (--user).
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user_id_time ON audit_events (user_id, time);
