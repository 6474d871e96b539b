package account

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
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
	held   atomic.Int64 // items collected by run and not yet written

	drainFor time.Duration // journalDrain; shorter in tests
}

type journalItem struct {
	event    *AuditEvent
	identity *Identity
	touch    *SessionTouch
}

const (
	journalBatch    = 256
	journalTick     = 20 * time.Millisecond
	journalHold     = 8192 // items of each kind kept for retry while the database is down
	journalRetryMin = 100 * time.Millisecond
	journalRetryMax = 5 * time.Second
	journalDrain    = 8 * time.Second // how long Close keeps trying; under the 10 s shutdown bound
)

func startJournal(st Store, log *slog.Logger, n int) *journal {
	if n <= 0 {
		n = 4096
	}
	return startJournalDrain(st, log, n, journalDrain)
}

// startJournalDrain is startJournal with another drain time.
func startJournalDrain(st Store, log *slog.Logger, n int, drain time.Duration) *journal {
	j := &journal{store: st, log: log, ch: make(chan journalItem, n), done: make(chan struct{}), drainFor: drain}
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

// pending is how many accepted items are not yet written: queued plus held for retry.
func (j *journal) pending() int { return len(j.ch) + int(j.held.Load()) }

// run collects items and writes them every journalTick or journalBatch items. A batch
// that fails because the database is unreachable (restarting, say) is kept and tried
// again with a growing pause, up to journalHold items; past that the oldest are dropped
// with an error in the log, so a long outage costs audit lines, not memory. On close it
// keeps trying for up to journalDrain before giving up on what is left. Any other failure
// is logged and the batch dropped: trying again would fail again.
func (j *journal) run() {
	defer close(j.done)
	var events []AuditEvent
	var ids []Identity
	touches := map[string]time.Time{} // session → last seen; only the latest matters
	var retryAt time.Time
	backoff := journalRetryMin
	write := func(ctx context.Context) bool {
		if len(events) > 0 {
			if err := j.store.AppendAudit(ctx, events); IsUnavailable(err) {
				j.log.Warn("write audit events, will retry", "count", len(events), "err", err)
				return false
			} else if err != nil {
				j.log.Error("audit events not written", "count", len(events), "err", err)
			}
			events = events[:0]
		}
		if len(ids) > 0 {
			if err := j.store.UpdateIdentityTokens(ctx, ids); IsUnavailable(err) {
				j.log.Warn("update identity tokens, will retry", "count", len(ids), "err", err)
				return false
			} else if err != nil {
				j.log.Error("identity tokens not updated", "count", len(ids), "err", err)
			}
			ids = ids[:0]
		}
		if len(touches) > 0 {
			list := make([]SessionTouch, 0, len(touches))
			for id, at := range touches {
				list = append(list, SessionTouch{ID: id, At: at})
			}
			// Not kept for retry: a last-seen time is a convenience, and the next request
			// of the session brings a newer one.
			if err := j.store.TouchSessions(ctx, list); err != nil {
				j.log.Warn("session last-seen times not written", "count", len(list), "err", err)
			}
			clear(touches)
		}
		return true
	}
	flush := func() {
		defer func() { j.held.Store(int64(len(events) + len(ids))) }()
		if len(events)+len(ids)+len(touches) == 0 || time.Now().Before(retryAt) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if write(ctx) {
			retryAt, backoff = time.Time{}, journalRetryMin
			return
		}
		retryAt = time.Now().Add(backoff)
		backoff = min(2*backoff, journalRetryMax)
		if n := len(events) - journalHold; n > 0 {
			j.log.Error("audit events dropped after failed writes", "count", n)
			events = append(events[:0], events[n:]...)
		}
		if n := len(ids) - journalHold; n > 0 {
			j.log.Error("identity token updates dropped after failed writes", "count", n)
			ids = append(ids[:0], ids[n:]...)
		}
	}
	drain := func() {
		deadline := time.Now().Add(j.drainFor)
		for len(events)+len(ids) > 0 {
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			ok := write(ctx)
			cancel()
			if ok {
				return
			}
			if time.Now().Add(journalRetryMin).After(deadline) {
				j.log.Error("journal not written at shutdown", "audit_events", len(events), "identity_updates", len(ids))
				return
			}
			time.Sleep(journalRetryMin)
		}
	}
	t := time.NewTicker(journalTick)
	defer t.Stop()
	for {
		select {
		case it, ok := <-j.ch:
			if !ok {
				drain()
				j.held.Store(0)
				return
			}
			if it.event != nil {
				events = append(events, *it.event)
			}
			if it.identity != nil {
				ids = append(ids, *it.identity)
			}
			if it.touch != nil && it.touch.At.After(touches[it.touch.ID]) {
				touches[it.touch.ID] = it.touch.At
			}
			if len(events)+len(ids) >= journalBatch {
				flush()
			}
		case <-t.C:
			flush()
		}
	}
}

// JournalPending is how many accepted audit events and identity updates are not yet
// written (a gauge for /metrics).
func (s *Service) JournalPending() int { return s.journal.pending() }
