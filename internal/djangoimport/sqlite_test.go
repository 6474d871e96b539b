package djangoimport_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/djangoimport"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/testenv"
)

// sqliteDjango writes the seed rows into a SQLite file, as Django's SQLite backend keeps
// them, and returns its path.
func sqliteDjango(t testing.TB, users []djangoUser, qqs []djangoQQ) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite3")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillDjango(t, db, "sqlite", users, qqs)
	return path
}

func importInto(t *testing.T, ctx context.Context, from string, db *store.DB, o djangoimport.Options) (djangoimport.Summary, []string, error) {
	t.Helper()
	src, err := djangoimport.OpenSource(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rep bytes.Buffer
	if o.QQAppID == "" {
		o.QQAppID = config.DevQQAppID
	}
	sum, err := djangoimport.Run(ctx, src, db, djangoimport.NewReport(&rep), o)
	return sum, reportLines(t, rep.Bytes()), err
}

// TestImportFromSQLiteIntoPostgres: the same Django data from a SQLite copy, into the
// production store; the same decisions.
func TestImportFromSQLiteIntoPostgres(t *testing.T) {
	pg := testenv.Postgres(t)
	users, qqs := seedRows(t)
	from := "sqlite://" + sqliteDjango(t, users, qqs)
	ctx := context.Background()
	db, err := store.Open(ctx, pg, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	preexisting(t, db)
	sum, lines, err := importInto(t, ctx, from, db, djangoimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "report", lines, wantReport)
	if sum.UsersImported != 11 || sum.UsersSkipped != 2 || sum.QQImported != 2 || sum.QQSkipped != 4 {
		t.Errorf("summary = %+v", sum)
	}
	alice, err := db.UserByLogin(ctx, account.ByUsername, "alice")
	if err != nil || !strings.HasPrefix(alice.PasswordHash, "pbkdf2_sha256$") || alice.CreatedAt.Format("2006-01-02 15:04:05") != "2021-03-04 05:06:07" {
		t.Errorf("alice = %+v, %v; want the Django hash and date_joined kept", alice, err)
	}
	id, u, err := db.IdentityByOpenID(ctx, "qq", config.DevQQAppID, qqs[0].openid)
	if err != nil || u.Username != "alice" || id.CreatedAt.Format("2006-01-02") != "2021-04-05" {
		t.Errorf("alice's QQ identity = %+v %q %v", id, u.Username, err)
	}
	again, _, err := importInto(t, ctx, from, db, djangoimport.Options{})
	if err != nil || again.UsersImported != 0 || again.UsersAlready != 11 || again.QQImported != 0 || again.QQAlready != 2 {
		t.Errorf("second import = %+v, %v; want everything found imported", again, err)
	}
}

// cancelAfter is a report sink that cancels the import's context once n lines are written:
// a crash in the middle of an import.
type cancelAfter struct {
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
	return len(p), nil
}

// TestImportResumes: an import stopped after its first batches leaves whole batches; run
// again, it imports the rest, and the store ends as one uninterrupted import leaves it.
func TestImportResumes(t *testing.T) {
	users, qqs := seedRows(t)
	from := "sqlite://" + sqliteDjango(t, users, qqs)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "renran.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	preexisting(t, db)

	ctx, cancel := context.WithCancel(context.Background())
	sink := &cancelAfter{cancel: cancel}
	sink.n.Store(3) // the third report line comes from the second batch of two rows
	src, err := djangoimport.OpenSource(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	first, err := djangoimport.Run(ctx, src, db, djangoimport.NewReport(sink), djangoimport.Options{QQAppID: config.DevQQAppID, BatchSize: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import = %+v, %v; want context.Canceled", first, err)
	}
	n, _, _ := db.Counts(context.Background())
	if n <= 1 || n >= 12 {
		t.Fatalf("after the interruption the store has %d users; want some of the 11 imported, not all", n)
	}
	sum, _, err := importInto(t, context.Background(), from, db, djangoimport.Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.UsersImported+sum.UsersAlready != 11 || sum.UsersAlready != n-1 || sum.QQImported != 2 {
		t.Errorf("resumed import = %+v; want the other %d users imported and both QQ bindings", sum, 12-n)
	}
	users2, ids, _ := db.Counts(context.Background())
	var maps int
	_ = db.SQL().QueryRow("SELECT COUNT(*) FROM django_users").Scan(&maps)
	if users2 != 12 || ids != 2 || maps != 11 {
		t.Errorf("after resuming: %d users, %d identities, %d mappings; want 12, 2, 11", users2, ids, maps)
	}
}

// TestImportRefusesBadSources: what an operator may get wrong is said, nothing written.
func TestImportRefusesBadSources(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "renran.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users, qqs := seedRows(t)
	from := "sqlite://" + sqliteDjango(t, users, qqs)
	tests := []struct {
		name string
		from string
		o    djangoimport.Options
		want string
	}{
		{"no such file", "/nonexistent/db.sqlite3", djangoimport.Options{}, "no SQLite file there"},
		{"no such table", from, djangoimport.Options{UsersTable: "auth_user"}, "no such table"},
		{"table name injection", from, djangoimport.Options{UsersTable: "rr_users; DROP TABLE users"}, "letters, digits and _ only"},
		{"no QQ app id", from, djangoimport.Options{QQAppID: "-"}, "--qq-app-id"},
		{"relative media URL", from, djangoimport.Options{MediaURL: "/media/"}, "--media-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := djangoimport.OpenSource(ctx, tt.from)
			if err == nil {
				defer src.Close()
				if tt.o.QQAppID == "-" {
					tt.o.QQAppID = ""
				}
				_, err = djangoimport.Run(ctx, src, db, djangoimport.NewReport(io.Discard), tt.o)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want one saying %q", err, tt.want)
			}
		})
	}
	if users, ids, _ := db.Counts(ctx); users != 0 || ids != 0 {
		t.Errorf("refused imports wrote %d users and %d identities; want nothing", users, ids)
	}
}
