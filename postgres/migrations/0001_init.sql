-- The initial schema. Times are timestamptz (microseconds, UTC); NULL stands
-- for the zero time.Time. Constraints are named explicitly: the store
-- translates a unique violation into a domain error by constraint name.

CREATE TABLE users (
	id            text        NOT NULL,
	email         text        NOT NULL,
	display_name  text        NOT NULL DEFAULT '',
	password_hash text        NOT NULL,
	disabled      boolean     NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	CONSTRAINT users_pkey PRIMARY KEY (id),
	-- Reported as gatehouse.ErrEmailTaken.
	CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE sessions (
	id           text        NOT NULL,
	user_id      text        NOT NULL,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	user_agent   text        NOT NULL DEFAULT '',
	ip           text        NOT NULL DEFAULT '',
	generation   bigint      NOT NULL,
	refresh_hash bytea       NOT NULL,
	rotated_at   timestamptz,
	revoked_at   timestamptz,
	reason       text        NOT NULL DEFAULT '',
	CONSTRAINT sessions_pkey PRIMARY KEY (id),
	-- Reported as gatehouse.ErrNotFound: no such user.
	CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);
-- DeleteSessionsBefore looks sessions up by their absolute end.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- One row for every refresh token ever issued, so that an old token
-- presented again is recognised as reuse rather than as garbage.
CREATE TABLE refresh_tokens (
	hash       bytea  NOT NULL,
	session_id text   NOT NULL,
	generation bigint NOT NULL,
	CONSTRAINT refresh_tokens_pkey PRIMARY KEY (hash),
	CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
);

-- Without it every session delete would scan refresh_tokens for the cascade.
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

CREATE TABLE keys (
	-- Insertion order, to list keys created in the same microsecond stably.
	seq          bigint      GENERATED ALWAYS AS IDENTITY,
	id           text        NOT NULL,
	algorithm    text        NOT NULL,
	state        text        NOT NULL,
	sealed       bytea       NOT NULL,
	created_at   timestamptz NOT NULL,
	activated_at timestamptz,
	retired_at   timestamptz,
	CONSTRAINT keys_pkey PRIMARY KEY (id),
	CONSTRAINT keys_state_check CHECK (state IN ('next', 'active', 'retired'))
);
