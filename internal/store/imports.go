package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/renran/accounts/internal/account"
)

// What `renran import-django` (package djangoimport) needs of the store: batch look-ups to
// decide each row, and batch inserts, each batch in one transaction with its mapping rows
// so that a crash leaves whole batches and a rerun skips them.

// inChunk bounds the values of one IN (…) list: far under SQLite's 32,766 variables and
// PostgreSQL's 65,535 parameters.
const inChunk = 500

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// inQuery runs q, which ends in "IN (", with the arguments lead and then values in
// chunks, calling row for each row.
func inQuery[T any](ctx context.Context, db *DB, q string, lead []any, values []T, row func(*sql.Rows) error) error {
	ctx, cancel := db.op(ctx)
	defer cancel()
	for start := 0; start < len(values); start += inChunk {
		chunk := values[start:min(start+inChunk, len(values))]
		args := append(make([]any, 0, len(lead)+len(chunk)), lead...)
		for _, v := range chunk {
			args = append(args, v)
		}
		rows, err := db.w.QueryContext(ctx, db.sql(q+placeholders(len(chunk))+")"), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := row(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// DjangoUserIDs returns, for those of djangoIDs imported before, the id of the user each
// became.
func (db *DB) DjangoUserIDs(ctx context.Context, djangoIDs []int64) (map[int64]int64, error) {
	out := make(map[int64]int64)
	err := inQuery(ctx, db, "SELECT django_id, user_id FROM django_users WHERE django_id IN (", nil, djangoIDs, func(r *sql.Rows) error {
		var d, u int64
		if err := r.Scan(&d, &u); err != nil {
			return err
		}
		out[d] = u
		return nil
	})
	return out, db.fail("django user ids", err)
}

// takenColumns are the unique user columns TakenValues may ask about.
var takenColumns = map[string]bool{"username": true, "mobile": true, "email": true, "nickname": true}

// TakenValues returns those of values that some user already has in column (username,
// mobile, email or nickname).
func (db *DB) TakenValues(ctx context.Context, column string, values []string) (map[string]bool, error) {
	if !takenColumns[column] {
		return nil, fmt.Errorf("store: taken values: column %q", column)
	}
	out := make(map[string]bool)
	err := inQuery(ctx, db, "SELECT "+column+" FROM users WHERE "+column+" IN (", nil, values, func(r *sql.Rows) error {
		var v string
		if err := r.Scan(&v); err != nil {
			return err
		}
		out[v] = true
		return nil
	})
	return out, db.fail("taken values", err)
}

// DjangoUser is a user to import and the Django user id it comes from.
type DjangoUser struct {
	DjangoID int64
	User     account.User
}

const qInsertDjangoUser = "INSERT INTO django_users (django_id, user_id, imported_at) VALUES (?, ?, ?)"

// ImportDjangoUsers inserts users and their Django ids in one transaction and returns the
// new user ids in order. A unique violation fails the whole batch with its account error
// (account.ErrUsernameTaken…), and the caller can retry the rows one by one.
func (db *DB) ImportDjangoUsers(ctx context.Context, users []DjangoUser) ([]int64, error) {
	ids := make([]int64, 0, len(users))
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		user, err := tx.PrepareContext(ctx, db.sql(qInsertUser))
		if err != nil {
			return err
		}
		defer user.Close()
		mapping, err := tx.PrepareContext(ctx, db.sql(qInsertDjangoUser))
		if err != nil {
			return err
		}
		defer mapping.Close()
		now := db.now().UnixMilli()
		for _, du := range users {
			u := du.User
			db.stamp(&u.CreatedAt, &u.UpdatedAt)
			if u.TokenVersion == 0 {
				u.TokenVersion = 1
			}
			var id int64
			if err := user.QueryRowContext(ctx, u.Username, nullable(u.Mobile), nullable(u.Email), u.Nickname, u.Avatar,
				nullable(u.PasswordHash), u.TokenVersion, u.Disabled, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli()).Scan(&id); err != nil {
				return err
			}
			if _, err := mapping.ExecContext(ctx, du.DjangoID, id, now); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, db.fail("import django users", err)
	}
	return ids, nil
}

// OpenIDOwners returns, for those of openids already bound in (provider, appID), the user
// each is bound to.
func (db *DB) OpenIDOwners(ctx context.Context, provider, appID string, openids []string) (map[string]int64, error) {
	out := make(map[string]int64)
	q := "SELECT openid, user_id FROM oauth_identities WHERE provider = ? AND app_id = ? AND openid IN ("
	err := inQuery(ctx, db, q, []any{provider, appID}, openids, func(r *sql.Rows) error {
		var o string
		var u int64
		if err := r.Scan(&o, &u); err != nil {
			return err
		}
		out[o] = u
		return nil
	})
	return out, db.fail("openid owners", err)
}

// ProviderUsers returns those of userIDs that have an identity of provider already, with
// its openid.
func (db *DB) ProviderUsers(ctx context.Context, provider string, userIDs []int64) (map[int64]string, error) {
	out := make(map[int64]string)
	q := "SELECT user_id, openid FROM oauth_identities WHERE provider = ? AND user_id IN ("
	err := inQuery(ctx, db, q, []any{provider}, userIDs, func(r *sql.Rows) error {
		var u int64
		var o string
		if err := r.Scan(&u, &o); err != nil {
			return err
		}
		out[u] = o
		return nil
	})
	return out, db.fail("provider users", err)
}

// ImportIdentities binds identities in one transaction (as BindIdentity does one, without
// audit events). A unique violation fails the batch with its account error.
func (db *DB) ImportIdentities(ctx context.Context, ids []account.Identity) error {
	return db.fail("import identities", db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, id := range ids {
			db.stamp(&id.CreatedAt, &id.UpdatedAt)
			if _, err := db.insertIdentity(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	}))
}
