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
		{"8 CJK characters", "荏苒岁月光阴似箭", nil, nil},
		{"the site's name twice", "荏苒资讯荏苒资讯", nil, ErrCommon},
		{"129 characters", strings.Repeat("x", 129), nil, ErrTooLong},
		{"128 characters", strings.Repeat("xyzw", 31) + "abcd", nil, nil},
		{"common", "12345678", nil, ErrCommon},
		{"common, other case", "PassWord1", nil, ErrCommon},
		{"equals mobile", "13912345678", []string{"13912345678"}, ErrPersonal},
		{"64-char unicode passphrase", "月光🌙 照在 床前 " + strings.Repeat("明月光", 2) + "疑是地上霜 举头望明月 低头思故乡 静夜思 李白 唐诗三百首 第一首", nil, nil},
		{"invalid UTF-8", "abc\xffdefgh", nil, ErrInvalid},
		{"NFD counted as NFC", "cafe\u0301", nil, ErrTooShort}, // 5 code points, 4 characters
		{"mobile in NFD personal", "e\u0301tudiant1", []string{"\u00e9tudiant1"}, ErrPersonal},
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

// TestCommonPasswords: passwords from the big Chinese leaks and the site's own name are
// refused (issue 14: 16 of 80 such passwords passed), and so are the shapes no list
// spells out; ordinary passphrases pass.
func TestCommonPasswords(t *testing.T) {
	leaked := strings.Fields(`dearbook qqqqqqqq 1234qwer 1314520520 woaini1314 woaini520 5201314520 xiazhili
		123456789 12345678 11111111 00000000 123123123 1234567890 88888888 111111111 147258369 987654321
		aaaaaaaa 1111111111 66666666 a123456789 11223344 1qaz2wsx 789456123 password 87654321 000000000
		qwertyuiop qq123456 iloveyou 31415926 12344321 0000000000 asdfghjkl 1q2w3e4r 123456abc 0123456789
		123654789 12121212 qazwsxedc abcd1234 12341234 110110110 asdasdasd 123456aa 22222222 123321123
		abc123456 a12345678 123456123 a1234567 qwe123456 123qweasd zxcvbnm123 520520520 147852369
		woaiwojia woshishui wang123456 zhang123456 li123456 chen123456 liu123456 aa123456 5201314a
		iloveyou520 woaini1314520 qweasdzxc 1qazxsw2 zaq12wsx p@ssw0rd passw0rd admin123 administrator
		renran123 renran2024 renranzixun renran520 Renran1314 wodemima mima1234 zhimakaimen 19900101 20001231
		abcdefgh hgfedcba 13145201314 7758521521 nihao123 baobei520 laopo520 shanghai1 beijing2008`)
	for _, pw := range leaked {
		if err := Check(pw); !errors.Is(err, ErrCommon) {
			t.Errorf("Check(%q) = %v, want ErrCommon", pw, err)
		}
	}
	if len(common) < 3000 {
		t.Errorf("the list has %d passwords; want a few thousand", len(common))
	}
	for _, pw := range []string{"correct horse battery", "月光照在床前明月光", "tX9#kLm2vQ", "渡口的船 2019 秋", "19901340", "qwe rty uiop zz"} {
		if err := Check(pw); err != nil {
			t.Errorf("Check(%q) = %v, want nil", pw, err)
		}
	}
}

// TestNFC: the same password in NFC and NFD is one password, and a hash made from the
// NFD bytes before normalisation still verifies, asking to be rehashed (the upgrade path).
func TestNFC(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 2)
	ctx := context.Background()
	nfc, nfd := "caf\u00e9 au lait", "cafe\u0301 au lait"
	phc, _ := h.Hash(ctx, nfd)
	for _, pw := range []string{nfc, nfd} {
		if ok, rehash, err := h.Verify(ctx, phc, pw); !ok || rehash || err != nil {
			t.Errorf("Verify(hash of NFD, %+q) = %v, %v, %v; want a match, no rehash", pw, ok, rehash, err)
		}
	}
	// A hash of the raw NFD bytes, as Hash made it before normalising.
	old := h.hash(nfd)
	if ok, rehash, _ := h.Verify(ctx, old, nfd); !ok || !rehash {
		t.Errorf("Verify(old raw hash, NFD) = %v, rehash %v; want a match that asks for a rehash", ok, rehash)
	}
	if ok, _, _ := h.Verify(ctx, old, "cafe au lait"); ok {
		t.Error("a different password matched")
	}
}
