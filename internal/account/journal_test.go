package account

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// flakyStore fails the first `fails` writes, then keeps what it is given.
type flakyStore struct {
	Store  // only the journal's two methods are called
	mu     sync.Mutex
	fails  int
	events []AuditEvent
	ids    []Identity
}

func (f *flakyStore) AppendAudit(_ context.Context, ev []AuditEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return ErrStorageDown
	}
	f.events = append(f.events, ev...)
	return nil
}

func (f *flakyStore) UpdateIdentityTokens(_ context.Context, ids []Identity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, ids...)
	return nil
}

func (f *flakyStore) written() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events), len(f.ids)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestJournalRetriesFailedBatches(t *testing.T) {
	st := &flakyStore{fails: 3}
	j := startJournal(st, quietLog(), 64)
	for i := range 10 {
		j.add(journalItem{event: &AuditEvent{UserID: int64(i), Event: EventLoginOK}})
	}
	j.add(journalItem{identity: &Identity{ID: 1}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ev, ids := st.written(); ev == 10 && ids == 1 {
			break
		}
		if time.Now().After(deadline) {
			ev, ids := st.written()
			t.Fatalf("after retries: %d events, %d identity updates written; want 10 and 1", ev, ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := j.pending(); n != 0 {
		t.Errorf("pending = %d after everything was written", n)
	}
	j.close()
}

func TestJournalCloseWritesWhatItAccepted(t *testing.T) {
	st := &flakyStore{fails: 2}
	j := startJournal(st, quietLog(), 4096)
	for i := range 1000 {
		j.add(journalItem{event: &AuditEvent{UserID: int64(i), Event: EventLoginOK}})
	}
	j.close() // as on SIGTERM: the database is back within the drain time
	if ev, _ := st.written(); ev != 1000 {
		t.Fatalf("close wrote %d of 1000 accepted events", ev)
	}
	j.add(journalItem{event: &AuditEvent{Event: EventLoginOK}}) // after close: dropped, no panic
	if ev, _ := st.written(); ev != 1000 {
		t.Fatalf("an event after close was written")
	}
}

func TestJournalGivesUpOnAStoreThatStaysDown(t *testing.T) {
	st := &flakyStore{fails: 1 << 30}
	j := startJournalDrain(st, quietLog(), 16, 500*time.Millisecond)
	j.add(journalItem{event: &AuditEvent{Event: EventLoginOK}})
	done := make(chan struct{})
	go func() { j.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not give up on a store that stays down")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.fails >= 1<<30-1 {
		t.Fatalf("close tried to write %d times; want several tries before giving up", 1<<30-st.fails)
	}
}
