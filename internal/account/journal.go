package account

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// journal writes audit events and identity token updates in batches from one goroutine,
// so logins never wait on (or serialise behind) the database's single writer. A full
// queue makes the caller wait: back-pressure rather than lost audit events.
type journal struct {
	store Store
	log   *slog.Logger
	ch    chan journalItem
	done  chan struct{}

	mu     sync.RWMutex // held for reading while sending, for writing while closing
	closed bool
}

type journalItem struct {
	event    *AuditEvent
	identity *Identity
}

const (
	journalBatch = 256
	journalTick  = 20 * time.Millisecond
)

func startJournal(st Store, log *slog.Logger, n int) *journal {
	if n <= 0 {
		n = 4096
	}
	j := &journal{store: st, log: log, ch: make(chan journalItem, n), done: make(chan struct{})}
	go j.run()
	return j
}

// add queues an item. After close (the service shutting down) items are logged and
// dropped rather than sent on a closed channel.
func (j *journal) add(it journalItem) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if j.closed {
		if it.event != nil {
			j.log.Warn("audit event after shutdown, not written", "event", it.event.Event, "user", it.event.UserID)
		}
		return
	}
	j.ch <- it
}

func (j *journal) close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.closed = true
	close(j.ch)
	j.mu.Unlock()
	<-j.done
}

func (j *journal) run() {
	defer close(j.done)
	var events []AuditEvent
	var ids []Identity
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if len(events) > 0 {
			if err := j.store.AppendAudit(ctx, events); err != nil {
				j.log.Error("write audit events", "count", len(events), "err", err)
			}
			events = events[:0]
		}
		if len(ids) > 0 {
			if err := j.store.UpdateIdentityTokens(ctx, ids); err != nil {
				j.log.Error("update identity tokens", "count", len(ids), "err", err)
			}
			ids = ids[:0]
		}
	}
	t := time.NewTicker(journalTick)
	defer t.Stop()
	for {
		select {
		case it, ok := <-j.ch:
			if !ok {
				flush()
				return
			}
			if it.event != nil {
				events = append(events, *it.event)
			}
			if it.identity != nil {
				ids = append(ids, *it.identity)
			}
			if len(events)+len(ids) >= journalBatch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}
