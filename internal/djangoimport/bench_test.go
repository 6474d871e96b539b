package djangoimport_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/djangoimport"
	"github.com/renran/accounts/internal/store"
)

// BenchmarkImport100k imports 100,000 Django users, a third of them with a QQ binding,
// from a SQLite copy into a fresh embedded store per iteration, and reports rows/s and
// the process's peak resident memory during the import (VmHWM, reset before each one).
//
//	go test ./internal/djangoimport/ -run XXX -bench Import100k -benchtime 3x
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "db.sqlite3")
	makeBigDjango(b, path, n)
	ctx := context.Background()
	var peak int64
	i := 0
	for b.Loop() {
		b.StopTimer()
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("renran-%d.db", i)), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		src, err := djangoimport.OpenSource(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		resetPeakRSS()
		b.StartTimer()
		sum, err := djangoimport.Run(ctx, src, db, djangoimport.NewReport(io.Discard), djangoimport.Options{QQAppID: config.DevQQAppID})
		b.StopTimer()
		peak = max(peak, peakRSS())
		if err != nil || sum.UsersImported != n || sum.QQImported != n/3 {
			b.Fatalf("import = %+v, %v", sum, err)
		}
		src.Close()
		db.Close()
		i++
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
	if peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	}
}

// makeBigDjango writes n users (pbkdf2 hashes, mobiles, e-mails, nicknames; every tenth
// without a nickname) and a QQ binding for every third into a SQLite Django database.
func makeBigDjango(b *testing.B, path string, n int) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fillDjango(b, db, "sqlite", nil, nil)
	tx, _ := db.Begin()
	insU, _ := tx.Prepare("INSERT INTO rr_users (id, password, is_superuser, username, first_name, last_name, email, is_staff, " +
		"is_active, date_joined, mobile, avatar, nickname) VALUES (?, ?, 0, ?, '', '', ?, 0, 1, '2021-03-04 05:06:07.123456', ?, ?, ?)")
	insQ, _ := tx.Prepare("INSERT INTO rr_oauth_qq (id, orders, is_show, is_deleted, created_time, updated_time, qq_openid, " +
		"qq_access_token, qq_user_id) VALUES (?, 0, 1, 0, '2021-04-05 06:07:08', '2021-04-05 06:07:08', ?, '', ?)")
	hash := "pbkdf2_sha256$260000$RqRGSKclTIBA9QS7ExXfyg$fkvbBISKc7Cll5McN4UionFmZIxxNVNosR4fnZ4YLE8="
	for i := 1; i <= n; i++ {
		var nick any = "读者" + strconv.Itoa(i)
		if i%10 == 0 {
			nick = nil
		}
		if _, err := insU.Exec(i, hash, "reader"+strconv.Itoa(i), fmt.Sprintf("reader%d@example.com", i),
			fmt.Sprintf("138%08d", i), "avatar/"+strconv.Itoa(i)+".png", nick); err != nil {
			b.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := insQ.Exec(i, fmt.Sprintf("%032X", i), i); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// resetPeakRSS resets the kernel's peak resident set of this process (Linux ≥ 4.0).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in bytes, 0 where /proc does not say.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
