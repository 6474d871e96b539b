package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/store/storetest"
	"github.com/renran/accounts/internal/testenv"
)

func mustOpenSQLite(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "renran.db"), store.Options{})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustOpenPostgres(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), testenv.Postgres(t), store.Options{})
	if err != nil {
		t.Fatalf("Open(postgres): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// engines opens each engine's store for the tests that must hold on both.
var engines = []struct {
	name string
	open func(t *testing.T) *store.DB
}{
	{"SQLite", mustOpenSQLite},
	{"Postgres", mustOpenPostgres},
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpenSQLite(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpenPostgres(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			ctx := context.Background()
			v1, err := db.Version(ctx)
			if err != nil || v1 < 2 {
				t.Fatalf("Version = %d, %v; want ≥ 2", v1, err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if v2, _ := db.Version(ctx); v2 != v1 {
				t.Errorf("Version after second Migrate = %d, want %d", v2, v1)
			}
		})
	}
}

// TestConcurrentMigrations starts ten stores on one empty database at once, as ten
// instances starting together would: all must open, and each migration must be recorded
// once.
func TestConcurrentMigrations(t *testing.T) {
	dsns := map[string]string{
		"SQLite":   filepath.Join(t.TempDir(), "renran.db"),
		"Postgres": "",
	}
	for _, name := range []string{"SQLite", "Postgres"} {
		t.Run(name, func(t *testing.T) {
			dsn := dsns[name]
			if dsn == "" {
				dsn = testenv.Postgres(t)
			}
			var wg sync.WaitGroup
			dbs := make([]*store.DB, 10)
			errs := make([]error, 10)
			for i := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					dbs[i], errs[i] = store.Open(context.Background(), dsn, store.Options{})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("instance %d: Open: %v", i, err)
				}
				defer dbs[i].Close()
			}
			var rows, distinct int
			if err := dbs[0].SQL().QueryRow("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&rows, &distinct); err != nil {
				t.Fatal(err)
			}
			if rows != distinct || rows < 2 {
				t.Errorf("schema_migrations has %d rows for %d versions; want one row per version", rows, distinct)
			}
		})
	}
}

func TestRevokedTokens(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			ctx := context.Background()
			u, err := db.CreateUser(ctx, storetest.NewUser())
			if err != nil {
				t.Fatal(err)
			}
			if _, revoked, err := db.UserForToken(ctx, u.ID, "jti-1"); err != nil || revoked {
				t.Fatalf("UserForToken before revoke = %v, %v; want false, nil", revoked, err)
			}
			now := time.Now()
			for range 2 { // revoking twice is not an error
				if err := db.RevokeToken(ctx, "jti-1", u.ID, now.Add(time.Hour)); err != nil {
					t.Fatalf("RevokeToken: %v", err)
				}
			}
			_ = db.RevokeToken(ctx, "jti-old", u.ID, now.Add(-time.Minute))
			got, revoked, err := db.UserForToken(ctx, u.ID, "jti-1")
			if err != nil || !revoked || got.ID != u.ID {
				t.Fatalf("UserForToken after revoke = %d, %v, %v; want %d, true", got.ID, revoked, err, u.ID)
			}
			if _, _, err := db.UserForToken(ctx, u.ID+999, "jti-1"); !errors.Is(err, account.ErrNoRows) {
				t.Errorf("UserForToken(missing user) = %v, want ErrNoRows", err)
			}
			if n, err := db.PurgeRevoked(ctx, now); err != nil || n != 1 {
				t.Errorf("PurgeRevoked = %d, %v; want 1 (only the expired one)", n, err)
			}
			if _, revoked, _ := db.UserForToken(ctx, u.ID, "jti-1"); !revoked {
				t.Errorf("a live revocation was purged")
			}
		})
	}
}

// TestUnreachableIsUnavailable: a database that cannot be reached fails with
// account.ErrStorageDown (a 503), a bad statement does not.
func TestUnreachableIsUnavailable(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, "postgres://nobody@127.0.0.1:1/x?connect_timeout=1", store.Options{}); err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	db := mustOpenSQLite(t)
	ctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := db.UserByID(ctx, 1); err == nil {
		t.Fatal("UserByID with an expired context succeeded")
	}
	if _, err := db.UserByID(context.Background(), 1); account.IsUnavailable(err) || !errors.Is(err, account.ErrNoRows) {
		t.Errorf("missing row = %v, want ErrNoRows and not unavailable", err)
	}
}

