package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/renran/accounts/internal/account"
)

const identityColumns = `i.id, i.provider, i.app_id, i.openid, i.unionid, i.user_id, i.nickname, i.avatar,
	i.access_token, i.refresh_token, i.token_expires_at, i.created_at, i.updated_at`

const (
	qIdentityByOpenID = `SELECT ` + identityColumns + `,
		u.id, u.username, u.mobile, u.email, u.nickname, u.avatar, u.password_hash, u.token_version, u.disabled, u.created_at, u.updated_at
		FROM oauth_identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = ? AND i.app_id = ? AND i.openid = ?`
	qIdentitiesByUser = "SELECT " + identityColumns + " FROM oauth_identities i WHERE i.user_id = ? ORDER BY i.id"
)

func identityDest(id *account.Identity, unionid *sql.NullString, exp *sql.NullInt64, created, updated *int64) []any {
	return []any{&id.ID, &id.Provider, &id.AppID, &id.OpenID, unionid, &id.UserID, &id.Nickname, &id.Avatar,
		&id.AccessToken, &id.RefreshToken, exp, created, updated}
}

func finishIdentity(id *account.Identity, unionid sql.NullString, exp sql.NullInt64, created, updated int64) {
	id.UnionID = unionid.String
	if exp.Valid {
		id.TokenExpiresAt = time.UnixMilli(exp.Int64).UTC()
	}
	id.CreatedAt, id.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
}

// IdentityByOpenID returns the identity for (provider, app, openid) and its user in one
// query: the only read a returning QQ login needs.
func (db *DB) IdentityByOpenID(ctx context.Context, provider, appID, openID string) (account.Identity, account.User, error) {
	var id account.Identity
	var u account.User
	var unionid sql.NullString
	var exp sql.NullInt64
	var ic, iu int64
	var mobile, email, hash sql.NullString
	var uc, uu, disabled int64
	dest := identityDest(&id, &unionid, &exp, &ic, &iu)
	dest = append(dest, &u.ID, &u.Username, &mobile, &email, &u.Nickname, &u.Avatar, &hash, &u.TokenVersion, &disabled, &uc, &uu)
	err := db.q.identityByOpenID.QueryRowContext(ctx, provider, appID, openID).Scan(dest...)
	if err != nil {
		return account.Identity{}, account.User{}, fmt.Errorf("store: identity by openid: %w", notFound(err))
	}
	finishIdentity(&id, unionid, exp, ic, iu)
	u.Mobile, u.Email, u.PasswordHash, u.Disabled = mobile.String, email.String, hash.String, disabled != 0
	u.CreatedAt, u.UpdatedAt = time.UnixMilli(uc).UTC(), time.UnixMilli(uu).UTC()
	return id, u, nil
}

// IdentitiesByUser lists a user's bound identities.
func (db *DB) IdentitiesByUser(ctx context.Context, userID int64) ([]account.Identity, error) {
	rows, err := db.q.identitiesByUser.QueryContext(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("store: identities by user: %w", err)
	}
	defer rows.Close()
	out := []account.Identity{}
	for rows.Next() {
		var id account.Identity
		var unionid sql.NullString
		var exp sql.NullInt64
		var c, u int64
		if err := rows.Scan(identityDest(&id, &unionid, &exp, &c, &u)...); err != nil {
			return nil, fmt.Errorf("store: identities by user: %w", err)
		}
		finishIdentity(&id, unionid, exp, c, u)
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: identities by user: %w", err)
	}
	return out, nil
}

func expiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func insertIdentity(ctx context.Context, tx *sql.Tx, id account.Identity) (account.Identity, error) {
	err := tx.QueryRowContext(ctx, `INSERT INTO oauth_identities (provider, app_id, openid, unionid, user_id, nickname, avatar,
		access_token, refresh_token, token_expires_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		id.Provider, id.AppID, id.OpenID, nullable(id.UnionID), id.UserID, id.Nickname, id.Avatar,
		id.AccessToken, id.RefreshToken, expiry(id.TokenExpiresAt), id.CreatedAt.UnixMilli(), id.UpdatedAt.UnixMilli()).Scan(&id.ID)
	if err != nil {
		return account.Identity{}, conflict(err)
	}
	return id, nil
}

// BindIdentity binds id to id.UserID. The unique indexes, not a prior check, decide: a
// second binding of the same openid, or a second QQ for the user, fails with 409.
func (db *DB) BindIdentity(ctx context.Context, id account.Identity) (account.Identity, error) {
	db.stamp(&id.CreatedAt, &id.UpdatedAt)
	var out account.Identity
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = insertIdentity(ctx, tx, id)
		return err
	})
	if err != nil {
		return account.Identity{}, wrap("bind identity", err)
	}
	return out, nil
}

// UpdateIdentityTokens stores fresh QQ tokens for a batch of identities in one transaction.
func (db *DB) UpdateIdentityTokens(ctx context.Context, ids []account.Identity) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE oauth_identities SET access_token = ?, refresh_token = ?, token_expires_at = ?, updated_at = ?
			WHERE provider = ? AND app_id = ? AND openid = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id.AccessToken, id.RefreshToken, expiry(id.TokenExpiresAt), id.UpdatedAt.UnixMilli(),
				id.Provider, id.AppID, id.OpenID); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("update identity tokens", err)
}

// AppendAudit writes a batch of audit events in one transaction.
func (db *DB) AppendAudit(ctx context.Context, events []account.AuditEvent) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_events (user_id, event, ip, user_agent, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range events {
			var uid any
			if e.UserID != 0 {
				uid = e.UserID
			}
			if _, err := stmt.ExecContext(ctx, uid, e.Event, e.IP, e.UserAgent, e.Detail, e.At.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append audit", err)
}

// AuditEvents lists a user's audit events, oldest first (for the user centre and tests).
func (db *DB) AuditEvents(ctx context.Context, userID int64) ([]account.AuditEvent, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT COALESCE(user_id, 0), event, ip, user_agent, detail, created_at FROM audit_events WHERE user_id = ? ORDER BY id", userID)
	if err != nil {
		return nil, fmt.Errorf("store: audit events: %w", err)
	}
	defer rows.Close()
	var out []account.AuditEvent
	for rows.Next() {
		var e account.AuditEvent
		var at int64
		if err := rows.Scan(&e.UserID, &e.Event, &e.IP, &e.UserAgent, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("store: audit events: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts reports how many users and identities exist, for tests that check nothing was
// left behind.
func (db *DB) Counts(ctx context.Context) (users, identities int, err error) {
	err = db.r.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM oauth_identities)").Scan(&users, &identities)
	if err != nil {
		return 0, 0, fmt.Errorf("store: counts: %w", err)
	}
	return users, identities, nil
}
