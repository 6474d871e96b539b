// Package kv holds short-lived records and counters with a time to live: OAuth states,
// pending QQ identities, SMS codes, rate counters, revoked-token marks. NewMemory keeps them
// in the process (the embedded default); a Redis implementation will satisfy the same
// kvtest suite. Imports: the standard library (and go-redis, for Redis).
package kv

import (
	"context"
	"hash/maphash"
	"strconv"
	"sync"
	"time"
)

const shards = 64

// Memory is an in-process store. It is safe for concurrent use; every operation on one
// key is atomic.
type Memory struct {
	seed   maphash.Seed
	shards [shards]shard
	now    func() time.Time
	stop   chan struct{}
	once   sync.Once
}

type shard struct {
	mu sync.Mutex
	m  map[string]entry
}

type entry struct {
	val     []byte
	expires time.Time
}

// NewMemory returns an in-process store that sweeps expired entries every minute until
// Close. now may be nil.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{seed: maphash.MakeSeed(), now: now, stop: make(chan struct{})}
	for i := range m.shards {
		m.shards[i].m = make(map[string]entry)
	}
	go m.sweeper(time.Minute)
	return m
}

// Close stops the sweeper.
func (m *Memory) Close() error {
	m.once.Do(func() { close(m.stop) })
	return nil
}

func (m *Memory) sweeper(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			now := m.now()
			for i := range m.shards {
				s := &m.shards[i]
				s.mu.Lock()
				for k, e := range s.m {
					if !now.Before(e.expires) {
						delete(s.m, k)
					}
				}
				s.mu.Unlock()
			}
		}
	}
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%shards]
}

// live returns the entry for key if it has not expired; the shard's lock must be held.
func (s *shard) live(key string, now time.Time) (entry, bool) {
	e, ok := s.m[key]
	if !ok {
		return entry{}, false
	}
	if !now.Before(e.expires) {
		delete(s.m, key)
		return entry{}, false
	}
	return e, true
}

// Set stores val under key for ttl.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	s := m.shard(key)
	s.mu.Lock()
	s.m[key] = entry{val: clone(val), expires: m.now().Add(ttl)}
	s.mu.Unlock()
	return nil
}

// SetNX stores val under key for ttl unless a live value is there, and reports whether it did.
func (m *Memory) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	if _, ok := s.live(key, now); ok {
		return false, nil
	}
	s.m[key] = entry{val: clone(val), expires: now.Add(ttl)}
	return true, nil
}

// Get returns the live value under key.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	return clone(e.val), ok, nil
}

// Take returns the live value under key and deletes it, atomically: of several concurrent
// takers exactly one gets it.
func (m *Memory) Take(_ context.Context, key string) ([]byte, bool, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	if ok {
		delete(s.m, key)
	}
	return e.val, ok, nil
}

// Delete removes key.
func (m *Memory) Delete(_ context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Incr adds one to the counter under key and returns the new count. A counter that does
// not exist starts at 1 and lives for window (a fixed window).
func (m *Memory) Incr(_ context.Context, key string, window time.Duration) (int64, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	e, ok := s.live(key, now)
	var n int64
	if ok {
		n, _ = strconv.ParseInt(string(e.val), 10, 64)
	} else {
		e.expires = now.Add(window)
	}
	n++
	e.val = strconv.AppendInt(nil, n, 10)
	s.m[key] = e
	return n, nil
}

// Decr takes one back from a live counter (a reservation that was settled), never below
// zero and without touching its window; a missing counter stays missing.
func (m *Memory) Decr(_ context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, m.now())
	if !ok {
		return nil
	}
	n, _ := strconv.ParseInt(string(e.val), 10, 64)
	if n > 0 {
		n--
	}
	e.val = strconv.AppendInt(nil, n, 10)
	s.m[key] = e
	return nil
}

// TTL returns how long key still lives, or 0 when it does not.
func (m *Memory) TTL(_ context.Context, key string) (time.Duration, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	e, ok := s.live(key, now)
	if !ok {
		return 0, nil
	}
	return e.expires.Sub(now), nil
}

// Ping always succeeds for the in-process store.
func (m *Memory) Ping(context.Context) error { return nil }

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
