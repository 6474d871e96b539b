// Package store implements account.Store on database/sql, for two engines: SQLite
// (modernc.org/sqlite, no cgo) for the embedded default and PostgreSQL (pgx v5 through
// pgxpool) in production. DML is written once, with `?` placeholders, in users.go,
// identities.go, sessions.go and tokens.go; the differences between the engines are in dialect.go
// (placeholders, error classification, pools) and in the DDL, which lives per engine in
// embedded, numbered migrations. Driver errors become account sentinels: the violated
// unique index (by PostgreSQL's constraint name or SQLite's extended code and column
// list) picks the 409 code, and an unreachable server becomes account.ErrStorageDown.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renran/accounts/internal/account"
)

//go:embed migrations
var migrations embed.FS

// DefaultTimeout bounds one store operation (a query or a transaction) when Options leave
// it zero: long enough for a loaded server, short enough that a hung database answers
// 503 instead of holding a request (and its goroutine) until the client gives up.
const DefaultTimeout = 5 * time.Second

// Options tune a store.
type Options struct {
	Timeout time.Duration    // per operation; 0: DefaultTimeout
	Now     func() time.Time // nil: time.Now
}

// DB is the store. Reads go through r and writes through w: on SQLite w is one connection
// (SQLite has one writer; writes queue in Go instead of retrying SQLITE_BUSY) and r a pool
// of read-only connections that WAL lets run beside it; on PostgreSQL both are the same
// pool.
type DB struct {
	r, w    *sql.DB
	d       dialect
	pool    *pgxpool.Pool // PostgreSQL only
	now     func() time.Time
	timeout time.Duration
	q       readStmts
	ws      map[string]*sql.Stmt // the hot writes' statements, prepared on w (txExec)
	rebound sync.Map             // query with ? → query with $n (PostgreSQL)

	sessions  chan sessionInsert // new sessions for the group-commit writer (sessions.go)
	sessStart sync.Once
	quit      chan struct{} // closed by Close
	closeOnce sync.Once
	writerWG  sync.WaitGroup
}

var _ account.Store = (*DB)(nil)

// readStmts are the hot read queries, prepared once (database/sql then prepares each on a
// connection the first time it runs there) instead of parsed on every call.
//
// Hot reads: their parameters are wrapped in CAST(? AS …). The SQLite of modernc.org/sqlite
// is built with SQLITE_ENABLE_STAT4, under which a statement whose plan may depend on a
// bound value (an equality on an indexed column through a join, or on a non-unique index)
// is prepared again whenever a new value is bound: an authenticated read spent a sixth of
// its CPU in sqlite3Reprepare under a load of many users (one user again and again, as in
// the in-process benchmark, never shows it). A CAST is opaque to the planner, so the
// statement keeps its plan; the index is still used. PostgreSQL reads the same casts as
// no-ops.
type readStmts struct {
	userByID, identityByOpenID, identitiesByUser, userForToken, userForSession, profileForSession readStmt
	userBy                                                                                        map[account.LoginKind]readStmt
}

// Open opens the store a URL names: postgres:// or postgresql:// for PostgreSQL, anything
// else (optionally sqlite://) as a SQLite file path. It runs the migrations.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	if IsPostgres(dsn) {
		return OpenPostgres(ctx, dsn, o)
	}
	return OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"), o)
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func newDB(d dialect, o Options) *DB {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &DB{d: d, now: o.Now, timeout: o.Timeout, sessions: make(chan sessionInsert, 1024), quit: make(chan struct{})}
}

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.d.name }

// SQL returns the database handle for writes, for tests and for pool metrics.
func (db *DB) SQL() *sql.DB { return db.w }

// Close closes the pools.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.quit) })
	db.writerWG.Wait() // the group-commit writer finishes its batch first
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// sql returns q with the engine's placeholders, rewritten once per query text.
func (db *DB) sql(q string) string {
	if db.d.rebind == nil {
		return q
	}
	if s, ok := db.rebound.Load(q); ok {
		return s.(string)
	}
	s := db.d.rebind(q)
	db.rebound.Store(q, s)
	return s
}

// op bounds one operation by the store's timeout.
func (db *DB) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// fail adds context to an error: account errors pass unchanged, ErrNoRows becomes
// account.ErrNoRows, a unique violation its account error, and an unreachable database
// account.ErrStorageDown.
func (db *DB) fail(op string, err error) error {
	if err == nil || account.ErrorOf(err) != nil {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, account.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, account.ErrNoRows)
	}
	if c := db.d.conflict(err); c != nil {
		return c
	}
	if db.d.unavailable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, account.ErrStorageDown, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func (db *DB) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) readStmt {
		rs := readStmt{db: db.r, q: db.sql(q)}
		if err == nil && db.d.prepare {
			rs.st, err = db.r.PrepareContext(ctx, rs.q)
		}
		return rs
	}
	db.q.userByID = prep(qUserByID)
	db.q.identityByOpenID = prep(qIdentityByOpenID)
	db.q.identitiesByUser = prep(qIdentitiesByUser)
	db.q.userForToken = prep(qUserForToken)
	db.q.userForSession = prep(qUserForSession)
	db.q.profileForSession = prep(qProfileForSession)
	db.q.userBy = map[account.LoginKind]readStmt{
		account.ByUsername: prep(qUserBy + "username = ?"),
		account.ByMobile:   prep(qUserBy + "mobile = ?"),
		account.ByEmail:    prep(qUserBy + "email = ?"),
	}
	if err == nil && db.d.prepare {
		db.ws = make(map[string]*sql.Stmt, len(hotWrites))
		for _, q := range hotWrites {
			var st *sql.Stmt
			if st, err = db.w.PrepareContext(ctx, db.sql(q)); err != nil {
				break
			}
			db.ws[q] = st
		}
	}
	if err != nil {
		return fmt.Errorf("store: prepare statements: %w", err)
	}
	return nil
}

