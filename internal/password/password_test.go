package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var fast = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fast, 2)
	ctx := context.Background()
	pw := "我的 密码 is long 🔐 and spaced"
	phc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("Hash = %q, want a PHC argon2id string", phc)
	}
	for _, tc := range []struct {
		name, phc, pw string
		want          bool
	}{
		{"right", phc, pw, true},
		{"wrong", phc, pw + "x", false},
		{"case folded", phc, strings.ToUpper(pw), false},
		{"truncated", phc, pw[:10], false},
		{"no hash (unknown account)", "", pw, false},
	} {
		ok, _, err := h.Verify(ctx, tc.phc, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%s) = %v, %v; want %v", tc.name, ok, err, tc.want)
		}
	}
	if _, _, err := h.Verify(ctx, "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", pw); !errors.Is(err, ErrBadHash) {
		t.Errorf("Verify(absurd params) error = %v, want ErrBadHash", err)
	}
	_, rehash, _ := NewHasher(DefaultParams, 1).Verify(ctx, phc, pw)
	if !rehash {
		t.Error("Verify with other parameters did not ask for a rehash")
	}
}

// TestConcurrencyIsBounded: a burst of hashes queues behind the limit instead of running
// all at once (each costs Params.Memory).
func TestConcurrencyIsBounded(t *testing.T) {
	h := NewHasher(fast, 2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			h.release()
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Errorf("peak concurrent hashes = %d, want ≤ 2", peak.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	if _, err := h.Hash(ctx, "x"); err == nil {
		t.Error("Hash with a cancelled context and no free slot succeeded")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		pw       string
		personal []string
		want     error
	}{
		{"7 characters", "abcdefg", nil, ErrTooShort},
		{"8 CJK characters", "荏苒资讯荏苒资讯", nil, nil},
		{"129 characters", strings.Repeat("x", 129), nil, ErrTooLong},
		{"128 characters", strings.Repeat("xy", 64), nil, nil},
		{"common", "12345678", nil, ErrCommon},
		{"common, other case", "PassWord1", nil, ErrCommon},
		{"equals mobile", "13912345678", []string{"13912345678"}, ErrPersonal},
		{"64-char unicode passphrase", strings.Repeat("月光🌙 ", 16), nil, nil},
		{"invalid UTF-8", "abc\xffdefgh", nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.pw, tt.personal...); !errors.Is(got, tt.want) && got != tt.want {
				t.Errorf("Check(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

// BenchmarkHashDefault measures one hash with the production parameters.
func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams, 1)
	for i := 0; i < b.N; i++ {
		_, _ = h.Hash(context.Background(), "correct horse battery staple")
	}
}
