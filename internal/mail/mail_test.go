package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// An SMTP server in the test process (emersion/go-smtp) that requires STARTTLS and PLAIN
// authentication, and keeps what it receives.
type inbox struct {
	mu    sync.Mutex
	mails []string
	fail  int // refuse this many DATA commands first
}

type session struct {
	in     *inbox
	authed bool
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "renran" || pass != "mail-secret" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *session) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	if s.in.fail > 0 {
		s.in.fail--
		return &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	s.in.mails = append(s.in.mails, string(b))
	return nil
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func startSMTP(t *testing.T, in *inbox) (*url.URL, *x509.CertPool) {
	cert, pool := selfSigned(t)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{in: in}, nil }))
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	u, _ := url.Parse("smtp://renran:mail-secret@" + l.Addr().String())
	return u, pool
}

// TestSMTPRoundTrip: a reset-style mail over STARTTLS with authentication, read back:
// From, To, the Chinese subject, a text and an HTML part, the link.
func TestSMTPRoundTrip(t *testing.T) {
	in := &inbox{fail: 1} // the first attempt is refused: the queue tries again
	u, pool := startSMTP(t, in)
	var logs bytes.Buffer
	q := NewQueue(&SMTP{URL: u, From: "荏苒资讯 <no-reply@renran.example>", TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}},
		slog.New(slog.NewTextHandler(&logs, nil)))
	q.wait = 10 * time.Millisecond
	link := "https://renran.example/reset-password?token=abc123"
	if err := q.Enqueue(Message{To: "owner@example.com", Subject: "【荏苒资讯】重置密码", Text: "请打开：\n\n" + link, HTML: "<p><a href=\"" + link + "\">打开链接</a></p>", Link: link}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.mails) != 1 {
		t.Fatalf("the server got %d mails, want 1; log:\n%s", len(in.mails), logs.String())
	}
	m, err := mail.ReadMessage(strings.NewReader(in.mails[0]))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subj != "【荏苒资讯】重置密码" || m.Header.Get("To") != "<owner@example.com>" {
		t.Errorf("headers: subject %q, to %q", subj, m.Header.Get("To"))
	}
	parts := map[string]string{}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("content type %q, want multipart/alternative", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		var r io.Reader = p
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(p)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, _ := io.ReadAll(r)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], link) || !strings.Contains(parts["text/html"], link) || !strings.Contains(parts["text/plain"], "请打开") {
		t.Errorf("parts: %q", parts)
	}
	if strings.Contains(logs.String(), "abc123") {
		t.Error("the log holds the link's token")
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the refused first attempt was not logged as a retry:\n%s", logs.String())
	}
}

// TestSMTPWrongPassword: the server's refusal is an error, nothing is delivered.
func TestSMTPWrongPassword(t *testing.T) {
	in := &inbox{}
	u, pool := startSMTP(t, in)
	u.User = url.UserPassword("renran", "wrong")
	s := &SMTP{URL: u, From: "no-reply@renran.example", TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	if err := s.Send(context.Background(), Message{To: "a@example.com", Subject: "x", Text: "y"}); err == nil {
		t.Error("a wrong SMTP password sent the mail")
	}
}

func TestAddr(t *testing.T) {
	for in, want := range map[string]string{
		"smtp://u:p@mail.example:2525": "mail.example:2525", "smtp://mail.example": "mail.example:587", "smtps://mail.example": "mail.example:465",
	} {
		u, _ := url.Parse(in)
		if h, p := Addr(u); net.JoinHostPort(h, strconv.Itoa(p)) != want {
			t.Errorf("Addr(%s) = %s:%d, want %s", in, h, p, want)
		}
	}
	if domain("a.b@example.com") != "example.com" || domain("nobody") != "nobody" {
		t.Error("domain")
	}
}