// hotWrites are the statements of the frequent transactions (a login's session, a refresh,
// a logout), prepared once on the writer connection where the dialect prepares (SQLite).
// Unprepared, modernc's driver parses a statement again on every call: under a QQ-login
// load, 5 % of the service's CPU went to parsing the session insert again and again.
var hotWrites = []string{qInsertSession, qInsertRefresh, qRefreshBy, qSpendRefresh, qSlideSession,
	qSeenSession, qEndSession, qEndAll, qUserByID, qRevokeToken}

// txStmt returns the statement tx runs for q: the one prepared on the writer connection
// (database/sql reuses it when tx runs on that connection, which it does: SQLite's writer
// pool holds one, and prepares it again on a replacement), or nil for a query that is not
// a hot write or a dialect that does not prepare.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	if st := db.ws[q]; st != nil {
		return tx.StmtContext(ctx, st)
	}
	return nil
}

// txExec runs the statement q in tx (see txStmt).
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := db.txStmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, db.sql(q), args...)
}

// txQueryRow runs the query q in tx (see txStmt).
func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := db.txStmt(ctx, tx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, db.sql(q), args...)
}

// readStmt is a hot read: a prepared statement, or the query text for the driver's own
// statement cache (dialect.prepare).
type readStmt struct {
	st *sql.Stmt
	db *sql.DB
	q  string
}

func (s readStmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	if s.st != nil {
		return s.st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, s.q, args...)
}

func (s readStmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	if s.st != nil {
		return s.st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, s.q, args...)
}

// Ping checks that the database answers a query and takes a write: one that answers
// reads but refuses writes (a read-only file or database, a full disk, a standby) fails.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.op(ctx)
	defer cancel()
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return db.fail("ping", err)
	}
	_, err := db.w.ExecContext(ctx, db.sql("UPDATE readiness SET checked_at = ? WHERE id = 1"), db.now().UnixMilli())
	return db.fail("ping: write", err)
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(engine string) ([]migration, error) {
	dir := "migrations/" + engine
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
// transaction that checks the record first. On PostgreSQL the whole run holds an advisory
// lock, so instances starting together migrate once and the others wait, then find
// nothing to do; on SQLite the write transaction's lock does the same.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.d.name)
	if err != nil {
		return err
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return db.fail("migrate", err)
	}
	defer conn.Close()
	if db.d.lockMigrations != nil {
		unlock, err := db.d.lockMigrations(ctx, conn)
		if err != nil {
			return db.fail("migrate: lock", err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return db.fail("create schema_migrations", err)
	}
	for _, m := range ms {
		// A SQLite migration that rebuilds a table others reference turns foreign keys off
		// around its transaction (they cannot change inside one) and checks them before
		// committing, as SQLite's documentation for ALTER TABLE prescribes.
		fkOff := db.d.name == "sqlite" && strings.HasPrefix(m.sql, foreignKeysOff)
		if fkOff {
			if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
				return db.fail("migration "+m.name+": foreign keys off", err)
			}
		}
		err := inTx(ctx, conn, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, db.sql("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if fkOff {
				if err := foreignKeyCheck(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, db.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				m.version, m.name, db.now().UnixMilli())
			return err
		})
		if fkOff {
			if _, onErr := conn.ExecContext(ctx, "PRAGMA foreign_keys = ON"); onErr != nil && err == nil {
				err = fmt.Errorf("foreign keys back on: %w", onErr)
			}
		}
		if err != nil {
			return db.fail("migration "+m.name, err)
		}
	}
	return nil
}

// foreignKeysOff is the first line of a SQLite migration that needs foreign keys off.
const foreignKeysOff = "-- renran: foreign-keys off"

// foreignKeyCheck fails when any row refers to a missing parent.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("foreign key check: a row refers to a missing parent")
	}
	return rows.Err()
}

func inTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Version returns the highest applied migration.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.w.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, db.fail("read version", err)
	}
	return int(v.Int64), nil
}

// tx runs fn in a write transaction bounded by the store's timeout, committing when it
// returns nil. A failure anywhere rolls everything back: no half-done writes.
func (db *DB) tx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	ctx, cancel := db.op(ctx)
	defer cancel()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// uniqueIndexes maps each unique index to the account error its violation means. The
// names are the same in both engines' migrations; SQLite reports the columns instead, and
// columns lists them in its words.
var uniqueIndexes = map[string]error{
	"oauth_identities_openid": account.ErrQQBound,
	"oauth_identities_user":   account.ErrAccountHasQQ,
	"users_mobile":            account.ErrMobileTaken,
	"users_nickname":          account.ErrNicknameTaken,
	"users_username":          account.ErrUsernameTaken,
	"users_email":             account.ErrEmailTaken,
}

// indexByColumns names the unique index for SQLite's "table.col, table.col" list.
var indexByColumns = map[string]string{
	"oauth_identities.provider, oauth_identities.app_id, oauth_identities.openid":  "oauth_identities_openid",
	"oauth_identities.user_id, oauth_identities.provider":                          "oauth_identities_user",
	"oauth_identities.user_id, oauth_identities.provider, oauth_identities.app_id": "oauth_identities_user",
	"users.mobile":   "users_mobile",
	"users.nickname": "users_nickname",
	"users.username": "users_username",
	"users.email":    "users_email",
}
