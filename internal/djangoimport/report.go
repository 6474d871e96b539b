package djangoimport

import (
	"encoding/json"

	"github.com/renran/accounts/internal/account"
	"io"
	"sync"
	"unicode/utf8"
)

// Entry is one line of the report: a row skipped, or imported with a field changed or
// left out, and why. Reason is a stable code (docs/django-import.md lists them); Detail
// says it for a person.
type Entry struct {
	Table    string `json:"table"`
	ID       int64  `json:"id"` // the row's Django id
	Username string `json:"username,omitempty"`
	Action   string `json:"action"` // skipped, adjusted or warning
	Field    string `json:"field,omitempty"`
	Reason   string `json:"reason"`
	Detail   string `json:"detail,omitempty"`
}

// The actions of an Entry.
const (
	Skipped  = "skipped"  // the row was not imported
	Adjusted = "adjusted" // imported, with Field left out or replaced
	Warning  = "warning"  // imported as it is, with something the operator should know
)

// Report writes entries as JSON lines and counts them.
type Report struct {
	mu     sync.Mutex
	enc    *json.Encoder
	counts map[string]int // by reason
}

// NewReport writes to w.
func NewReport(w io.Writer) *Report {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Report{enc: enc, counts: map[string]int{}}
}

// Add writes e.
func (r *Report) Add(e Entry) error {
	e.Username = clip(e.Username)
	e.Detail = clip(e.Detail)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[e.Action+" "+e.Reason]++
	return r.enc.Encode(e)
}

// Counts returns how many entries were written, by "action reason".
func (r *Report) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// clip bounds a value quoted from a bad row, at a character boundary, and replaces what
// is not UTF-8.
func clip(s string) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	if t := account.TruncateUTF8(s, 200); t != s {
		return t + "…"
	}
	return s
}
