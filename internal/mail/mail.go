// Package mail sends the service's mails: to the development outbox (RENRAN_MAIL=dev), or
// over SMTP (smtp:// with STARTTLS, smtps:// with implicit TLS) with wneessen/go-mail,
// from a bounded background queue that retries with back-off and never logs a link.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/renran/accounts/internal/outbox"
)

// Message is one mail. Link is the action link the mail carries (kept apart for the
// development outbox; it is in Text and HTML too).
type Message struct {
	To, Subject, Text, HTML, Link string
}

// Sender delivers one message now.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Dev writes mails to the development outbox.
type Dev struct{ Outbox *outbox.Outbox }

// Send implements Sender.
func (d Dev) Send(_ context.Context, m Message) error {
	d.Outbox.Add(outbox.Entry{Kind: "mail", To: m.To, Subject: m.Subject, Body: m.Text, Link: m.Link, At: time.Now().UTC()})
	return nil
}

// SMTP delivers over SMTP.
type SMTP struct {
	URL       *url.URL    // smtp://user:pass@host:587 (STARTTLS required) or smtps://…:465
	From      string      // RENRAN_MAIL_FROM, e.g. 荏苒资讯 <no-reply@renran.example>
	TLSConfig *tls.Config // nil: the system's roots (tests pass their own)
	Timeout   time.Duration
}

// Addr is the host and port an SMTP URL names: its port, or 465 for smtps:// and 587
// (submission with STARTTLS) for smtp://.
func Addr(u *url.URL) (string, int) {
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		port = p
	}
	return u.Hostname(), port
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	opts := []gomail.Option{gomail.WithTimeout(timeout)}
	if s.URL.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	_, port := Addr(s.URL)
	opts = append(opts, gomail.WithPort(port))
	tc := s.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: s.URL.Hostname(), MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	if u := s.URL.User; u != nil {
		pw, _ := u.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(u.Username()), gomail.WithPassword(pw))
	}
	c, err := gomail.NewClient(s.URL.Hostname(), opts...)
	if err != nil {
		return fmt.Errorf("mail: client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return nil
}

// Queue sends in the background: at most Workers at once, at most Capacity waiting, each
// message tried Attempts times with doubling waits. The log names the recipient's domain
// and the error, never the link.
type Queue struct {
	sender   Sender
	log      *slog.Logger
	jobs     chan Message
	attempts int
	wait     time.Duration
	wg       sync.WaitGroup
	stop     chan struct{}
	once     sync.Once
}

// ErrQueueFull is returned when the queue cannot take another mail.
var ErrQueueFull = errors.New("mail: queue full")

// NewQueue starts workers sending through s.
func NewQueue(s Sender, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.Default()
	}
	q := &Queue{sender: s, log: log, jobs: make(chan Message, 1000), attempts: 4, wait: time.Second, stop: make(chan struct{})}
	for range 4 {
		q.wg.Add(1)
		go q.work()
	}
	return q
}

// Enqueue hands m to the workers without waiting.
func (q *Queue) Enqueue(m Message) error {
	select {
	case q.jobs <- m:
		return nil
	default:
		q.log.Error("mail queue full: a mail was dropped", "to_domain", domain(m.To))
		return ErrQueueFull
	}
}

func (q *Queue) work() {
	defer q.wg.Done()
	for {
		select {
		case m := <-q.jobs:
			q.deliver(m)
		case <-q.stop:
			for { // drain what is queued, once each
				select {
				case m := <-q.jobs:
					q.deliver(m)
				default:
					return
				}
			}
		}
	}
}

func (q *Queue) deliver(m Message) {
	wait := q.wait
	for i := 1; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := q.sender.Send(ctx, m)
		cancel()
		if err == nil {
			return
		}
		if i >= q.attempts {
			q.log.Error("mail not sent", "to_domain", domain(m.To), "subject", m.Subject, "attempts", i, "err", err)
			return
		}
		q.log.Warn("mail send failed, retrying", "to_domain", domain(m.To), "attempt", i, "err", err)
		select {
		case <-time.After(wait):
		case <-q.stop:
		}
		wait *= 2
	}
}

// Close stops taking mail and waits for what is queued.
func (q *Queue) Close() {
	q.once.Do(func() { close(q.stop) })
	q.wg.Wait()
}

func domain(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }
