package kv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/kv"
	"github.com/renran/accounts/internal/kv/kvtest"
	"github.com/renran/accounts/internal/testenv"
)

func openRedis(t *testing.T) *kv.Redis {
	t.Helper()
	u, prefix := testenv.Redis(t)
	r, err := kv.OpenRedis(context.Background(), u, prefix)
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedis(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kvtest.Store { return openRedis(t) })
}

// TestRedisPrefix: two sites sharing a Redis with different prefixes do not see each
// other's keys.
func TestRedisPrefix(t *testing.T) {
	a := openRedis(t)
	u, prefix := testenv.Redis(t)
	b, err := kv.OpenRedis(context.Background(), u, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	_ = a.Set(ctx, "k", []byte("a"), time.Minute)
	if _, ok, _ := b.Get(ctx, "k"); ok {
		t.Fatal("a key of one prefix is visible under another")
	}
	if n, _ := a.Client().Exists(ctx, prefix+"k").Result(); n != 0 {
		t.Fatal("b's prefix holds a's key")
	}
}

// TestRedisDown: with Redis unreachable every operation fails with ErrStorageDown; none
// pretends the key is absent.
func TestRedisDown(t *testing.T) {
	if _, err := kv.OpenRedis(context.Background(), "redis://127.0.0.1:1/0", ""); err == nil {
		t.Fatal("OpenRedis on a closed port succeeded")
	}
	r := openRedis(t)
	r.Client().Options().Addr = "127.0.0.1:1" // new connections go nowhere
	_ = r.Client().Close()
	ctx := context.Background()
	_, _, err := r.Get(ctx, "k")
	if !account.IsUnavailable(err) {
		t.Errorf("Get on a closed client = %v, want ErrStorageDown", err)
	}
	if _, err := r.Incr(ctx, "k", time.Minute); !account.IsUnavailable(err) || errors.Is(err, nil) {
		t.Errorf("Incr on a closed client = %v, want ErrStorageDown", err)
	}
}
