// Package outbox keeps the SMS codes and mails "sent" in development, for GET /_dev/outbox
// and the development pages. Nothing here is used in production. Standard library only.
package outbox

import (
	"sync"
	"time"
)

// Entry is one message, in the JSON shape of docs/requirements.md §4.
type Entry struct {
	Kind    string    `json:"kind"` // "sms" or "mail"
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
	Code    string    `json:"code"`
	Link    string    `json:"link"`
	At      time.Time `json:"at"`
}

// Max is how many entries are kept; older ones are dropped.
const Max = 500

// Outbox is a bounded, newest-first list of messages. It is safe for concurrent use.
type Outbox struct {
	mu      sync.Mutex
	entries []Entry // oldest first
}

// New returns an empty outbox.
func New() *Outbox { return &Outbox{} }

// Add records a message.
func (o *Outbox) Add(e Entry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.entries) >= Max {
		copy(o.entries, o.entries[1:])
		o.entries = o.entries[:len(o.entries)-1]
	}
	o.entries = append(o.entries, e)
}

// List returns the messages newest first, only those to `to` when it is not empty.
func (o *Outbox) List(to string) []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Entry, 0, len(o.entries))
	for i := len(o.entries) - 1; i >= 0; i-- {
		if to == "" || o.entries[i].To == to {
			out = append(out, o.entries[i])
		}
	}
	return out
}
