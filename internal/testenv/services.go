package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/redis/go-redis/v9"
)

// Postgres returns a URL for a fresh, empty schema in the PostgreSQL at
// $RENRAN_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable),
// through search_path, and drops the schema when the test ends. Tests and packages running
// in parallel, and reruns, never see each other's tables.
func Postgres(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("RENRAN_TEST_POSTGRES_URL")
	if base == "" {
		Missing(tb, "RENRAN_TEST_POSTGRES_URL is not set: skipping PostgreSQL tests (e.g. RENRAN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
		return ""
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("RENRAN_TEST_POSTGRES_URL: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := "renran_test_" + randomHex(6)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		Missing(tb, fmt.Sprintf("PostgreSQL at RENRAN_TEST_POSTGRES_URL does not answer: %v", err))
		return ""
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	})
	return WithParam(base, "search_path", schema)
}

// WithParam returns u with the query parameter k=v added.
func WithParam(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}

// Redis returns the URL of the Redis at $RENRAN_TEST_REDIS_URL (e.g.
// redis://127.0.0.1:6379/0) and a key prefix unique to this test; the keys under it are
// deleted when the test ends.
func Redis(tb testing.TB) (redisURL, prefix string) {
	tb.Helper()
	u := os.Getenv("RENRAN_TEST_REDIS_URL")
	if u == "" {
		Missing(tb, "RENRAN_TEST_REDIS_URL is not set: skipping Redis tests (e.g. RENRAN_TEST_REDIS_URL=redis://127.0.0.1:6379/0)")
		return "", ""
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("RENRAN_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		Missing(tb, fmt.Sprintf("Redis at RENRAN_TEST_REDIS_URL does not answer: %v", err))
		return "", ""
	}
	prefix = "renran-test:" + randomHex(6) + ":"
	tb.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return u, prefix
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MySQL returns a mysql:// URL (as `renran import-django --from` takes it) and an open
// handle for a fresh database in the MySQL or MariaDB at $RENRAN_TEST_MYSQL_URL (e.g.
// mysql://root@127.0.0.1:3306/), and drops the database when the test ends.
func MySQL(tb testing.TB) (string, *sql.DB) {
	tb.Helper()
	base := os.Getenv("RENRAN_TEST_MYSQL_URL")
	if base == "" {
		Missing(tb, "RENRAN_TEST_MYSQL_URL is not set: skipping MySQL/MariaDB tests (e.g. RENRAN_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/)")
		return "", nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "mysql" {
		tb.Fatalf("RENRAN_TEST_MYSQL_URL=%s: want mysql://user:pass@host:port/", base)
	}
	dsn := func(db string) string {
		c := mysql.NewConfig()
		c.Net, c.Addr, c.DBName = "tcp", u.Host, db
		if u.User != nil {
			c.User = u.User.Username()
			c.Passwd, _ = u.User.Password()
		}
		c.Params = map[string]string{"charset": "utf8mb4"}
		return c.FormatDSN()
	}
	admin, err := sql.Open("mysql", dsn(""))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "renran_test_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"); err != nil {
		Missing(tb, fmt.Sprintf("MySQL at RENRAN_TEST_MYSQL_URL does not answer: %v", err))
		return "", nil
	}
	db, err := sql.Open("mysql", dsn(name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db.Close()
		admin, err := sql.Open("mysql", dsn(""))
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	out := *u
	out.Path = "/" + name
	return out.String(), db
}
