-- The initial schema. Tables are STRICT, so a value of the wrong type is an
-- error instead of being stored silently. Times are INTEGER microseconds
-- since the Unix epoch, UTC; NULL stands for the zero time.Time.

CREATE TABLE users (
	id            TEXT    PRIMARY KEY,
	-- The only UNIQUE constraint on users: the store reports
	-- SQLITE_CONSTRAINT_UNIQUE on this table as gatehouse.ErrEmailTaken.
	email         TEXT    NOT NULL UNIQUE,
	display_name  TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id           TEXT    PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	user_agent   TEXT    NOT NULL DEFAULT '',
	ip           TEXT    NOT NULL DEFAULT '',
	generation   INTEGER NOT NULL,
	refresh_hash BLOB    NOT NULL,
	rotated_at   INTEGER,
	revoked_at   INTEGER,
	reason       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);
-- DeleteSessionsBefore looks sessions up by their absolute end.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- One row for every refresh token ever issued, so that an old token
-- presented again is recognised as reuse rather than as garbage.
CREATE TABLE refresh_tokens (
	hash       BLOB    PRIMARY KEY,
	session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	generation INTEGER NOT NULL
) STRICT;

-- Without it every session delete would scan refresh_tokens for the cascade.
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

CREATE TABLE keys (
	id           TEXT    PRIMARY KEY,
	algorithm    TEXT    NOT NULL,
	state        TEXT    NOT NULL CHECK (state IN ('next', 'active', 'retired')),
	sealed       BLOB    NOT NULL,
	created_at   INTEGER NOT NULL,
	activated_at INTEGER,
	retired_at   INTEGER
) STRICT;
