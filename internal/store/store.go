// Package store implements account.Store on database/sql: SQLite (modernc.org/sqlite, no
// cgo) for the embedded default, PostgreSQL in production (a later step). DDL lives per
// dialect in embedded, numbered migrations; DML is written once. Driver errors become
// account sentinels, and the violated unique index picks the 409 code.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// DB is the store. SQLite allows one writer at a time, so writes go through a pool of one
// connection (queued in Go, not retried on SQLITE_BUSY), and reads through a pool of
// read-only connections that WAL lets run beside the writer.
type DB struct {
	r, w    *sql.DB
	dialect string
	now     func() time.Time
	q       readStmts
}

// readStmts are the hot read queries, prepared once (database/sql then prepares each on a
// connection the first time it runs there) instead of parsed on every call.
type readStmts struct {
	userByID, identityByOpenID, identitiesByUser *sql.Stmt
	userBy                                       map[account.LoginKind]*sql.Stmt
}

func (db *DB) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.r.PrepareContext(ctx, q)
		return st
	}
	db.q.userByID = prep(qUserByID)
	db.q.identityByOpenID = prep(qIdentityByOpenID)
	db.q.identitiesByUser = prep(qIdentitiesByUser)
	db.q.userBy = map[account.LoginKind]*sql.Stmt{
		account.ByUsername: prep(qUserBy + "username = ?"),
		account.ByMobile:   prep(qUserBy + "mobile = ?"),
		account.ByEmail:    prep(qUserBy + "email = ?"),
	}
	if err != nil {
		return fmt.Errorf("store: prepare statements: %w", err)
	}
	return nil
}

var _ account.Store = (*DB)(nil)

// OpenSQLite opens (creating if needed) the SQLite database at path and runs migrations.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := mkdirAll(dir); err != nil {
			return nil, fmt.Errorf("store: create data folder: %w", err)
		}
	}
	// busy_timeout first, so the other pragmas wait for a lock instead of failing;
	// WAL lets readers run beside the writer; synchronous=NORMAL is safe with WAL (a power
	// loss may drop the last commits, never corrupt); foreign keys are off by default.
	dsn := func(extra string) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(5000)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Add("_pragma", "foreign_keys(1)")
		if extra != "" {
			v.Add("_pragma", extra)
		}
		v.Set("_txlock", "immediate")
		return "file:" + filepath.ToSlash(path) + "?" + v.Encode()
	}
	w, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{w: w, dialect: "sqlite", now: time.Now}
	if err := db.Migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite readers: %w", err)
	}
	n := 2 * runtime.GOMAXPROCS(0)
	if n < 4 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	db.r = r
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_what.sql", name)
		}
		b, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("store: two migrations numbered %d", ms[i].version)
		}
	}
	return ms, nil
}

// Migrate applies the migrations not yet recorded in schema_migrations, each in its own
// transaction. It is safe to run at every start and by `renran migrate`.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.dialect)
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := db.w.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("store: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, db.now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// Version returns the highest applied migration.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.w.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read version: %w", err)
	}
	return int(v.Int64), nil
}

// tx runs fn in a write transaction, committing when it returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// conflict turns a unique-constraint violation into the account error it means. SQLite
// names the columns ("UNIQUE constraint failed: users.mobile"); PostgreSQL names the
// index ("users_mobile"): both are recognised.
func conflict(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.Contains(msg, "UNIQUE") && !strings.Contains(msg, "unique") && !strings.Contains(msg, "23505") {
		return err
	}
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(msg, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("oauth_identities.openid", "oauth_identities_openid"):
		return account.ErrQQBound
	case has("oauth_identities.user_id", "oauth_identities_user"):
		return account.ErrAccountHasQQ
	case has("users.mobile", "users_mobile"):
		return account.ErrMobileTaken
	case has("users.nickname", "users_nickname"):
		return account.ErrNicknameTaken
	case has("users.username", "users_username"):
		return account.ErrUsernameTaken
	case has("users.email", "users_email"):
		return account.ErrEmailTaken
	}
	return err
}
