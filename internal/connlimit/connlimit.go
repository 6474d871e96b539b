// Package connlimit bounds an http.Server's connections, in total and per client address,
// so that a flood of idle connections cannot take the descriptors new visitors need
// (issue 14). It watches connection states through http.Server.ConnState: when a new
// connection takes the count over a limit, the longest-waiting connection that is not
// serving a request (idle keep-alive, or opened and still silent) is closed to make room;
// only when there is none is the new connection itself closed. Connections that are
// serving a request are never touched. Standard library only.
package connlimit

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Limiter keeps the counts. Set the fields before the server starts; the zero value
// limits nothing.
type Limiter struct {
	MaxTotal   int // all connections; 0: no limit
	MaxPerAddr int // connections of one client address (Key's bucket); 0: no limit
	// Key maps a peer address to the bucket MaxPerAddr counts (IPv4 address, IPv6 /64).
	// Nil: the address itself.
	Key func(netip.Addr) string
	// Exempt reports peers that carry many clients (trusted reverse proxies): they count
	// in the total, not per address. Nil: none.
	Exempt func(netip.Addr) bool

	mu      sync.Mutex
	conns   map[net.Conn]*entry
	waiting list.List // *entry not serving a request, oldest first
	byAddr  map[string]*bucket

	evicted, refused atomic.Int64
}

type entry struct {
	c      net.Conn
	addr   string // "" when exempt
	all    *list.Element
	inAddr *list.Element
}

type bucket struct {
	n       int
	waiting list.List
}

// Stats says how many waiting connections were closed to make room, and how many new
// connections were closed because nothing could make room.
func (l *Limiter) Stats() (evicted, refused int64) { return l.evicted.Load(), l.refused.Load() }

// Open is the number of connections being tracked.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// ConnState is the http.Server.ConnState hook.
func (l *Limiter) ConnState(c net.Conn, s http.ConnState) {
	var closeThese []net.Conn
	l.mu.Lock()
	switch s {
	case http.StateNew:
		closeThese = l.add(c)
	case http.StateActive:
		if e := l.conns[c]; e != nil {
			l.unwait(e)
		}
	case http.StateIdle:
		if e := l.conns[c]; e != nil {
			l.wait(e)
		}
	case http.StateHijacked, http.StateClosed:
		if e := l.conns[c]; e != nil {
			l.remove(e)
		}
	}
	l.mu.Unlock()
	for _, c := range closeThese {
		c.Close()
	}
}

// add tracks a new connection and returns the connections to close for it.
func (l *Limiter) add(c net.Conn) []net.Conn {
	if l.conns == nil {
		l.conns = map[net.Conn]*entry{}
		l.byAddr = map[string]*bucket{}
	}
	e := &entry{c: c, addr: l.addrOf(c)}
	l.conns[c] = e
	if e.addr != "" {
		b := l.byAddr[e.addr]
		if b == nil {
			b = &bucket{}
			l.byAddr[e.addr] = b
		}
		b.n++
	}
	l.wait(e) // silent until its first request
	var out []net.Conn
	if e.addr != "" && l.MaxPerAddr > 0 && l.byAddr[e.addr].n > l.MaxPerAddr {
		out = append(out, l.evict(&l.byAddr[e.addr].waiting, e))
	}
	if l.MaxTotal > 0 && len(l.conns) > l.MaxTotal && l.conns[c] != nil {
		out = append(out, l.evict(&l.waiting, e))
	}
	return out
}

// evict closes the oldest waiting connection of q to make room for e, or e itself when e
// is the only one waiting.
func (l *Limiter) evict(q *list.List, e *entry) net.Conn {
	victim := e
	if front := q.Front(); front != nil && front.Value.(*entry) != e {
		victim = front.Value.(*entry)
		l.evicted.Add(1)
	} else {
		l.refused.Add(1)
	}
	l.remove(victim) // counted out now; its StateClosed finds nothing
	return victim.c
}

func (l *Limiter) addrOf(c net.Conn) string {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return ""
	}
	a := ap.Addr().Unmap()
	if l.Exempt != nil && l.Exempt(a) {
		return ""
	}
	if l.Key != nil {
		return l.Key(a)
	}
	return a.String()
}

func (l *Limiter) wait(e *entry) {
	if e.all != nil {
		return
	}
	e.all = l.waiting.PushBack(e)
	if e.addr != "" {
		e.inAddr = l.byAddr[e.addr].waiting.PushBack(e)
	}
}

func (l *Limiter) unwait(e *entry) {
	if e.all != nil {
		l.waiting.Remove(e.all)
		e.all = nil
	}
	if e.inAddr != nil {
		l.byAddr[e.addr].waiting.Remove(e.inAddr)
		e.inAddr = nil
	}
}

func (l *Limiter) remove(e *entry) {
	l.unwait(e)
	delete(l.conns, e.c)
	if e.addr != "" {
		if b := l.byAddr[e.addr]; b != nil {
			if b.n--; b.n <= 0 {
				delete(l.byAddr, e.addr)
			}
		}
	}
}
