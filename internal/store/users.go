package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/renran/accounts/internal/account"
)

const userColumns = `id, username, mobile, email, nickname, avatar, password_hash, token_version, disabled, created_at, updated_at`

const (
	qUserByID = "SELECT " + userColumns + " FROM users WHERE id = ?"
	qUserBy   = "SELECT " + userColumns + " FROM users WHERE "
)

type scanner interface{ Scan(...any) error }

func scanUser(s scanner, u *account.User) error {
	var mobile, email, hash sql.NullString
	var created, updated int64
	var disabled int64
	if err := s.Scan(&u.ID, &u.Username, &mobile, &email, &u.Nickname, &u.Avatar, &hash, &u.TokenVersion, &disabled, &created, &updated); err != nil {
		return err
	}
	u.Mobile, u.Email, u.PasswordHash = mobile.String, email.String, hash.String
	u.Disabled = disabled != 0
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return nil
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return account.ErrNoRows
	}
	return err
}

// UserByID returns the user with id.
func (db *DB) UserByID(ctx context.Context, id int64) (account.User, error) {
	var u account.User
	err := scanUser(db.q.userByID.QueryRowContext(ctx, id), &u)
	if err != nil {
		return account.User{}, fmt.Errorf("store: user by id: %w", notFound(err))
	}
	return u, nil
}

// UserByLogin returns the user with that username, mobile or e-mail.
func (db *DB) UserByLogin(ctx context.Context, kind account.LoginKind, value string) (account.User, error) {
	st, ok := db.q.userBy[kind]
	if !ok {
		return account.User{}, fmt.Errorf("store: user by login: unknown kind %d", kind)
	}
	var u account.User
	err := scanUser(st.QueryRowContext(ctx, value), &u)
	if err != nil {
		return account.User{}, fmt.Errorf("store: user by login: %w", notFound(err))
	}
	return u, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertUser(ctx context.Context, tx *sql.Tx, u account.User) (account.User, error) {
	if u.TokenVersion == 0 {
		u.TokenVersion = 1
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO users (username, mobile, email, nickname, avatar, password_hash, token_version, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Username, nullable(u.Mobile), nullable(u.Email), u.Nickname, u.Avatar, nullable(u.PasswordHash),
		u.TokenVersion, boolInt(u.Disabled), u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli()).Scan(&u.ID)
	if err != nil {
		return account.User{}, conflict(err)
	}
	return u, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateUser inserts a user.
func (db *DB) CreateUser(ctx context.Context, u account.User) (account.User, error) {
	db.stamp(&u.CreatedAt, &u.UpdatedAt)
	var out account.User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = insertUser(ctx, tx, u)
		return err
	})
	if err != nil {
		return account.User{}, wrap("create user", err)
	}
	return out, nil
}

// CreateUserWithIdentity inserts a user and binds id to it in one transaction: if the
// binding fails, the user is not created either.
func (db *DB) CreateUserWithIdentity(ctx context.Context, u account.User, id account.Identity) (account.User, account.Identity, error) {
	db.stamp(&u.CreatedAt, &u.UpdatedAt)
	db.stamp(&id.CreatedAt, &id.UpdatedAt)
	var outU account.User
	var outI account.Identity
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if outU, err = insertUser(ctx, tx, u); err != nil {
			return err
		}
		id.UserID = outU.ID
		outI, err = insertIdentity(ctx, tx, id)
		return err
	})
	if err != nil {
		return account.User{}, account.Identity{}, wrap("create user with identity", err)
	}
	return outU, outI, nil
}

// BumpTokenVersion revokes every token of the user and returns the new version.
func (db *DB) BumpTokenVersion(ctx context.Context, userID int64) (int64, error) {
	var v int64
	err := db.w.QueryRowContext(ctx, "UPDATE users SET token_version = token_version + 1, updated_at = ? WHERE id = ? RETURNING token_version",
		db.now().UnixMilli(), userID).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: bump token version: %w", notFound(err))
	}
	return v, nil
}

// SetPasswordHash replaces a user's password hash (after a rehash with new parameters).
func (db *DB) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	_, err := db.w.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, db.now().UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("store: set password hash: %w", err)
	}
	return nil
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

// wrap adds context to internal errors and passes account errors through unchanged.
func wrap(op string, err error) error {
	if err == nil || account.ErrorOf(err) != nil {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }
