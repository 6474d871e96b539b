package emukit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var q Faults
	q.Add(Fault{Endpoint: "token", Kind: "http500", Times: 2})
	q.Add(Fault{Endpoint: "token", Kind: "timeout"})
	q.Add(Fault{Endpoint: "me", Kind: "error", Code: 1})
	var got []string
	for range 4 {
		f, ok := q.Take("token")
		if !ok {
			t.Fatal("no fault for token")
		}
		got = append(got, f.Kind)
	}
	// The first fault hits twice and is gone; the second, without Times, stays.
	if want := []string{"http500", "http500", "timeout", "timeout"}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("token faults taken = %v, want %v", got, want)
	}
	if f, ok := q.Take("me"); !ok || f.Code != 1 {
		t.Errorf("me fault = %+v, %v", f, ok)
	}
	if _, ok := q.Take("user_info"); ok {
		t.Error("a fault for an endpoint nobody injected")
	}
	if l := q.List(); len(l) != 2 {
		t.Errorf("List = %+v; want the two faults without a limit", l)
	}
	q.Set(nil)
	if _, ok := q.Take("token"); ok {
		t.Error("a fault after Set(nil)")
	}
}

func TestLatencyGivesUpWithTheClient(t *testing.T) {
	var l Latency
	l.Set(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := http.NewRequestWithContext(ctx, "GET", "/", nil)
	done := make(chan struct{})
	go func() { l.Wait(r); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return when the client gave up")
	}
}

func TestCalls(t *testing.T) {
	var c Calls
	c.Add("token")
	c.Add("token")
	if c.Get("token") != 2 || c.Get("me") != 0 {
		t.Errorf("calls = %d, %d", c.Get("token"), c.Get("me"))
	}
}

func TestNewUserName(t *testing.T) {
	for _, tc := range []struct {
		body   string
		name   string
		wantOK bool
	}{
		{"", "", true},
		{`{"nickname":"小荏"}`, "小荏", true},
		{`{}`, "", true},
		{`{"nickname":"一二三四五"}`, "一二三四五", true},
		{`{"nickname":"一二三四五六"}`, "", false}, // over 5 characters
		{`{"screen_name":"x"}`, "", false},   // another field
		{`{"nickname":"x","extra":"y"}`, "", false},
		{`{"nickname":1}`, "", false},
		{`not json`, "", false},
	} {
		r := httptest.NewRequest("POST", "/users", strings.NewReader(tc.body))
		w := httptest.NewRecorder()
		name, ok := NewUserName(w, r, "nickname", 5)
		if ok != tc.wantOK || name != tc.name || (!ok && w.Code != http.StatusBadRequest) {
			t.Errorf("%q: %q, %v (status %d); want %q, %v", tc.body, name, ok, w.Code, tc.name, tc.wantOK)
		}
	}
}
