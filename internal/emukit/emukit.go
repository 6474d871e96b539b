// Package emukit is what the provider emulators (qqemu, wechatemu, weiboemu) share: the
// latency added before their API answers, a queue of injected faults, and call counters.
// It knows nothing of any provider's wire format, and the clients under test never import
// it. Imports: the standard library.
package emukit

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is an injected failure of one endpoint. Kind and Code mean what each emulator says
// (an error body with Code, "http500", "timeout", …). Times is how many requests it hits;
// 0: until cleared.
type Fault struct {
	Endpoint string `json:"endpoint"`
	Kind     string `json:"kind"`
	Code     int    `json:"code,omitempty"`
	Times    int    `json:"times,omitempty"`
}

// Faults is a queue of faults, tried in the order they were added. The zero value is empty
// and ready.
type Faults struct {
	mu   sync.Mutex
	list []*Fault
}

// Add adds f at the end.
func (q *Faults) Add(f Fault) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, &f)
}

// Set replaces every fault with fs.
func (q *Faults) Set(fs []Fault) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = nil
	for i := range fs {
		f := fs[i]
		q.list = append(q.list, &f)
	}
}

// List returns the faults in force.
func (q *Faults) List() []Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Fault, 0, len(q.list))
	for _, f := range q.list {
		out = append(out, *f)
	}
	return out
}

// Take returns the first fault for endpoint, using up one of its times.
func (q *Faults) Take(endpoint string) (Fault, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.list {
		if f.Endpoint != endpoint {
			continue
		}
		got := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				q.list = append(q.list[:i], q.list[i+1:]...)
			}
		}
		return got, true
	}
	return Fault{}, false
}

// Latency is a delay added before an answer; the zero value is none.
type Latency struct{ ns atomic.Int64 }

// Set changes the delay.
func (l *Latency) Set(d time.Duration) { l.ns.Store(int64(d)) }

// Get returns the delay.
func (l *Latency) Get() time.Duration { return time.Duration(l.ns.Load()) }

// Wait sleeps the delay, giving up when the client does.
func (l *Latency) Wait(r *http.Request) {
	d := l.Get()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// Calls counts requests by endpoint; the zero value is ready.
type Calls struct{ m sync.Map }

// Add counts one call of endpoint.
func (c *Calls) Add(endpoint string) {
	v, _ := c.m.LoadOrStore(endpoint, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// Get returns how many calls endpoint has had.
func (c *Calls) Get(endpoint string) int64 {
	v, ok := c.m.Load(endpoint)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}
