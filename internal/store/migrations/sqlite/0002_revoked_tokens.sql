-- Logged-out tokens, kept until they would have expired (Unix ms).
CREATE TABLE revoked_tokens (
    jti        TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);
