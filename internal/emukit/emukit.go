// Package emukit is what the provider emulators (qqemu, wechatemu, weiboemu) share: the
// latency added before their API answers, a queue of injected faults, and call counters.
// It knows nothing of any provider's wire format, and the clients under test never import
// it. Imports: the standard library.
package emukit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Knobs are an emulator's test controls. Embedded in an emulator's server, SetLatency,
// InjectFault, ClearFaults and Calls are the emulator's own methods.
type Knobs struct {
	Latency Latency
	Faults  Faults
	Counts  Calls
}

// SetLatency changes the latency added before the API answers.
func (k *Knobs) SetLatency(d time.Duration) { k.Latency.Set(d) }

// InjectFault adds a fault.
func (k *Knobs) InjectFault(f Fault) { k.Faults.Add(f) }

// ClearFaults removes every fault.
func (k *Knobs) ClearFaults() { k.Faults.Set(nil) }

// Calls counts the calls of an endpoint (the emulator's package says its endpoints' names).
func (k *Knobs) Calls(endpoint string) int64 { return k.Counts.Get(endpoint) }

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WriteHTTP500 answers as a provider's front end does when its back end fails.
func WriteHTTP500(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("<html><body>500 Internal Server Error</body></html>"))
}

// NewUserName reads the optional body of an emulator's "add a test user" call,
// {"<field>": "name"} with a name of at most max characters; an empty body is no name. On a
// bad body it answers 400 and returns false.
func NewUserName(w http.ResponseWriter, r *http.Request, field string, max int) (string, bool) {
	if r.ContentLength == 0 {
		return "", true
	}
	var in map[string]string
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in)
	_, named := in[field]
	if err != nil || len(in) > 1 || (len(in) == 1 && !named) || utf8.RuneCountInString(in[field]) > max {
		http.Error(w, fmt.Sprintf(`bad user: want {"%s"} (at most %d characters) or no body`, field, max), http.StatusBadRequest)
		return "", false
	}
	return in[field], true
}

// OrderedJSON encodes an object of n members in the order the providers write them
// (member(i) gives the i-th key and value), with &, < and > unescaped as they leave them.
func OrderedJSON(n int, member func(i int) (string, any)) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k, v := member(i)
		_ = enc.Encode(k)
		b.Truncate(b.Len() - 1) // Encode ends with a newline
		b.WriteByte(':')
		_ = enc.Encode(v)
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// WriteCreated answers 201 with v as JSON.
func WriteCreated(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
}

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
