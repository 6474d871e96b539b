package account

import (
	"sync"
	"sync/atomic"
)

// Password hashes are the expensive part of a login (19 MiB and tens of milliseconds
// each). The hasher runs a few at once; hashGate decides who may wait for it:
//
//   - at most hashPerAddr hashes in flight or waiting per address bucket (IPv4 address,
//     IPv6 /64), so one address's flood queues only behind itself: the extra requests are
//     answered 429 at once;
//   - at most hashQueue in flight or waiting in all, past which requests get 503
//     service_busy with Retry-After, instead of a queue that grows with the flood.
//
// A legitimate login therefore waits behind at most hashQueue hashes however large the
// flood, and usually behind hashPerAddr × (addresses flooding).
const (
	hashPerAddr = 2
	hashQueue   = 64
)

type hashGate struct {
	mu      sync.Mutex
	perAddr map[string]int
	total   atomic.Int64
}

func newHashGate() *hashGate { return &hashGate{perAddr: map[string]int{}} }

// enter reserves a place for one hash for ip; release gives it back.
func (g *hashGate) enter(ip string) (release func(), err error) {
	if g.total.Add(1) > hashQueue {
		g.total.Add(-1)
		return nil, ErrServiceBusy
	}
	b := AddrBucket(ip)
	g.mu.Lock()
	if g.perAddr[b] >= hashPerAddr {
		g.mu.Unlock()
		g.total.Add(-1)
		return nil, errRateLimited(0)
	}
	g.perAddr[b]++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			if g.perAddr[b]--; g.perAddr[b] <= 0 {
				delete(g.perAddr, b)
			}
			g.mu.Unlock()
			g.total.Add(-1)
		})
	}, nil
}
