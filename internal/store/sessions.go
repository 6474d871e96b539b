package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
)

const sessionColumns = `s.id, s.user_id, s.method, s.remember, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at`

const (
	qInsertSession = `INSERT INTO sessions (id, user_id, method, remember, ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertRefresh = "INSERT INTO refresh_tokens (hash, session_id, issued_at) VALUES (?, ?, ?)"
	// qUserForSession is the one read an authenticated request makes: the user and its
	// live session.
	// The parameters are wrapped in CASTs (see store.go, "hot reads"), and expiry is
	// compared in Go.
	qUserForSession = "SELECT " + userColumnsU + ", " + sessionColumns + ` FROM users u JOIN sessions s ON s.user_id = u.id
		WHERE u.id = CAST(? AS BIGINT) AND s.id = CAST(? AS TEXT) AND s.ended_at IS NULL`
	// qProfileForSession is qUserForSession with the user's identities (what a profile
	// shows of them), for GET /users/me/: one row per identity, or one with NULLs.
	qProfileForSession = "SELECT " + userColumnsU + ", " + sessionColumns + `, i.id, i.provider, i.app_id, i.nickname, i.avatar, i.created_at
		FROM users u JOIN sessions s ON s.user_id = u.id LEFT JOIN oauth_identities i ON i.user_id = u.id
		WHERE u.id = CAST(? AS BIGINT) AND s.id = CAST(? AS TEXT) AND s.ended_at IS NULL ORDER BY i.id`
	qRefreshBy = "SELECT rt.used_at, s.prev_hash, s.ended_at, " + sessionColumns + ` FROM refresh_tokens rt
		JOIN sessions s ON s.id = rt.session_id WHERE rt.hash = ?`
	qSpendRefresh  = "UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL"
	qSlideSession  = "UPDATE sessions SET prev_hash = ?, last_seen_at = ?, expires_at = ? WHERE id = ?"
	qSeenSession   = "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?"
	qEndSession    = "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND user_id = ? AND ended_at IS NULL"
	qEndAll        = "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND ended_at IS NULL"
	qListSessions  = "SELECT " + sessionColumns + " FROM sessions s WHERE s.user_id = ? AND s.ended_at IS NULL AND s.expires_at > ? ORDER BY s.last_seen_at DESC, s.created_at DESC"
	qTouchSession  = "UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?"
	qPurgeSessions = "DELETE FROM sessions WHERE (ended_at IS NOT NULL AND ended_at < ?) OR expires_at < ?"
	qSigningKeys   = "SELECT kid, public_key, private_key, created_at, active_from FROM signing_keys ORDER BY active_from, kid"
	qAddSigningKey = "INSERT INTO signing_keys (kid, public_key, private_key, created_at, active_from) VALUES (?, ?, ?, ?, ?)"
)

// sessionDest returns scan targets for sessionColumns; finish completes s after the scan.
func sessionDest(s *account.SessionRecord) (dest []any, finish func()) {
	var created, seen, expires int64
	return []any{&s.ID, &s.UserID, &s.Method, &s.Remember, &s.IP, &s.UserAgent, &created, &seen, &expires}, func() {
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(seen).UTC(), time.UnixMilli(expires).UTC()
	}
}

// CreateSession records a new session and its first refresh token, through a group
// commit: sessions created at the same moment (a login burst) share one transaction (on
// PostgreSQL one statement), so a burst costs one commit, not one each (on SQLite's single
// writer that was a third of a returning QQ login's CPU). Each caller returns only once
// its own row is committed.
func (db *DB) CreateSession(ctx context.Context, s account.SessionRecord, refreshHash []byte) error {
	db.sessStart.Do(func() {
		db.writerWG.Add(1)
		go db.sessionWriter()
	})
	req := sessionInsert{s: s, hash: refreshHash, done: make(chan error, 1)}
	select {
	case db.sessions <- req:
	case <-db.quit:
		return db.fail("create session", errStoreClosed)
	case <-ctx.Done():
		return db.fail("create session", ctx.Err())
	}
	select {
	case err := <-req.done:
		return db.fail("create session", err)
	case <-ctx.Done(): // the row may still be committed: a session nobody holds a token of
		return db.fail("create session", ctx.Err())
	}
}

// errStoreClosed is a write after Close.
var errStoreClosed = errors.New("store closed")

// sessionInsert is one CreateSession waiting for the group commit.
type sessionInsert struct {
	s    account.SessionRecord
	hash []byte
	done chan error
}

// sessionBatch is the most sessions one group commit writes.
const sessionBatch = 128

// sessionWriter writes queued sessions, as many as are waiting (up to sessionBatch) in one
// transaction. If that transaction fails, each is tried alone, so one bad row (a user
// deleted meanwhile) does not fail the others.
func (db *DB) sessionWriter() {
	defer db.writerWG.Done()
	for {
		var first sessionInsert
		select {
		case first = <-db.sessions:
		case <-db.quit:
			for { // answer whoever is still queued
				select {
				case r := <-db.sessions:
					r.done <- errStoreClosed
				default:
					return
				}
			}
		}
		batch := []sessionInsert{first}
	collect:
		for len(batch) < sessionBatch {
			select {
			case r := <-db.sessions:
				batch = append(batch, r)
			default:
				break collect
			}
		}
		err := db.insertSessions(batch)
		if err != nil && len(batch) > 1 {
			for _, r := range batch {
				r.done <- db.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
					return db.insertSession(ctx, tx, r.s, r.hash)
				})
			}
			continue
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// insertSessions writes a batch. On PostgreSQL it is one statement (a CTE inserting the
// sessions, then their refresh tokens): one round trip for the whole batch instead of a
// transaction's four per session, and one statement is atomic by itself. SQLite, in the
// process, has no round trips to save (and no DML in CTEs): a transaction.
func (db *DB) insertSessions(batch []sessionInsert) error {
	if db.d.name != "postgres" {
		return db.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			for _, r := range batch {
				if err := db.insertSession(ctx, tx, r.s, r.hash); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var sess, refresh strings.Builder
	args := make([]any, 0, len(batch)*12)
	for i, r := range batch {
		if i > 0 {
			sess.WriteString(", ")
			refresh.WriteString(", ")
		}
		sess.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		refresh.WriteString("(?, ?, ?)")
		s := r.s
		args = append(args, s.ID, s.UserID, s.Method, s.Remember, s.IP, s.UserAgent, s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(), s.ExpiresAt.UnixMilli())
	}
	for _, r := range batch {
		args = append(args, r.hash, r.s.ID, r.s.CreatedAt.UnixMilli())
	}
	q := "WITH s AS (INSERT INTO sessions (id, user_id, method, remember, ip, user_agent, created_at, last_seen_at, expires_at) VALUES " +
		sess.String() + " RETURNING id) INSERT INTO refresh_tokens (hash, session_id, issued_at) VALUES " + refresh.String()
	ctx, cancel := db.op(context.Background())
	defer cancel()
	_, err := db.w.ExecContext(ctx, db.d.rebind(q), args...)
	return err
}

// insertSession writes a session row and its first refresh token inside tx.
func (db *DB) insertSession(ctx context.Context, tx *sql.Tx, s account.SessionRecord, refreshHash []byte) error {
	if _, err := db.txExec(ctx, tx, qInsertSession, s.ID, s.UserID, s.Method, s.Remember, s.IP, s.UserAgent,
		s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(), s.ExpiresAt.UnixMilli()); err != nil {
		return err
	}
	_, err := db.txExec(ctx, tx, qInsertRefresh, refreshHash, s.ID, s.CreatedAt.UnixMilli())
	return err
}

// UserForSession returns the user with id and its live session sid in one read.
func (db *DB) UserForSession(ctx context.Context, userID int64, sid string, now time.Time) (account.User, account.SessionRecord, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	var u account.User
	var s account.SessionRecord
	ud, ufinish := userDest(&u)
	sd, sfinish := sessionDest(&s)
	if err := db.q.userForSession.QueryRowContext(ctx, userID, sid).Scan(append(ud, sd...)...); err != nil {
		return account.User{}, account.SessionRecord{}, db.fail("user for session", err)
	}
	ufinish()
	sfinish()
	if !s.ExpiresAt.After(now) {
		return account.User{}, account.SessionRecord{}, db.fail("user for session", account.ErrNoRows)
	}
	return u, s, nil
}

// ProfileForSession is UserForSession with the user's identities, in the same read; see
// account.Store.
func (db *DB) ProfileForSession(ctx context.Context, userID int64, sid string, now time.Time) (account.User, account.SessionRecord, []account.Identity, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	fail := func(err error) (account.User, account.SessionRecord, []account.Identity, error) {
		return account.User{}, account.SessionRecord{}, nil, db.fail("profile for session", err)
	}
	rows, err := db.q.profileForSession.QueryContext(ctx, userID, sid)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var u account.User
	var s account.SessionRecord
	ids := []account.Identity{}
	found := false
	for rows.Next() {
		var iid sql.NullInt64
		var provider, app, nickname, avatar sql.NullString
		var created sql.NullInt64
		ud, ufinish := userDest(&u)
		sd, sfinish := sessionDest(&s)
		if err := rows.Scan(append(append(ud, sd...), &iid, &provider, &app, &nickname, &avatar, &created)...); err != nil {
			return fail(err)
		}
		ufinish()
		sfinish()
		found = true
		if iid.Valid {
			ids = append(ids, account.Identity{ID: iid.Int64, UserID: u.ID, Provider: provider.String, AppID: app.String,
				Nickname: nickname.String, Avatar: avatar.String, CreatedAt: time.UnixMilli(created.Int64).UTC()})
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if !found || !s.ExpiresAt.After(now) {
		return fail(account.ErrNoRows)
	}
	return u, s, ids, nil
}

// RotateRefresh spends a refresh token; see account.Store. Of two requests spending the
// same unused token at once, the conditional update lets one through; the other finds it
// spent an instant ago by its own session's last rotation, which is the grace case.
func (db *DB) RotateRefresh(ctx context.Context, old, next []byte, now time.Time, grace time.Duration,
	expires func(account.SessionRecord) time.Time, reuse account.AuditEvent) (account.User, account.SessionRecord, account.RefreshOutcome, error) {
	var u account.User
	var s account.SessionRecord
	var out account.RefreshOutcome
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var used, ended sql.NullInt64
		var prev []byte
		sd, sfinish := sessionDest(&s)
		if err := db.txQueryRow(ctx, tx, qRefreshBy, old).Scan(append([]any{&used, &prev, &ended}, sd...)...); err != nil {
			return err
		}
		sfinish()
		if ended.Valid || !s.ExpiresAt.After(now) {
			return account.ErrNoRows
		}
		ms := now.UnixMilli()
		spent := false
		if !used.Valid {
			res, err := db.txExec(ctx, tx, qSpendRefresh, ms, old)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			spent = n == 1
			if !spent { // spent by a concurrent request that committed first
				used, prev = sql.NullInt64{Int64: ms, Valid: true}, old
			}
		}
		s.LastSeenAt, s.ExpiresAt = now, expires(s)
		switch {
		case spent:
			out = account.RefreshRotated
			if _, err := db.txExec(ctx, tx, qSlideSession, old, ms, s.ExpiresAt.UnixMilli(), s.ID); err != nil {
				return err
			}
		case bytes.Equal(prev, old) && used.Int64 > now.Add(-grace).UnixMilli():
			out = account.RefreshInGrace
			if _, err := db.txExec(ctx, tx, qSeenSession, ms, s.ExpiresAt.UnixMilli(), s.ID); err != nil {
				return err
			}
		default:
			out = account.RefreshReused
			if _, err := db.txExec(ctx, tx, qEndSession, ms, "refresh_reuse", s.ID, s.UserID); err != nil {
				return err
			}
			return db.insertAudit(ctx, tx, s.UserID, []account.AuditEvent{reuse})
		}
		if _, err := db.txExec(ctx, tx, qInsertRefresh, next, s.ID, ms); err != nil {
			return err
		}
		return scanUser(db.txQueryRow(ctx, tx, qUserByID, s.UserID), &u)
	})
	if err != nil {
		return account.User{}, account.SessionRecord{}, 0, db.fail("rotate refresh token", err)
	}
	return u, s, out, nil
}

// ListSessions returns the user's live sessions, the most recently seen first.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]account.SessionRecord, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	rows, err := db.r.QueryContext(ctx, db.sql(qListSessions), userID, now.UnixMilli())
	if err != nil {
		return nil, db.fail("list sessions", err)
	}
	defer rows.Close()
	var out []account.SessionRecord
	for rows.Next() {
		var s account.SessionRecord
		dest, finish := sessionDest(&s)
		if err := rows.Scan(dest...); err != nil {
			return nil, db.fail("list sessions", err)
		}
		finish()
		out = append(out, s)
	}
	return out, db.fail("list sessions", rows.Err())
}

// EndSession ends the user's live session sid, with the audit events, and says whether
// there was one.
func (db *DB) EndSession(ctx context.Context, userID int64, sid, reason string, events ...account.AuditEvent) (bool, error) {
	var ended bool
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.txExec(ctx, tx, qEndSession, db.now().UnixMilli(), reason, sid, userID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if ended = n == 1; !ended {
			return nil
		}
		return db.insertAudit(ctx, tx, userID, events)
	})
	return ended, db.fail("end session", err)
}

// endAll ends every live session of the user inside tx.
func (db *DB) endAll(ctx context.Context, tx *sql.Tx, userID int64, reason string) error {
	_, err := db.txExec(ctx, tx, qEndAll, db.now().UnixMilli(), reason, userID)
	return err
}

// TouchSessions records when sessions were last seen, in one transaction; a session
// already seen later keeps its time.
func (db *DB) TouchSessions(ctx context.Context, touches []account.SessionTouch) error {
	if db.d.name == "postgres" && len(touches) > 0 {
		ids, at := make([]string, len(touches)), make([]int64, len(touches))
		for i, t := range touches {
			ids[i], at[i] = t.ID, t.At.UnixMilli()
		}
		ctx, cancel := db.op(ctx)
		defer cancel()
		_, err := db.w.ExecContext(ctx, pgTouchSessions, ids, at)
		return db.fail("touch sessions", err)
	}
	return db.fail("touch sessions", db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, db.sql(qTouchSession))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, t := range touches {
			if _, err := st.ExecContext(ctx, t.At.UnixMilli(), t.ID, t.At.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	}))
}

// PurgeSessions deletes sessions that ended or expired before t (their refresh tokens go
// with them) and says how many.
func (db *DB) PurgeSessions(ctx context.Context, t time.Time) (int64, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	res, err := db.w.ExecContext(ctx, db.sql(qPurgeSessions), t.UnixMilli(), t.UnixMilli())
	if err != nil {
		return 0, db.fail("purge sessions", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SigningKeys returns every signing key, the earliest active first.
func (db *DB) SigningKeys(ctx context.Context) ([]account.SigningKey, error) {
	ctx, cancel := db.op(ctx)
	defer cancel()
	rows, err := db.r.QueryContext(ctx, qSigningKeys)
	if err != nil {
		return nil, db.fail("signing keys", err)
	}
	defer rows.Close()
	var out []account.SigningKey
	for rows.Next() {
		var k account.SigningKey
		var created, active int64
		if err := rows.Scan(&k.ID, &k.Public, &k.Sealed, &created, &active); err != nil {
			return nil, db.fail("signing keys", err)
		}
		k.CreatedAt, k.ActiveFrom = time.UnixMilli(created).UTC(), time.UnixMilli(active).UTC()
		out = append(out, k)
	}
	return out, db.fail("signing keys", rows.Err())
}

// AddSigningKey stores a new signing key.
func (db *DB) AddSigningKey(ctx context.Context, k account.SigningKey) error {
	ctx, cancel := db.op(ctx)
	defer cancel()
	_, err := db.w.ExecContext(ctx, db.sql(qAddSigningKey), k.ID, k.Public, k.Sealed, k.CreatedAt.UnixMilli(), k.ActiveFrom.UnixMilli())
	return db.fail("add signing key", err)
}
