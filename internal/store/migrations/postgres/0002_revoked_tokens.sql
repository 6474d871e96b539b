-- Logged-out tokens, kept until they would have expired (Unix ms).
CREATE TABLE revoked_tokens (
    jti        TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);
