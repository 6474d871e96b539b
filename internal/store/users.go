package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/renran/accounts/internal/account"
)

const userColumns = `id, username, mobile, email, nickname, avatar, password_hash, token_version, disabled, created_at, updated_at`

// userColumnsU is userColumns qualified by the alias u, for joins.
const userColumnsU = `u.id, u.username, u.mobile, u.email, u.nickname, u.avatar, u.password_hash, u.token_version, u.disabled, u.created_at, u.updated_at`

const (
	qUserByID = "SELECT " + userColumns + " FROM users WHERE id = ?"
	qUserBy   = "SELECT " + userColumns + " FROM users WHERE "
	// qUserForToken is the one read an authenticated request makes: the user and whether
	// this token was logged out.
	qUserForToken = "SELECT " + userColumns + ", EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?) FROM users WHERE id = ?"
	qInsertUser   = `INSERT INTO users (username, mobile, email, nickname, avatar, password_hash, token_version, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	qBumpTokenVersion = "UPDATE users SET token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version"
	qSetPasswordHash  = "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?"
	qChangePassword   = "UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version"
	qSetEmail         = "UPDATE users SET email = ?, updated_at = ? WHERE id = ?"
)

type scanner interface{ Scan(...any) error }

// userDest returns scan targets for userColumns; finish completes u after the scan.
func userDest(u *account.User) (dest []any, finish func()) {
	var mobile, email, hash sql.NullString
	var created, updated int64
	dest = []any{&u.ID, &u.Username, &mobile, &email, &u.Nickname, &u.Avatar, &hash, &u.TokenVersion, &u.Disabled, &created, &updated}
	return dest, func() {
		u.Mobile, u.Email, u.PasswordHash = mobile.String, email.String, hash.String
		u.CreatedAt, u.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	}
}

func scanUser(s scanner, u *account.User) error {
	dest, finish := userDest(u)
	if err := s.Scan(dest...); err != nil {
		return err
	}
	finish()
	return nil
}

// UserByID returns the user with id.
func (db *DB) UserByID(ctx context.Context, id int64) (account.User, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	var u account.User
	if err := scanUser(db.q.userByID.QueryRowContext(ctx, id), &u); err != nil {
		return account.User{}, db.fail("user by id", err)
	}
	return u, nil
}

// UserForToken returns the user with id and whether the token jti was revoked.
func (db *DB) UserForToken(ctx context.Context, id int64, jti string) (account.User, bool, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	var u account.User
	var revoked bool
	dest, finish := userDest(&u)
	if err := db.q.userForToken.QueryRowContext(ctx, jti, id).Scan(append(dest, &revoked)...); err != nil {
		return account.User{}, false, db.fail("user for token", err)
	}
	finish()
	return u, revoked, nil
}

// UserByLogin returns the user with that username, mobile or e-mail.
func (db *DB) UserByLogin(ctx context.Context, kind account.LoginKind, value string) (account.User, error) {
	st, ok := db.q.userBy[kind]
	if !ok {
		return account.User{}, fmt.Errorf("store: user by login: unknown kind %d", kind)
	}
	ctx, cancel := db.op(ctx)
	defer cancel()
	var u account.User
	if err := scanUser(st.QueryRowContext(ctx, value), &u); err != nil {
		return account.User{}, db.fail("user by login", err)
	}
	return u, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (db *DB) insertUser(ctx context.Context, tx *sql.Tx, u account.User) (account.User, error) {
	if u.TokenVersion == 0 {
		u.TokenVersion = 1
	}
	err := tx.QueryRowContext(ctx, db.sql(qInsertUser),
		u.Username, nullable(u.Mobile), nullable(u.Email), u.Nickname, u.Avatar, nullable(u.PasswordHash),
		u.TokenVersion, u.Disabled, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli()).Scan(&u.ID)
	return u, err
}

// CreateUser inserts a user, and in the same transaction the audit events given (those
// without a user id get the new user's).
func (db *DB) CreateUser(ctx context.Context, u account.User, events ...account.AuditEvent) (account.User, error) {
	db.stamp(&u.CreatedAt, &u.UpdatedAt)
	var out account.User
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if out, err = db.insertUser(ctx, tx, u); err != nil {
			return err
		}
		return db.insertAudit(ctx, tx, out.ID, events)
	})
	if err != nil {
		return account.User{}, db.fail("create user", err)
	}
	return out, nil
}

// CreateUserWithIdentity inserts a user and binds id to it in one transaction, with the
// audit events: if the binding fails, the user is not created either.
func (db *DB) CreateUserWithIdentity(ctx context.Context, u account.User, id account.Identity, events ...account.AuditEvent) (account.User, account.Identity, error) {
	db.stamp(&u.CreatedAt, &u.UpdatedAt)
	db.stamp(&id.CreatedAt, &id.UpdatedAt)
	var outU account.User
	var outI account.Identity
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if outU, err = db.insertUser(ctx, tx, u); err != nil {
			return err
		}
		id.UserID = outU.ID
		if outI, err = db.insertIdentity(ctx, tx, id); err != nil {
			return err
		}
		return db.insertAudit(ctx, tx, outU.ID, events)
	})
	if err != nil {
		return account.User{}, account.Identity{}, db.fail("create user with identity", err)
	}
	return outU, outI, nil
}

// BumpTokenVersion revokes every token of the user and returns the new version, writing
// the audit events in the same transaction.
func (db *DB) BumpTokenVersion(ctx context.Context, userID int64, events ...account.AuditEvent) (int64, error) {
	v, err := db.newVersion(ctx, userID, events, "logout_all", qBumpTokenVersion, db.now().UnixMilli(), userID)
	return v, db.fail("bump token version", err)
}

// ChangePassword sets a new password hash and revokes every token of the user (the token
// version moves on), with the audit events, in one transaction. It returns the new version.
func (db *DB) ChangePassword(ctx context.Context, userID int64, hash string, events ...account.AuditEvent) (int64, error) {
	v, err := db.newVersion(ctx, userID, events, "password", qChangePassword, hash, db.now().UnixMilli(), userID)
	return v, db.fail("change password", err)
}

// newVersion runs an update of the user that returns the new token version, ends every
// live session of the user (for reason), and writes the audit events, in one transaction.
func (db *DB) newVersion(ctx context.Context, userID int64, events []account.AuditEvent, reason, q string, args ...any) (int64, error) {
	var v int64
	err := db.audited(ctx, userID, events, func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, db.sql(q), args...).Scan(&v); err != nil {
			return err
		}
		return db.endAll(ctx, tx, userID, reason)
	})
	return v, err
}

// SetEmail sets the user's (confirmed) e-mail, with the audit events; an address another
// user has fails with account.ErrEmailTaken.
func (db *DB) SetEmail(ctx context.Context, userID int64, email string, events ...account.AuditEvent) error {
	return db.fail("set email", db.audited(ctx, userID, events, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.sql(qSetEmail), nullable(email), db.now().UnixMilli(), userID)
		return err
	}))
}

// SetPasswordHash replaces a user's password hash (after a rehash with new parameters).
func (db *DB) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	ctx, cancel := db.op(ctx)
	defer cancel()
	_, err := db.w.ExecContext(ctx, db.sql(qSetPasswordHash), hash, db.now().UnixMilli(), userID)
	return db.fail("set password hash", err)
}

// stamp fills zero times with now.
func (db *DB) stamp(ts ...*time.Time) {
	now := db.now()
	for _, t := range ts {
		if t.IsZero() {
			*t = now
		}
	}
}

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }
