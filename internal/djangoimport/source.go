package djangoimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Source is the Django site's database, read only: MySQL/MariaDB, PostgreSQL or SQLite,
// the three Django runs on.
type Source struct {
	db     *sql.DB
	engine string // "mysql", "postgres" or "sqlite"
}

// OpenSource opens the database from names: mysql://user:pass@host:port/db,
// postgres://… (or postgresql://), or a SQLite file (sqlite:///path, or a plain path),
// which must exist and is opened read-only.
func OpenSource(ctx context.Context, from string) (*Source, error) {
	s := &Source{}
	var err error
	switch {
	case strings.HasPrefix(from, "mysql://"):
		s.engine = "mysql"
		var dsn string
		if dsn, err = mysqlDSN(from); err != nil {
			return nil, err
		}
		s.db, err = sql.Open("mysql", dsn)
	case strings.HasPrefix(from, "postgres://"), strings.HasPrefix(from, "postgresql://"):
		s.engine = "postgres"
		s.db, err = sql.Open("pgx", from)
	default:
		s.engine = "sqlite"
		path := strings.TrimPrefix(from, "sqlite://")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("--from %s: not a mysql:// or postgres:// URL, and no SQLite file there: %w", from, err)
		}
		s.db, err = sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	}
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	s.db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("--from: cannot reach the Django database: %w", err)
	}
	return s, nil
}

// mysqlDSN turns mysql://user:pass@host:port/db?param=value into the driver's DSN, with
// utf8mb4 and times read as text.
func mysqlDSN(from string) (string, error) {
	u, err := url.Parse(from)
	if err != nil {
		return "", fmt.Errorf("--from: %w", err)
	}
	c := mysql.NewConfig()
	c.Net = "tcp"
	c.Addr = u.Host
	if u.Port() == "" {
		c.Addr = u.Hostname() + ":3306"
	}
	c.DBName = strings.TrimPrefix(u.Path, "/")
	if c.DBName == "" {
		return "", errors.New("--from mysql://…: no database name (mysql://user:pass@host:port/db)")
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
	}
	c.Params = map[string]string{"charset": "utf8mb4"}
	for k, v := range u.Query() {
		c.Params[k] = v[0]
	}
	c.Timeout = 10 * time.Second
	return c.FormatDSN(), nil
}

// Engine names the database: mysql, postgres or sqlite.
func (s *Source) Engine() string { return s.engine }

// Close closes the connection.
func (s *Source) Close() error { return s.db.Close() }

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// quote returns a table or column name quoted for the engine; names are checked against
// identifier first (they come from flags).
func (s *Source) quote(name string) string {
	if s.engine == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// ErrNoTable is returned by Columns for a table the database does not have.
var ErrNoTable = errors.New("no such table")

// Columns returns the columns of table, lower-cased.
func (s *Source) Columns(ctx context.Context, table string) (map[string]bool, error) {
	if !identifier.MatchString(table) {
		return nil, fmt.Errorf("table name %q: letters, digits and _ only", table)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+s.quote(table)+" WHERE 1 = 0")
	if err != nil {
		msg := strings.ToLower(err.Error())
		if strings.Contains(msg, "doesn't exist") || strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") {
			return nil, fmt.Errorf("%s: %w", table, ErrNoTable)
		}
		return nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	cols := make(map[string]bool, len(names))
	for _, n := range names {
		cols[strings.ToLower(n)] = true
	}
	return cols, nil
}

// Count returns the number of rows of table.
func (s *Source) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+s.quote(table)).Scan(&n)
	return n, err
}

// Page reads up to limit rows of table with an id above after, in id order, as text
// (NULL: Valid false), the columns in the order given.
func (s *Source) Page(ctx context.Context, table string, cols []string, after int64, limit int) ([][]sql.NullString, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = s.quote(c)
	}
	ph := "?"
	if s.engine == "postgres" {
		ph = "$1"
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s > %s ORDER BY %s LIMIT %d",
		strings.Join(quoted, ", "), s.quote(table), s.quote("id"), ph, s.quote("id"), limit)
	rows, err := s.db.QueryContext(ctx, q, after)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var out [][]sql.NullString
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// parseBool reads a boolean column as each engine gives it as text: 1/0 (MySQL tinyint,
// SQLite), true/false or t/f (PostgreSQL).
func parseBool(v sql.NullString, dflt bool) bool {
	if !v.Valid {
		return dflt
	}
	switch strings.ToLower(strings.TrimSpace(v.String)) {
	case "1", "true", "t":
		return true
	case "0", "false", "f", "":
		return false
	}
	if n, err := strconv.Atoi(v.String); err == nil {
		return n != 0
	}
	return dflt
}

// timeLayouts are how the engines give a datetime as text: MySQL and Django's SQLite
// columns ("2024-01-02 03:04:05.123456", with or without a zone), and PostgreSQL's
// timestamptz through database/sql (RFC 3339).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// parseTime reads a datetime column; a time without a zone is UTC (Django's USE_TZ stores
// UTC). The zero time when it cannot be read.
func parseTime(v sql.NullString) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	s := strings.TrimSpace(v.String)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