// TestMigrationsAlign checks that both engines have migration folders holding the same
// migration numbers, so the same number means the same change on every engine.
func TestMigrationsAlign(t *testing.T) {
	nums := func(engine string) string {
		files, err := os.ReadDir(filepath.Join("migrations", engine))
		if err != nil {
			t.Fatalf("migrations/%s: %v", engine, err)
		}
		var out []string
		for _, f := range files {
			num, _, _ := strings.Cut(f.Name(), "_")
			out = append(out, num)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	sqlite, pg := nums("sqlite"), nums("postgres")
	if sqlite == "" || sqlite != pg {
		t.Errorf("migrations/sqlite has %q, migrations/postgres has %q; want the same, non-empty", sqlite, pg)
	}
	dirs, _ := os.ReadDir("migrations")
	for _, d := range dirs {
		if n := d.Name(); n != "sqlite" && n != "postgres" {
			t.Errorf("migrations/%s: no engine of that name", n)
		}
	}
}

// TestIDsNeverReused: deleting the newest user does not hand its id to the next one
// (issue 14; SQLite without AUTOINCREMENT did), on both engines.
func TestIDsNeverReused(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			ctx := context.Background()
			u1, err := db.CreateUser(ctx, storetest.NewUser())
			if err != nil {
				t.Fatal(err)
			}
			u2, _, err := db.CreateUserWithIdentity(ctx, storetest.NewUser(), storetest.NewIdentity())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.SQL().ExecContext(ctx, "DELETE FROM users WHERE id = "+strconv.FormatInt(u2.ID, 10)); err != nil {
				t.Fatal(err)
			}
			if ids, err := db.IdentitiesByUser(ctx, u2.ID); err != nil || len(ids) != 0 {
				t.Errorf("identities of the deleted user = %v, %v; want none (cascade)", ids, err)
			}
			u3, err := db.CreateUser(ctx, storetest.NewUser())
			if err != nil {
				t.Fatal(err)
			}
			if u3.ID <= u2.ID || u2.ID <= u1.ID {
				t.Errorf("ids %d, %d (deleted), then %d; want the next id past every id given", u1.ID, u2.ID, u3.ID)
			}
		})
	}
}

