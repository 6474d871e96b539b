package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between the engines outside the DDL.
type dialect struct {
	name string
	// rebind rewrites ? placeholders to the engine's; nil when ? is native.
	rebind func(string) string
	// conflict returns the account error a unique violation means, or nil.
	conflict func(error) error
	// unavailable reports whether err means the server cannot be reached or is going away
	// (retry later) rather than that the statement was wrong.
	unavailable func(error) bool
	// lockMigrations serialises migrations across processes; nil when the engine's own
	// write lock does.
	lockMigrations func(context.Context, *sql.Conn) (unlock func(), err error)
	// prepare says whether the hot reads are prepared through database/sql. Not on
	// PostgreSQL: pgx already caches a prepared statement per connection for every query
	// text, and a database/sql Stmt on top of it measured 3.5 times slower (556 µs
	// against 158 µs a read here).
	prepare bool
}

// unreachable is what both engines share: the network, timeouts, a dropped connection.
func unreachable(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &ne):
		return true
	}
	return false
}

// ---- SQLite ----

var sqliteDialect = dialect{
	name:    "sqlite",
	prepare: true,
	conflict: func(err error) error {
		var se *sqlite.Error
		if !errors.As(err, &se) || (se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return nil
		}
		// The extended code says "unique"; which index is in the detail SQLite defines as
		// "UNIQUE constraint failed: table.col[, table.col…]" (the error has no other field).
		// The driver prefixes its own text, so the detail follows the last marker.
		msg := se.Error()
		cols := msg[strings.LastIndex(msg, "constraint failed: ")+len("constraint failed: "):]
		cols, _, _ = strings.Cut(cols, " (")
		if e, ok := uniqueIndexes[indexByColumns[strings.TrimSpace(cols)]]; ok {
			return e
		}
		return nil
	},
	unavailable: func(err error) bool {
		var se *sqlite.Error
		if errors.As(err, &se) {
			switch se.Code() & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
				sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL:
				return true
			}
			return false
		}
		return unreachable(err)
	},
}

// OpenSQLite opens (creating if needed) the SQLite database at path and runs migrations.
func OpenSQLite(ctx context.Context, path string, o Options) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := mkdirAll(dir); err != nil {
			return nil, fmt.Errorf("store: create the data folder %s for %s: %w", dir, path, err)
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
	// The writer does not checkpoint the WAL itself: a checkpoint at a commit stalls every
	// login waiting on that commit. A connection of its own does it in the background
	// (checkpointer), beside the writer.
	w, err := sql.Open("sqlite", dsn("wal_autocheckpoint(0)"))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := newDB(sqliteDialect, o)
	db.w = w
	// Processes opening a new file together race to switch it to WAL, which SQLite answers
	// with SQLITE_BUSY at once instead of waiting; the loser tries again shortly.
	for attempt := 1; ; attempt++ {
		err := db.Migrate(ctx)
		if err == nil {
			break
		}
		if !isBusy(err) || attempt == 20 || ctx.Err() != nil {
			w.Close()
			return nil, openProblem(path, err)
		}
		time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite readers: %w", err)
	}
	n := max(2*runtime.GOMAXPROCS(0), 4)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	db.r = r
	cp, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open sqlite checkpointer: %w", err)
	}
	cp.SetMaxOpenConns(1)
	db.writerWG.Add(1)
	go db.checkpointer(cp)
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkpointer copies the WAL back into the database file every half second while it has
// grown (PASSIVE: it never waits for, nor blocks, the writer or the readers), and once more,
// fully, at Close.
func (db *DB) checkpointer(cp *sql.DB) {
	defer db.writerWG.Done()
	defer cp.Close()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-db.quit:
			_, _ = cp.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return
		case <-t.C:
			_, _ = cp.Exec("PRAGMA wal_checkpoint(PASSIVE)") // a failure is retried at the next tick
		}
	}
}

