package connlimit

import (
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
)

// fakeConn is a net.Conn with a peer address that records Close.
type fakeConn struct {
	net.Conn
	peer   net.Addr
	closed atomic.Bool
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.peer }
func (c *fakeConn) Close() error         { c.closed.Store(true); return nil }

func conn(addr string) *fakeConn {
	return &fakeConn{peer: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr))}
}

func TestLimiter(t *testing.T) {
	l := &Limiter{MaxTotal: 4, MaxPerAddr: 2, Exempt: func(a netip.Addr) bool { return a == netip.MustParseAddr("10.0.0.1") }}
	a1, a2, a3 := conn("192.0.2.1:1000"), conn("192.0.2.1:1001"), conn("192.0.2.1:1002")
	l.ConnState(a1, http.StateNew)
	l.ConnState(a1, http.StateActive) // serving a request: never closed for room
	l.ConnState(a2, http.StateNew)
	l.ConnState(a3, http.StateNew) // third from one address: a2, silent and oldest waiting, goes
	if a1.closed.Load() || !a2.closed.Load() || a3.closed.Load() {
		t.Fatalf("per address: closed a1=%v a2=%v a3=%v; want only a2", a1.closed.Load(), a2.closed.Load(), a3.closed.Load())
	}
	l.ConnState(a3, http.StateActive)
	a4 := conn("192.0.2.1:1003")
	l.ConnState(a4, http.StateNew) // both others busy: the newcomer itself is refused
	if !a4.closed.Load() || a1.closed.Load() || a3.closed.Load() {
		t.Fatalf("nothing waiting: closed a4=%v a1=%v a3=%v; want only a4", a4.closed.Load(), a1.closed.Load(), a3.closed.Load())
	}

	// A trusted proxy counts in the total only.
	p := []*fakeConn{conn("10.0.0.1:1"), conn("10.0.0.1:2"), conn("10.0.0.1:3")}
	for _, c := range p[:2] {
		l.ConnState(c, http.StateNew)
		l.ConnState(c, http.StateActive)
		l.ConnState(c, http.StateIdle)
	}
	if p[0].closed.Load() || p[1].closed.Load() || l.Open() != 4 {
		t.Fatalf("proxy connections closed: %v %v, open %d", p[0].closed.Load(), p[1].closed.Load(), l.Open())
	}
	l.ConnState(p[2], http.StateNew) // fifth in all: the longest idle (p[0]) makes room
	if !p[0].closed.Load() || p[1].closed.Load() || p[2].closed.Load() || l.Open() != 4 {
		t.Fatalf("total: closed %v %v %v, open %d; want only the first proxy connection", p[0].closed.Load(), p[1].closed.Load(), p[2].closed.Load(), l.Open())
	}
	l.ConnState(p[0], http.StateClosed) // its close arrives later: counted once
	for _, c := range []net.Conn{a1, a3, p[1], p[2]} {
		l.ConnState(c, http.StateClosed)
	}
	if l.Open() != 0 || len(l.byAddr) != 0 || l.waiting.Len() != 0 {
		t.Errorf("after all closed: open %d, %d address buckets, %d waiting", l.Open(), len(l.byAddr), l.waiting.Len())
	}
	if ev, ref := l.Stats(); ev != 2 || ref != 1 {
		t.Errorf("Stats = %d evicted, %d refused; want 2, 1", ev, ref)
	}
}