// TestSQLiteUpgradeKeepsRowsAndIDs upgrades a database made by migrations 0001 and 0002
// (users without AUTOINCREMENT) to the rebuilt tables of 0003: every row and every
// identity survives the rebuild (foreign keys are off during it, so nothing cascades),
// foreign keys are on again afterwards, and the next id is past the ids that the audit
// trail still names, so a user deleted before the upgrade does not come back either.
func TestSQLiteUpgradeKeepsRowsAndIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"0001_initial.sql", "0002_revoked_tokens.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", "sqlite", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '0001_initial', 1), (2, '0002_revoked_tokens', 2)`,
		`INSERT INTO users (id, username, mobile, nickname, created_at, updated_at) VALUES (1, 'a', '13900000001', 'A', 1, 1), (2, 'b', '13900000002', 'B', 1, 1), (3, 'c', NULL, 'C', 1, 1)`,
		`INSERT INTO oauth_identities (provider, app_id, openid, user_id, created_at, updated_at) VALUES ('qq', '101', 'OPENID2', 2, 1, 1)`,
		`INSERT INTO audit_events (user_id, event, created_at) VALUES (4, 'registered', 1), (4, 'deleted', 2)`, // user 4 is gone
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("OpenSQLite on a version-2 database: %v", err)
	}
	defer db.Close()
	if v, _ := db.Version(ctx); v < 3 {
		t.Fatalf("Version = %d, want ≥ 3", v)
	}
	var users, idents, fk int
	_ = db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&users)
	_ = db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM oauth_identities WHERE user_id = 2").Scan(&idents)
	_ = db.SQL().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk)
	if users != 3 || idents != 1 || fk != 1 {
		t.Errorf("after the upgrade: %d users, %d identities of user 2, foreign_keys=%d; want 3, 1, 1", users, idents, fk)
	}
	u, err := db.CreateUser(ctx, storetest.NewUser())
	if err != nil || u.ID != 5 {
		t.Errorf("first user after the upgrade = %d, %v; want id 5 (4 was given before)", u.ID, err)
	}
	if u, err := db.UserByID(ctx, 2); err != nil || u.Username != "b" {
		t.Errorf("user 2 after the upgrade = %+v, %v", u, err)
	}
}

// TestAuditInTheChangesTransaction: a change's audit events are written with it, and a
// change that fails leaves none.
func TestAuditInTheChangesTransaction(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			ctx := context.Background()
			now := time.Now()
			u, err := db.CreateUser(ctx, storetest.NewUser(), account.AuditEvent{Event: account.EventRegister, IP: "192.0.2.1", At: now})
			if err != nil {
				t.Fatal(err)
			}
			id := storetest.NewIdentity()
			id.UserID = u.ID
			if _, err := db.BindIdentity(ctx, id, account.AuditEvent{UserID: u.ID, Event: account.EventQQBind, At: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.BindIdentity(ctx, id, account.AuditEvent{UserID: u.ID, Event: "should_not_exist", At: now}); err == nil {
				t.Fatal("the same identity bound twice")
			}
			if _, err := db.BumpTokenVersion(ctx, u.ID, account.AuditEvent{Event: account.EventLogoutAll, At: now}); err != nil {
				t.Fatal(err)
			}
			if err := db.RevokeToken(ctx, "jti-a", u.ID, now.Add(time.Hour), account.AuditEvent{Event: account.EventLogout, At: now}); err != nil {
				t.Fatal(err)
			}
			events, err := db.AuditEvents(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range events {
				got = append(got, ev.Event)
			}
			if strings.Join(got, " ") != "register qq_bind logout_all logout" {
				t.Errorf("audit events = %v; want register qq_bind logout_all logout (none for the failed bind)", got)
			}
		})
	}
}

// TestOpenErrorsNameThePath: a SQLite database that cannot be opened says which file and
// why (before: "unable to open database file (14)" and nothing else).
func TestOpenErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "renran.db")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a database\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"a folder where the file should be", folder, folder + " is a folder"},
		{"a file where the folder should be", filepath.Join(file, "renran.db"), "create the data folder " + file},
		{"not a database", file, file},
	}
	for _, tt := range tests {
		_, err := store.OpenSQLite(context.Background(), tt.path, store.Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: OpenSQLite error = %v; want it to say %q", tt.name, err, tt.want)
		}
	}
}

// TestInspect reads the schema version without migrating: a migrated database is at the
// latest version, a missing SQLite file is reported as such (and not created).
func TestInspect(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "renran.db")
	if s, err := store.Inspect(ctx, path); err != nil || !s.Missing {
		t.Fatalf("Inspect(missing file) = %+v, %v", s, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("Inspect created the file")
	}
	db, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := store.Inspect(ctx, path); err != nil || s.Version != s.Latest || s.Latest < 4 {
		t.Errorf("Inspect(migrated SQLite) = %+v, %v", s, err)
	}
	if os.Getenv("RENRAN_TEST_POSTGRES_URL") != "" {
		url := testenv.Postgres(t)
		if s, err := store.Inspect(ctx, url); err != nil || s.Version != 0 {
			t.Errorf("Inspect(empty PostgreSQL) = %+v, %v; want version 0", s, err)
		}
		pg, err := store.Open(ctx, url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pg.Close()
		if s, err := store.Inspect(ctx, url); err != nil || s.Version != s.Latest {
			t.Errorf("Inspect(migrated PostgreSQL) = %+v, %v", s, err)
		}
	}
}

// TestSQLiteCheckpointsInBackground: the writer does not checkpoint the WAL at its commits
// (wal_autocheckpoint(0)); the background checkpointer copies the WAL into the database
// file while the store is open, so the file grows without a Close.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "renran.db")
	db, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var autocheckpoint int
	if err := db.SQL().QueryRow("PRAGMA wal_autocheckpoint").Scan(&autocheckpoint); err != nil || autocheckpoint != 0 {
		t.Fatalf("the writer's wal_autocheckpoint = %d, %v; want 0 (the checkpointer does it)", autocheckpoint, err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	ctx := context.Background()
	for range 300 { // about 300 KiB of pages: far more than the empty schema
		u := storetest.NewUser()
		u.Avatar = strings.Repeat("a", 1000)
		if _, err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); size() <= before; {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes for 10 s after 300 commits: nothing checkpointed the WAL", before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