// openProblem names the file SQLite could not open or write and, where it can tell, why:
// SQLite itself says only "unable to open database file (14)".
func openProblem(path string, err error) error {
	abs, aerr := filepath.Abs(path)
	if aerr != nil {
		abs = path
	}
	why := ""
	dir := filepath.Dir(abs)
	if fi, serr := os.Stat(abs); serr == nil && fi.IsDir() {
		why = abs + " is a folder; RENRAN_DATABASE_URL must name a file"
	} else if serr == nil {
		if f, oerr := os.OpenFile(abs, os.O_RDWR, 0); oerr != nil {
			why = fmt.Sprintf("the file cannot be opened for writing (%v): check its owner and mode", oerr)
		} else {
			f.Close()
		}
	}
	if why == "" {
		if f, cerr := os.CreateTemp(dir, ".renran-write-test-*"); cerr != nil {
			why = fmt.Sprintf("cannot create files in %s (%v): the folder must be writable by this user, for the database and its -wal and -shm files", dir, cerr)
		} else {
			name := f.Name()
			_, werr := f.Write(make([]byte, 64<<10))
			f.Close()
			os.Remove(name)
			if werr != nil {
				why = fmt.Sprintf("cannot write in %s (%v): is the disk full?", dir, werr)
			}
		}
	}
	if why == "" {
		return fmt.Errorf("store: SQLite database %s: %w", abs, err)
	}
	return fmt.Errorf("store: SQLite database %s: %w: %s", abs, err, why)
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED)
}

// ---- PostgreSQL ----

// Pool defaults for PostgreSQL, each overridable in the URL (pool_max_conns=…,
// connect_timeout=…, statement_timeout=… as a server parameter).
const (
	pgDefaultMaxConns       = 16
	pgDefaultConnectTimeout = 5 * time.Second
	pgMaxConnIdle           = 5 * time.Minute
	pgMaxConnLifetime       = time.Hour
	pgHealthCheck           = 15 * time.Second
	migrationLockKey        = 7_265_726_101 // "renran" migrations; any constant shared by all instances
)

var pgDialect = dialect{
	name:   "postgres",
	rebind: rebindDollar,
	conflict: func(err error) error {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
			return uniqueIndexes[pe.ConstraintName]
		}
		return nil
	},
	unavailable: func(err error) bool {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			// 08: connection exception; 53: insufficient resources; 57P0x: admin/crash
			// shutdown, cannot connect now; 57014: statement timeout / cancel.
			return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") ||
				strings.HasPrefix(pe.Code, "57P") || pe.Code == "57014"
		}
		var ce *pgconn.ConnectError
		// SafeToRetry: failed before anything reached the server, e.g. pgx's "conn
		// closed" for a pooled connection the restarted server had dropped.
		return errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) || unreachable(err) ||
			strings.Contains(err.Error(), "closed pool") || // pgxpool says no more
			strings.Contains(err.Error(), "conn closed")
	},
	lockMigrations: func(ctx context.Context, c *sql.Conn) (func(), error) {
		if _, err := c.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return nil, err
		}
		return func() {
			_, _ = c.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLockKey)
		}, nil
	},
}

// rebindDollar turns ? into $1, $2, …; our queries have no ? inside string literals.
func rebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// OpenPostgres connects a pgx pool to the database at dsn and runs migrations. It fails
// when the server cannot be reached at start; after that, an outage makes operations fail
// with account.ErrStorageDown until the server is back, and the pool reconnects by itself.
func OpenPostgres(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: RENRAN_DATABASE_URL: %w", err)
	}
	u, _ := url.Parse(dsn)
	q := u.Query()
	if !q.Has("pool_max_conns") {
		cfg.MaxConns = pgDefaultMaxConns
	}
	if !q.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = pgDefaultConnectTimeout
	}
	if !q.Has("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = pgMaxConnIdle
	}
	if !q.Has("pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = pgMaxConnLifetime
	}
	if !q.Has("pool_health_check_period") {
		cfg.HealthCheckPeriod = pgHealthCheck
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "renran"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	sdb := stdlib.OpenDBFromPool(pool)
	// database/sql keeps its own pool on top of pgx's: the same size, so it neither churns
	// connections (its default keeps 2 idle) nor queues beyond what pgx would give.
	sdb.SetMaxOpenConns(int(cfg.MaxConns))
	sdb.SetMaxIdleConns(int(cfg.MaxConns))
	db := newDB(pgDialect, o)
	db.r, db.w, db.pool = sdb, sdb, pool
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
