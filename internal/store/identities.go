package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/renran/accounts/internal/account"
)

const identityColumns = `i.id, i.provider, i.app_id, i.openid, i.unionid, i.user_id, i.nickname, i.avatar,
	i.access_token, i.refresh_token, i.token_expires_at, i.created_at, i.updated_at`

const (
	qIdentityByOpenID = `SELECT ` + identityColumns + `, ` + userColumnsU + `
		FROM oauth_identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = CAST(? AS TEXT) AND i.app_id = CAST(? AS TEXT) AND i.openid = CAST(? AS TEXT)`
	qIdentitiesByUser = "SELECT " + identityColumns + " FROM oauth_identities i WHERE i.user_id = CAST(? AS BIGINT) ORDER BY i.id"
	qInsertIdentity   = `INSERT INTO oauth_identities (provider, app_id, openid, unionid, user_id, nickname, avatar,
		access_token, refresh_token, token_expires_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	qUpdateIdentityTokens = `UPDATE oauth_identities SET access_token = ?, refresh_token = ?, token_expires_at = ?, updated_at = ?
		WHERE provider = ? AND app_id = ? AND openid = ?`
	qInsertAudit = `INSERT INTO audit_events (user_id, event, ip, user_agent, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	qAuditEvents = "SELECT COALESCE(user_id, 0), event, ip, user_agent, detail, created_at FROM audit_events WHERE user_id = ? ORDER BY id"
	qRecentAudit = "SELECT COALESCE(user_id, 0), event, ip, user_agent, detail, created_at FROM audit_events WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
	qCounts      = "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM oauth_identities)"
)

// identityDest returns scan targets for identityColumns; finish completes id after the scan.
func identityDest(id *account.Identity) (dest []any, finish func()) {
	var unionid sql.NullString
	var exp sql.NullInt64
	var created, updated int64
	dest = []any{&id.ID, &id.Provider, &id.AppID, &id.OpenID, &unionid, &id.UserID, &id.Nickname, &id.Avatar,
		&id.AccessToken, &id.RefreshToken, &exp, &created, &updated}
	return dest, func() {
		id.UnionID = unionid.String
		if exp.Valid {
			id.TokenExpiresAt = time.UnixMilli(exp.Int64).UTC()
		}
		id.CreatedAt, id.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	}
}

// IdentityByOpenID returns the identity for (provider, app, openid) and its user in one
// query: the only read a returning QQ login needs.
func (db *DB) IdentityByOpenID(ctx context.Context, provider, appID, openID string) (account.Identity, account.User, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	return scanIdentityUser(db.q.identityByOpenID.QueryRowContext(ctx, provider, appID, openID), db, "identity by openid")
}

// scanIdentityUser reads a row of identityColumns and userColumnsU.
func scanIdentityUser(row scanner, db *DB, op string) (account.Identity, account.User, error) {
	var id account.Identity
	var u account.User
	idest, ifinish := identityDest(&id)
	udest, ufinish := userDest(&u)
	if err := row.Scan(append(idest, udest...)...); err != nil {
		return account.Identity{}, account.User{}, db.fail(op, err)
	}
	ifinish()
	ufinish()
	return id, u, nil
}

const qIdentityByUnionID = `SELECT ` + identityColumns + `, ` + userColumnsU + `
		FROM oauth_identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = ? AND i.unionid = ? ORDER BY i.id LIMIT 1`

// IdentityByUnionID returns the oldest identity of provider with unionID and its user: the
// same person through another of the provider's apps (WeChat's website app and official
// account). Only asked when a login brings a unionid that no openid of its app matches.
func (db *DB) IdentityByUnionID(ctx context.Context, provider, unionID string) (account.Identity, account.User, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	return scanIdentityUser(db.r.QueryRowContext(ctx, db.sql(qIdentityByUnionID), provider, unionID), db, "identity by unionid")
}

// IdentitiesByUser lists a user's bound identities.
func (db *DB) IdentitiesByUser(ctx context.Context, userID int64) ([]account.Identity, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	rows, err := db.q.identitiesByUser.QueryContext(ctx, userID)
	if err != nil {
		return nil, db.fail("identities by user", err)
	}
	defer rows.Close()
	out := []account.Identity{}
	for rows.Next() {
		var id account.Identity
		dest, finish := identityDest(&id)
		if err := rows.Scan(dest...); err != nil {
			return nil, db.fail("identities by user", err)
		}
		finish()
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("identities by user", err)
	}
	return out, nil
}

func expiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func (db *DB) insertIdentity(ctx context.Context, tx *sql.Tx, id account.Identity) (account.Identity, error) {
	err := tx.QueryRowContext(ctx, db.sql(qInsertIdentity),
		id.Provider, id.AppID, id.OpenID, nullable(id.UnionID), id.UserID, id.Nickname, id.Avatar,
		id.AccessToken, id.RefreshToken, expiry(id.TokenExpiresAt), id.CreatedAt.UnixMilli(), id.UpdatedAt.UnixMilli()).Scan(&id.ID)
	return id, err
}

// BindIdentity binds id to id.UserID, with the audit events in the same transaction. The
// unique indexes, not a prior check, decide: a second binding of the same openid, or a
// second QQ for the user, fails with 409.
func (db *DB) BindIdentity(ctx context.Context, id account.Identity, events ...account.AuditEvent) (account.Identity, error) {
	db.stamp(&id.CreatedAt, &id.UpdatedAt)
	var out account.Identity
	err := db.audited(ctx, id.UserID, events, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		out, err = db.insertIdentity(ctx, tx, id)
		return err
	})
	if err != nil {
		return account.Identity{}, db.fail("bind identity", err)
	}
	return out, nil
}

