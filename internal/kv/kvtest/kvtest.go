// Package kvtest is the conformance suite every short-lived store must pass.
package kvtest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Store is what the suite exercises (the same methods as account.KV).
type Store interface {
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Take(ctx context.Context, key string) ([]byte, bool, error)
	Delete(ctx context.Context, key string) error
	Incr(ctx context.Context, key string, window time.Duration) (int64, error)
	Decr(ctx context.Context, key string) error
	TTL(ctx context.Context, key string) (time.Duration, error)
	Ping(ctx context.Context) error
}

// Run runs the suite. open returns a fresh store and a prefix for this run's keys.
func Run(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	key := func(t *testing.T, k string) string { return "kvtest:" + t.Name() + ":" + k }

	t.Run("SetGet", func(t *testing.T) {
		s := open(t)
		if err := s.Set(ctx, key(t, "a"), []byte("1"), time.Minute); err != nil {
			t.Fatalf("Set: %v", err)
		}
		v, ok, err := s.Get(ctx, key(t, "a"))
		if err != nil || !ok || string(v) != "1" {
			t.Fatalf("Get = %q, %v, %v; want \"1\", true, nil", v, ok, err)
		}
		if _, ok, _ := s.Get(ctx, key(t, "missing")); ok {
			t.Fatalf("Get(missing) found a value")
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		s := open(t)
		_ = s.Set(ctx, key(t, "a"), []byte("1"), 50*time.Millisecond)
		time.Sleep(120 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, key(t, "a")); ok {
			t.Fatalf("Get after ttl found the value")
		}
		if _, ok, _ := s.Take(ctx, key(t, "a")); ok {
			t.Fatalf("Take after ttl found the value")
		}
	})
	t.Run("SetNX", func(t *testing.T) {
		s := open(t)
		ok, err := s.SetNX(ctx, key(t, "a"), []byte("1"), time.Minute)
		if err != nil || !ok {
			t.Fatalf("first SetNX = %v, %v; want true", ok, err)
		}
		ok, _ = s.SetNX(ctx, key(t, "a"), []byte("2"), time.Minute)
		if ok {
			t.Fatalf("second SetNX = true, want false")
		}
		v, _, _ := s.Get(ctx, key(t, "a"))
		if string(v) != "1" {
			t.Fatalf("value = %q, want the first one", v)
		}
		if d, _ := s.TTL(ctx, key(t, "a")); d <= 0 || d > time.Minute {
			t.Fatalf("TTL = %v, want within (0, 1m]", d)
		}
	})
	t.Run("TakeOnceConcurrently", func(t *testing.T) {
		s := open(t)
		_ = s.Set(ctx, key(t, "a"), []byte("x"), time.Minute)
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if v, ok, _ := s.Take(ctx, key(t, "a")); ok && string(v) == "x" {
					wins.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d takers got the value, want exactly 1", wins.Load())
		}
	})
	t.Run("IncrWindow", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = s.Incr(ctx, key(t, "c"), time.Minute) }()
		}
		wg.Wait()
		n, err := s.Incr(ctx, key(t, "c"), time.Minute)
		if err != nil || n != 21 {
			t.Fatalf("Incr after 20 = %d, %v; want 21", n, err)
		}
		_, _ = s.Incr(ctx, key(t, "short"), 50*time.Millisecond)
		time.Sleep(120 * time.Millisecond)
		if n, _ := s.Incr(ctx, key(t, "short"), time.Minute); n != 1 {
			t.Fatalf("Incr after window = %d, want 1 (a new window)", n)
		}
	})
	t.Run("Decr", func(t *testing.T) {
		s := open(t)
		for range 3 {
			_, _ = s.Incr(ctx, key(t, "c"), time.Minute)
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Decr(ctx, key(t, "c")) }()
		}
		wg.Wait()
		if n, err := s.Incr(ctx, key(t, "c"), time.Minute); err != nil || n != 2 {
			t.Fatalf("3 Incr, 2 Decr, 1 Incr = %d, %v; want 2", n, err)
		}
		if d, _ := s.TTL(ctx, key(t, "c")); d <= 0 || d > time.Minute {
			t.Fatalf("Decr changed the window: TTL %v", d)
		}
		// Decr never makes a counter that was not there, nor goes below zero.
		if err := s.Decr(ctx, key(t, "none")); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, key(t, "none")); ok {
			t.Fatal("Decr of a missing counter created it")
		}
		_, _ = s.Incr(ctx, key(t, "one"), time.Minute)
		_ = s.Decr(ctx, key(t, "one"))
		_ = s.Decr(ctx, key(t, "one"))
		if n, _ := s.Incr(ctx, key(t, "one"), time.Minute); n != 1 {
			t.Fatalf("a counter decremented below zero: next Incr = %d, want 1", n)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		_ = s.Set(ctx, key(t, "a"), []byte(strconv.Itoa(1)), time.Minute)
		_ = s.Delete(ctx, key(t, "a"))
		if _, ok, _ := s.Get(ctx, key(t, "a")); ok {
			t.Fatalf("Get after Delete found the value")
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}
