-- Users, QQ identities and audit events. Times are Unix milliseconds (UTC), as on SQLite,
-- so the DML is the same for both engines. Index names are the ones store maps to errors.
CREATE TABLE users (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT    NOT NULL,
    mobile        TEXT,
    email         TEXT,
    nickname      TEXT    NOT NULL,
    avatar        TEXT    NOT NULL DEFAULT '',
    password_hash TEXT,
    token_version BIGINT  NOT NULL DEFAULT 1,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_mobile   ON users (mobile);
CREATE UNIQUE INDEX users_email    ON users (email);
CREATE UNIQUE INDEX users_nickname ON users (nickname);

CREATE TABLE oauth_identities (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider         TEXT   NOT NULL,
    app_id           TEXT   NOT NULL,
    openid           TEXT   NOT NULL,
    unionid          TEXT,
    user_id          BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname         TEXT   NOT NULL DEFAULT '',
    avatar           TEXT   NOT NULL DEFAULT '',
    access_token     BYTEA,
    refresh_token    BYTEA,
    token_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- An openid belongs to one QQ app; a user has at most one identity per provider.
CREATE UNIQUE INDEX oauth_identities_openid ON oauth_identities (provider, app_id, openid);
CREATE UNIQUE INDEX oauth_identities_user   ON oauth_identities (user_id, provider);
CREATE INDEX oauth_identities_unionid ON oauth_identities (provider, unionid);

CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT,
    event      TEXT   NOT NULL,
    ip         TEXT   NOT NULL DEFAULT '',
    user_agent TEXT   NOT NULL DEFAULT '',
    detail     TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, created_at);