// DeleteIdentity removes the user's identity of provider, with the audit events, and says
// how many rows went (0 or 1).
func (db *DB) DeleteIdentity(ctx context.Context, userID int64, provider string, events ...account.AuditEvent) (int64, error) {
	var n int64
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.sql("DELETE FROM oauth_identities WHERE user_id = ? AND provider = ?"), userID, provider)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return db.insertAudit(ctx, tx, userID, events)
	})
	return n, db.fail("delete identity", err)
}

// UpdateIdentityTokens stores fresh QQ tokens for a batch of identities in one transaction
// (on PostgreSQL one statement). Of two updates of one identity, the later in ids wins.
func (db *DB) UpdateIdentityTokens(ctx context.Context, ids []account.Identity) error {
	ids = latestPerIdentity(ids)
	if db.d.name == "postgres" {
		a := make([][]byte, len(ids))
		r := make([][]byte, len(ids))
		exp, upd := make([]int64, len(ids)), make([]int64, len(ids))
		prov, app, open := make([]string, len(ids)), make([]string, len(ids)), make([]string, len(ids))
		for i, id := range ids {
			a[i], r[i], upd[i], prov[i], app[i], open[i] = id.AccessToken, id.RefreshToken, id.UpdatedAt.UnixMilli(), id.Provider, id.AppID, id.OpenID
			if !id.TokenExpiresAt.IsZero() {
				exp[i] = id.TokenExpiresAt.UnixMilli()
			}
		}
		ctx, cancel := db.op(ctx)
		defer cancel()
		_, err := db.w.ExecContext(ctx, pgUpdateIdentityTokens, a, r, exp, upd, prov, app, open)
		return db.fail("update identity tokens", err)
	}
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, db.sql(qUpdateIdentityTokens))
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
	return db.fail("update identity tokens", err)
}

// latestPerIdentity drops from ids every update that a later one of the same identity
// supersedes, keeping the order of the rest.
func latestPerIdentity(ids []account.Identity) []account.Identity {
	type key struct{ provider, app, openid string }
	last := make(map[key]int, len(ids))
	for i, id := range ids {
		last[key{id.Provider, id.AppID, id.OpenID}] = i
	}
	if len(last) == len(ids) {
		return ids
	}
	out := make([]account.Identity, 0, len(last))
	for i, id := range ids {
		if last[key{id.Provider, id.AppID, id.OpenID}] == i {
			out = append(out, id)
		}
	}
	return out
}

