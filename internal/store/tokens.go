package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/renran/accounts/internal/account"
)

const (
	qRevokeToken = `INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (jti) DO NOTHING`
	qPurgeRevoked = "DELETE FROM revoked_tokens WHERE expires_at < ?"
)

// RevokeToken records that the token jti of userID was logged out. The row is kept until
// the token would have expired (PurgeRevoked drops it then), so the refusal survives a
// restart and holds on every instance.
// The audit events go in the same transaction.
func (db *DB) RevokeToken(ctx context.Context, jti string, userID int64, expires time.Time, events ...account.AuditEvent) error {
	return db.fail("revoke token", db.audited(ctx, userID, events, func(ctx context.Context, tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, qRevokeToken, jti, userID, expires.UnixMilli())
		return err
	}))
}

// PurgeRevoked deletes revocations of tokens that expired before t and says how many.
func (db *DB) PurgeRevoked(ctx context.Context, t time.Time) (int64, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	res, err := db.w.ExecContext(ctx, db.sql(qPurgeRevoked), t.UnixMilli())
	if err != nil {
		return 0, db.fail("purge revoked tokens", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
