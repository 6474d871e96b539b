-- Users, QQ identities and audit events. Times are Unix milliseconds (UTC).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    mobile        TEXT,
    email         TEXT,
    nickname      TEXT    NOT NULL,
    avatar        TEXT    NOT NULL DEFAULT '',
    password_hash TEXT,
    token_version INTEGER NOT NULL DEFAULT 1,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_mobile   ON users (mobile);
CREATE UNIQUE INDEX users_email    ON users (email);
CREATE UNIQUE INDEX users_nickname ON users (nickname);

CREATE TABLE oauth_identities (
    id               INTEGER PRIMARY KEY,
    provider         TEXT    NOT NULL,
    app_id           TEXT    NOT NULL,
    openid           TEXT    NOT NULL,
    unionid          TEXT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname         TEXT    NOT NULL DEFAULT '',
    avatar           TEXT    NOT NULL DEFAULT '',
    access_token     BLOB,
    refresh_token    BLOB,
    token_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- An openid belongs to one QQ app; a user has at most one identity per provider.
CREATE UNIQUE INDEX oauth_identities_openid ON oauth_identities (provider, app_id, openid);
CREATE UNIQUE INDEX oauth_identities_user   ON oauth_identities (user_id, provider);
CREATE INDEX oauth_identities_unionid ON oauth_identities (provider, unionid);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER,
    event      TEXT    NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, created_at);
