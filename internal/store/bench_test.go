package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/store/storetest"
	"github.com/renran/accounts/internal/testenv"
)

// openBench opens a store of the engine ("SQLite" or "Postgres") for b, closed after it.
func openBench(b *testing.B, engine string) *store.DB {
	ctx := context.Background()
	var db *store.DB
	var err error
	if engine == "SQLite" {
		db, err = store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "b.db"), store.Options{})
	} else {
		db, err = store.Open(ctx, testenv.Postgres(b), store.Options{})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkHotReads measures the reads on the login and authenticated paths, on both
// engines, each call for another user (64 of them), as a loaded service sees them: a
// benchmark that asks for one user again and again hides the cost SQLite pays when a new
// value is bound to a statement whose plan may depend on it (see store.go, "hot reads").
func BenchmarkHotReads(b *testing.B) {
	for _, engine := range []string{"SQLite", "Postgres"} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			db := openBench(b, engine)
			now := time.Now()
			type row struct {
				u   account.User
				id  account.Identity
				sid string
			}
			var rows []row
			for i := range 64 {
				u, err := db.CreateUser(ctx, storetest.NewUser())
				if err != nil {
					b.Fatal(err)
				}
				id := storetest.NewIdentity()
				id.UserID = u.ID
				if id, err = db.BindIdentity(ctx, id); err != nil {
					b.Fatal(err)
				}
				sid := fmt.Sprintf("bench-%d-%d", now.UnixNano(), i)
				if err := db.CreateSession(ctx, account.SessionRecord{ID: sid, UserID: u.ID, Method: "password", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, []byte(sid)); err != nil {
					b.Fatal(err)
				}
				rows = append(rows, row{u, id, sid})
			}
			for _, tt := range []struct {
				name string
				read func(r row) error
			}{
				{"UserForSession", func(r row) error { _, _, err := db.UserForSession(ctx, r.u.ID, r.sid, now); return err }},
				{"IdentitiesByUser", func(r row) error { _, err := db.IdentitiesByUser(ctx, r.u.ID); return err }},
				{"IdentityByOpenID", func(r row) error {
					_, _, err := db.IdentityByOpenID(ctx, r.id.Provider, r.id.AppID, r.id.OpenID)
					return err
				}},
				{"UserByLogin", func(r row) error { _, err := db.UserByLogin(ctx, account.ByUsername, r.u.Username); return err }},
			} {
				b.Run(tt.name, func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if err := tt.read(rows[i%len(rows)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
		})
	}
}

// BenchmarkHotWrites measures the writes of a login and of a refresh on both engines:
// CreateSession (alone, then from many goroutines, as the group commit sees a burst) and
// RotateRefresh (a transaction of a read and three writes).
func BenchmarkHotWrites(b *testing.B) {
	for _, engine := range []string{"SQLite", "Postgres"} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			db := openBench(b, engine)
			u, err := db.CreateUser(ctx, storetest.NewUser())
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			var n atomic.Int64
			session := func() (string, error) {
				sid := fmt.Sprintf("w-%d-%d", now.UnixNano(), n.Add(1))
				return sid, db.CreateSession(ctx, account.SessionRecord{ID: sid, UserID: u.ID, Method: "qq", IP: "127.0.0.1",
					UserAgent: "bench", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, []byte(sid))
			}
			b.Run("CreateSession", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := session(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("CreateSessionParallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := session(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("JournalBatch50", func(b *testing.B) {
				// What the journal writes every 20 ms under ~2,500 QQ logins a second: 50
				// audit events and 50 identities' fresh tokens.
				u, err := db.CreateUser(ctx, storetest.NewUser()) // a user of its own: b.Run may run this again
				if err != nil {
					b.Fatal(err)
				}
				var events []account.AuditEvent
				var ids []account.Identity
				for i := range 50 {
					events = append(events, account.AuditEvent{UserID: u.ID, Event: account.EventQQLogin, IP: "127.0.0.1", UserAgent: "bench", At: now})
					id := storetest.NewIdentity()
					id.UserID = u.ID
					id.AppID = fmt.Sprint("app-", i)
					if _, err := db.BindIdentity(ctx, id); err != nil {
						b.Fatal(err)
					}
					id.AccessToken, id.UpdatedAt = []byte("sealed-token"), now
					ids = append(ids, id)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := db.AppendAudit(ctx, events); err != nil {
						b.Fatal(err)
					}
					if err := db.UpdateIdentityTokens(ctx, ids); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("RotateRefresh", func(b *testing.B) {
				sid, err := session()
				if err != nil {
					b.Fatal(err)
				}
				exp := func(account.SessionRecord) time.Time { return now.Add(time.Hour) }
				old := []byte(sid)
				b.ReportAllocs()
				for b.Loop() {
					next := []byte(fmt.Sprintf("%s-%d", sid, n.Add(1)))
					if _, _, out, err := db.RotateRefresh(ctx, old, next, now, 30*time.Second, exp, account.AuditEvent{}); err != nil || out != account.RefreshRotated {
						b.Fatal(out, err)
					}
					old = next
				}
			})
		})
	}
}
