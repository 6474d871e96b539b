-- renran: foreign-keys off
-- Ids are never reused. Without AUTOINCREMENT SQLite gives a new row the highest live id
-- plus one, so deleting the newest user handed its id to the next one (and with it the
-- old user's tokens, issue 14). AUTOINCREMENT keeps the highest id ever given in
-- sqlite_sequence. SQLite cannot add it to a table, so users and oauth_identities are
-- rebuilt the documented way: foreign keys off around this transaction (the migration
-- runner does that for a file whose first line says so) and checked before it commits.
CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO users_new (id, username, mobile, email, nickname, avatar, password_hash, token_version, disabled, created_at, updated_at)
    SELECT id, username, mobile, email, nickname, avatar, password_hash, token_version, disabled, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_username ON users (username);
CREATE UNIQUE INDEX users_mobile   ON users (mobile);
CREATE UNIQUE INDEX users_email    ON users (email);
CREATE UNIQUE INDEX users_nickname ON users (nickname);

CREATE TABLE oauth_identities_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO oauth_identities_new (id, provider, app_id, openid, unionid, user_id, nickname, avatar, access_token, refresh_token, token_expires_at, created_at, updated_at)
    SELECT id, provider, app_id, openid, unionid, user_id, nickname, avatar, access_token, refresh_token, token_expires_at, created_at, updated_at FROM oauth_identities;
DROP TABLE oauth_identities;
ALTER TABLE oauth_identities_new RENAME TO oauth_identities;
CREATE UNIQUE INDEX oauth_identities_openid ON oauth_identities (provider, app_id, openid);
CREATE UNIQUE INDEX oauth_identities_user   ON oauth_identities (user_id, provider);
CREATE INDEX oauth_identities_unionid ON oauth_identities (provider, unionid);

-- A user deleted before this migration may have held an id above every live one; the
-- audit trail and the revoked tokens still name it, so the sequence starts past those too.
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users');
UPDATE sqlite_sequence SET seq = MAX(seq,
        (SELECT COALESCE(MAX(user_id), 0) FROM audit_events),
        (SELECT COALESCE(MAX(user_id), 0) FROM revoked_tokens))
    WHERE name = 'users';
