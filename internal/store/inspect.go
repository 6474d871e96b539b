package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// Schema says where a database stands, for renran doctor: the applied migration version
// (0 for a database that has none yet) and the latest this build carries. Missing says
// the SQLite file does not exist yet (the first start creates it).
type Schema struct {
	Version, Latest int
	Missing         bool
}

// Inspect connects to the database dsn names, without migrating or writing anything,
// and reads its schema version.
func Inspect(ctx context.Context, dsn string) (Schema, error) {
	engine := "sqlite"
	if IsPostgres(dsn) {
		engine = "postgres"
	}
	ms, err := loadMigrations(engine)
	if err != nil {
		return Schema{}, err
	}
	s := Schema{Latest: ms[len(ms)-1].version}
	var db *sql.DB
	if engine == "postgres" {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return s, fmt.Errorf("store: RENRAN_DATABASE_URL: %w", err)
		}
		if cfg.ConnConfig.ConnectTimeout == 0 {
			cfg.ConnConfig.ConnectTimeout = pgDefaultConnectTimeout
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return s, fmt.Errorf("store: connect to PostgreSQL: %w", err)
		}
		defer pool.Close()
		db = stdlib.OpenDBFromPool(pool)
	} else {
		path := strings.TrimPrefix(dsn, "sqlite://")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			s.Missing = true
			return s, nil
		}
		db, err = sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return s, err
		}
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var exists bool
	q := "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')"
	if engine == "postgres" {
		q = "SELECT to_regclass('schema_migrations') IS NOT NULL"
	}
	if err := db.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return s, fmt.Errorf("store: read the schema: %w", err)
	}
	if !exists {
		return s, nil
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return s, fmt.Errorf("store: read the schema version: %w", err)
	}
	s.Version = int(v.Int64)
	return s, nil
}
