package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/renran/accounts/internal/store"
	"github.com/renran/accounts/internal/store/storetest"
)

func mustOpenSQLite(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "renran.db"))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpenSQLite(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	db := mustOpenSQLite(t)
	ctx := context.Background()
	v1, err := db.Version(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("Version = %d, %v; want ≥ 1", v1, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if v2, _ := db.Version(ctx); v2 != v1 {
		t.Errorf("Version after second Migrate = %d, want %d", v2, v1)
	}
}

// TestMigrationsAlign checks that every dialect folder holds the same migration numbers,
// so the same number means the same change on every engine.
func TestMigrationsAlign(t *testing.T) {
	dirs, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, d := range dirs {
		files, _ := os.ReadDir(filepath.Join("migrations", d.Name()))
		var nums []string
		for _, f := range files {
			num, _, _ := strings.Cut(f.Name(), "_")
			nums = append(nums, num)
		}
		sort.Strings(nums)
		got := strings.Join(nums, ",")
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("migrations/%s has %s, want %s", d.Name(), got, want)
		}
	}
}
