-- Sessions: one row a login (a device's stay), ended by logout, log out everywhere, a
-- password change or reset, the user centre, or a refresh token presented twice. Times
-- are Unix milliseconds; ended_at is NULL while the session lives.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method       TEXT    NOT NULL,
    remember     BOOLEAN NOT NULL DEFAULT FALSE,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    prev_hash    BYTEA,
    ended_at     BIGINT,
    end_reason   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, ended_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Refresh tokens, only as SHA-256 hashes; a spent one is kept (used_at set) so that its
-- second use is recognised as a leak.
CREATE TABLE refresh_tokens (
    hash       BYTEA   PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Ed25519 keys that sign access tokens; the private half sealed with the master secret.
-- The newest key whose active_from has come signs; older ones verify until their tokens
-- have expired.
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    public_key  BYTEA   NOT NULL,
    private_key BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL,
    active_from BIGINT  NOT NULL
);
