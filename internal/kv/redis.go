package kv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/renran/accounts/internal/account"
)

// Redis defaults, each overridable in the URL (dial_timeout=…, read_timeout=…,
// pool_size=…; see go-redis ParseURL).
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = time.Second
	// DefaultPrefix starts every key the service writes, so one Redis can serve several
	// sites (give each its own RENRAN_REDIS_PREFIX) and an operator can see what is ours.
	DefaultPrefix = "renran:"
)

// Redis is the short-lived store shared by every instance. Each operation is one
// server-side atomic command (SET … PX, SET … NX PX, GETDEL, a Lua INCR that sets the
// window's expiry with the first hit), so no read-then-write races between instances.
// Every error other than "no such key" wraps account.ErrStorageDown: the caller refuses
// the request (503) rather than skip the check the record was for.
type Redis struct {
	c      *redis.Client
	prefix string
}

// incrScript counts one hit and starts the window with the first; a key that somehow has
// no expiry (a crash between INCR and PEXPIRE cannot happen inside a script, but an
// operator's SET might) gets one too, so no counter lives for ever.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// OpenRedis connects to the Redis at url (redis:// or rediss://) and checks that it
// answers. Keys are prefixed with prefix ("" means DefaultPrefix).
func OpenRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("kv: RENRAN_REDIS_URL: %w", err)
	}
	if opt.DialTimeout == 5*time.Second { // go-redis's default: shorter, so an outage answers 503 fast
		opt.DialTimeout = redisDialTimeout
	}
	if opt.ReadTimeout == 3*time.Second {
		opt.ReadTimeout = redisIOTimeout
	}
	if opt.WriteTimeout == opt.ReadTimeout || opt.WriteTimeout == 3*time.Second {
		opt.WriteTimeout = redisIOTimeout
	}
	if opt.MaxRetries == 3 { // retried commands multiply the wait during an outage
		opt.MaxRetries = 1
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	r := &Redis{c: redis.NewClient(opt), prefix: prefix}
	if err := r.Ping(ctx); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("kv: connect to Redis at %s: %w", opt.Addr, err)
	}
	return r, nil
}

// Client is the underlying client, for pool metrics and tests.
func (r *Redis) Client() *redis.Client { return r.c }

// Close closes the connection pool.
func (r *Redis) Close() error { return r.c.Close() }

func (r *Redis) k(key string) string { return r.prefix + key }

func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kv: redis %s: %w: %w", op, account.ErrStorageDown, err)
}

// Set stores val under key for ttl.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return fail("set", r.c.Set(ctx, r.k(key), val, ttl).Err())
}

// SetNX stores val under key for ttl unless a value is there, and reports whether it did.
func (r *Redis) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	err := r.c.SetArgs(ctx, r.k(key), val, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fail("set nx", err)
	}
	return true, nil
}

// Get returns the value under key.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.c.Get(ctx, r.k(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fail("get", err)
	}
	return v, true, nil
}

// Take returns the value under key and deletes it in one command (GETDEL): of several
// takers on any instances, exactly one gets it.
func (r *Redis) Take(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.c.GetDel(ctx, r.k(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fail("getdel", err)
	}
	return v, true, nil
}

// Delete removes key.
func (r *Redis) Delete(ctx context.Context, key string) error {
	return fail("del", r.c.Del(ctx, r.k(key)).Err())
}

// Incr adds one to the counter under key and returns the new count; the first hit starts
// a fixed window of length window.
func (r *Redis) Incr(ctx context.Context, key string, window time.Duration) (int64, error) {
	n, err := incrScript.Run(ctx, r.c, []string{r.k(key)}, window.Milliseconds()).Int64()
	if err != nil {
		return 0, fail("incr", err)
	}
	return n, nil
}

// decrScript takes one back from an existing counter, not below zero, keeping its expiry.
var decrScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]))
if n and n > 0 then redis.call('DECR', KEYS[1]) end
return 0`)

// Decr takes one back from a live counter (a reservation that was settled), never below
// zero and without touching its window; a missing counter stays missing.
func (r *Redis) Decr(ctx context.Context, key string) error {
	if err := decrScript.Run(ctx, r.c, []string{r.k(key)}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fail("decr", err)
	}
	return nil
}

// TTL returns how long key still lives, or 0 when it does not.
func (r *Redis) TTL(ctx context.Context, key string) (time.Duration, error) {
	d, err := r.c.PTTL(ctx, r.k(key)).Result()
	if err != nil {
		return 0, fail("pttl", err)
	}
	if d < 0 { // -2: no key; -1: no expiry
		return 0, nil
	}
	return d, nil
}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	return fail("ping", r.c.Ping(ctx).Err())
}