// The journal's batches on PostgreSQL: one statement each, whatever the batch's size (the
// rows go as arrays), instead of a transaction's round trip per row.
const (
	pgInsertAudit = `INSERT INTO audit_events (user_id, event, ip, user_agent, detail, created_at)
		SELECT NULLIF(u, 0), e, ip, ua, d, at FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS v(u, e, ip, ua, d, at)`
	pgUpdateIdentityTokens = `UPDATE oauth_identities AS i SET access_token = v.a, refresh_token = v.r,
		token_expires_at = NULLIF(v.e, 0), updated_at = v.u
		FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[]) AS v(a, r, e, u, p, app, o)
		WHERE i.provider = v.p AND i.app_id = v.app AND i.openid = v.o`
	pgTouchSessions = `UPDATE sessions AS s SET last_seen_at = v.at
		FROM unnest($1::text[], $2::bigint[]) AS v(id, at) WHERE s.id = v.id AND s.last_seen_at < v.at`
)

// AppendAudit writes a batch of audit events in one transaction (on PostgreSQL one
// statement).
func (db *DB) AppendAudit(ctx context.Context, events []account.AuditEvent) error {
	if db.d.name == "postgres" && len(events) > 0 {
		uid, at := make([]int64, len(events)), make([]int64, len(events))
		ev, ip, ua, d := make([]string, len(events)), make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
		for i, e := range events {
			uid[i], ev[i], ip[i], ua[i], d[i], at[i] = e.UserID, e.Event, e.IP, e.UserAgent, e.Detail, e.At.UnixMilli()
		}
		ctx, cancel := db.op(ctx)
		defer cancel()
		_, err := db.w.ExecContext(ctx, pgInsertAudit, uid, ev, ip, ua, d, at)
		return db.fail("append audit", err)
	}
	return db.fail("append audit", db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.insertAudit(ctx, tx, 0, events)
	}))
}

// audited runs fn in a transaction and writes, in the same one, the audit events of the
// change it makes to userID's account.
func (db *DB) audited(ctx context.Context, userID int64, events []account.AuditEvent, fn func(context.Context, *sql.Tx) error) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return db.insertAudit(ctx, tx, userID, events)
	})
}

// insertAudit writes events inside tx; an event without a user id gets userID (0: none).
// The events of a change go in the change's own transaction, so that a committed change
// always has its record, even when the process dies the next instant.
func (db *DB) insertAudit(ctx context.Context, tx *sql.Tx, userID int64, events []account.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, db.sql(qInsertAudit))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, e := range events {
		if e.UserID == 0 {
			e.UserID = userID
		}
		var uid any
		if e.UserID != 0 {
			uid = e.UserID
		}
		if _, err := stmt.ExecContext(ctx, uid, e.Event, e.IP, e.UserAgent, e.Detail, e.At.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// AuditEvents lists a user's audit events, oldest first (for the user centre and tests).
func (db *DB) AuditEvents(ctx context.Context, userID int64) ([]account.AuditEvent, error) {
	return db.auditEvents(ctx, qAuditEvents, userID)
}

// RecentAuditEvents lists a user's n newest audit events, newest first (the user centre;
// the audit_events_user index serves it).
func (db *DB) RecentAuditEvents(ctx context.Context, userID int64, n int) ([]account.AuditEvent, error) {
	return db.auditEvents(ctx, qRecentAudit, userID, n)
}

func (db *DB) auditEvents(ctx context.Context, q string, args ...any) ([]account.AuditEvent, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	rows, err := db.r.QueryContext(ctx, db.sql(q), args...)
	if err != nil {
		return nil, db.fail("audit events", err)
	}
	defer rows.Close()
	var out []account.AuditEvent
	for rows.Next() {
		var e account.AuditEvent
		var at int64
		if err := rows.Scan(&e.UserID, &e.Event, &e.IP, &e.UserAgent, &e.Detail, &at); err != nil {
			return nil, db.fail("audit events", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, db.fail("audit events", rows.Err())
}

// Counts reports how many users and identities exist, for tests that check nothing was
// left behind.
func (db *DB) Counts(ctx context.Context) (users, identities int, err error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	if err := db.r.QueryRowContext(ctx, qCounts).Scan(&users, &identities); err != nil {
		return 0, 0, db.fail("counts", err)
	}
	return users, identities, nil
}
