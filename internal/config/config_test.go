package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDevelopmentDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Production || c.Addr != "127.0.0.1:8000" || c.Origin() != "http://127.0.0.1:8000" || !c.RateLimits ||
		c.QQBaseURL != "http://127.0.0.1:8000/_dev/qq" || !c.QQEmulator || c.QQRedirectURL != "http://127.0.0.1:8000/oauth/qq/callback" ||
		c.QQAppID != DevQQAppID || c.SecretKey != nil || c.Secure() {
		t.Errorf("development defaults = %+v", c)
	}
}

func TestRefusals(t *testing.T) {
	prod := map[string]string{
		"RENRAN_ENV": "production", "RENRAN_PUBLIC_URL": "https://renran.example", "RENRAN_SECRET_KEY": key,
		"RENRAN_QQ_APP_ID": "102000000", "RENRAN_QQ_APP_KEY": "real", "RENRAN_CAPTCHA": "dev", "RENRAN_SMS": "dev", "RENRAN_MAIL": "dev",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"production with dev providers", prod, "development providers"},
		{"production without secret", with(prod, "RENRAN_SECRET_KEY", ""), "RENRAN_SECRET_KEY must be set"},
		{"short secret", map[string]string{"RENRAN_SECRET_KEY": "short"}, "at least 32"},
		{"production with the emulator's app", with(prod, "RENRAN_QQ_APP_ID", DevQQAppID), "emulator's test app"},
		{"production pointing at the emulator", with(prod, "RENRAN_QQ_BASE_URL", "https://renran.example/_dev/qq"), "development emulator"},
		{"production over http", with(prod, "RENRAN_PUBLIC_URL", "http://renran.example"), "must be https"},
		{"production without rate limits", with(prod, "RENRAN_RATE_LIMITS", "off"), "development only"},
		{"production with captcha off", with(prod, "RENRAN_CAPTCHA", "off"), "development only"},
		{"bad env", map[string]string{"RENRAN_ENV": "staging"}, "RENRAN_ENV"},
		{"bad proxy", map[string]string{"RENRAN_TRUSTED_PROXIES": "not-an-ip"}, "RENRAN_TRUSTED_PROXIES"},
		{"bad origin", map[string]string{"RENRAN_CORS_ORIGINS": "https://a.example/path"}, "RENRAN_CORS_ORIGINS"},
		{"bad public url", map[string]string{"RENRAN_PUBLIC_URL": "ftp://x"}, "RENRAN_PUBLIC_URL"},
		{"postgres without redis", map[string]string{"RENRAN_DATABASE_URL": pg, "RENRAN_SECRET_KEY": key}, "set RENRAN_REDIS_URL"},
		{"postgres without redis in production", with(prod, "RENRAN_DATABASE_URL", pg), "set RENRAN_REDIS_URL"},
		{"postgres without a shared secret", map[string]string{"RENRAN_DATABASE_URL": pg, "RENRAN_REDIS_URL": "redis://127.0.0.1:6379/0"}, "every instance"},
		{"postgres url without host", map[string]string{"RENRAN_DATABASE_URL": "postgres://", "RENRAN_REDIS_URL": "redis://h", "RENRAN_SECRET_KEY": key}, "not a PostgreSQL URL"},
		{"redis url of another scheme", map[string]string{"RENRAN_REDIS_URL": "http://127.0.0.1:6379"}, "RENRAN_REDIS_URL"},
		{"redis prefix with a glob", map[string]string{"RENRAN_REDIS_PREFIX": "site*"}, "RENRAN_REDIS_PREFIX"},
		{"database timeout too long", map[string]string{"RENRAN_DATABASE_TIMEOUT": "2h"}, "RENRAN_DATABASE_TIMEOUT"},
		{"database timeout not a duration", map[string]string{"RENRAN_DATABASE_TIMEOUT": "5"}, "RENRAN_DATABASE_TIMEOUT"},
		{"metrics address", map[string]string{"RENRAN_METRICS_ADDR": "9464"}, "RENRAN_METRICS_ADDR"},
		{"a typed secret in production", with(prod, "RENRAN_SECRET_KEY", strings.Repeat(" ", 32)), "RENRAN_SECRET_KEY is blank"},
		{"an allowed host with a path", with(prod, "RENRAN_ALLOWED_HOSTS", "m.renran.example, https://x/"), "RENRAN_ALLOWED_HOSTS"},
		{"max conns not a number", map[string]string{"RENRAN_MAX_CONNS": "many"}, "RENRAN_MAX_CONNS"},
		{"max conns too few", map[string]string{"RENRAN_MAX_CONNS": "3"}, "RENRAN_MAX_CONNS"},
		{"per-address conns negative", map[string]string{"RENRAN_MAX_CONNS_PER_ADDR": "-1"}, "RENRAN_MAX_CONNS_PER_ADDR"},
	}
	c, _ := Load(env(with(prod, "RENRAN_ALLOWED_HOSTS", "M.Renran.example,www.renran.example")))
	if strings.Join(c.AllowedHosts, " ") != "renran.example m.renran.example www.renran.example" {
		t.Errorf("AllowedHosts = %q", c.AllowedHosts)
	}
	if c, _ := Load(env(nil)); c.AllowedHosts != nil || c.MaxConnsPerIP != 256 || c.MaxConns != 0 {
		t.Errorf("development: AllowedHosts %q, MaxConnsPerIP %d, MaxConns %d; want any host, 256, auto", c.AllowedHosts, c.MaxConnsPerIP, c.MaxConns)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

const (
	pg  = "postgres://renran@db.internal:5432/renran"
	key = "kR3v9Qm2Lx8Pz4Tn7Wb1Yc6Hd5Jf0GsE"
)

func TestProductionStorage(t *testing.T) {
	c, err := Load(env(map[string]string{
		"RENRAN_DATABASE_URL": pg, "RENRAN_REDIS_URL": "redis://127.0.0.1:6379/2", "RENRAN_SECRET_KEY": key,
		"RENRAN_REDIS_PREFIX": "site-a:", "RENRAN_DATABASE_TIMEOUT": "2s", "RENRAN_METRICS_ADDR": "off",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Postgres || c.SQLitePath != "" || c.RedisPrefix != "site-a:" || c.DBTimeout.String() != "2s" || c.MetricsAddr != "" {
		t.Errorf("config = %+v", c)
	}
	d, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if d.Postgres || d.RedisURL != "" || d.RedisPrefix != "renran:" || d.DBTimeout.String() != "5s" || d.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("defaults = %+v", d)
	}
	// SQLite with Redis is one instance with a shared store: allowed, the secret may come
	// from the data folder.
	if _, err := Load(env(map[string]string{"RENRAN_REDIS_URL": "redis://127.0.0.1:6379/0"})); err != nil {
		t.Errorf("SQLite + Redis refused: %v", err)
	}
}

func TestListsParse(t *testing.T) {
	c, err := Load(env(map[string]string{"RENRAN_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1", "RENRAN_CORS_ORIGINS": "https://M.Example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.1/32" || c.CORSOrigins[0] != "https://m.example.com" {
		t.Errorf("lists = %v %v", c.TrustedProxies, c.CORSOrigins)
	}
}

// TestREADMEDocumentsEveryVariable keeps the README's table and the names Load reads in step.
// TestREADMEDocumentsEveryVariable: the README's table, the Variables list and the names
// Load really reads are the same set. The names read are recorded by running Load under
// configurations that between them take every branch (a variable read only for a provider
// counts once that provider is configured).
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The table of the Configuration section (the Tests section has variables of its own).
	_, conf, _ := strings.Cut(string(b), "\n## Configuration")
	conf, _, _ = strings.Cut(conf, "\n## ")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (RENRAN_[A-Z0-9_]+) \|`).FindAllStringSubmatch(conf, -1) {
		documented[m[1]] = true
	}
	listed := map[string]bool{}
	for _, v := range Variables {
		listed[v.Name] = true
	}
	read := map[string]bool{}
	secret := "k4Qz9XwP2mL7vB1nR8tY3cF6hJ0sD5gA"
	for _, cfg := range []map[string]string{
		nil,
		{"RENRAN_ENV": "production", "RENRAN_PUBLIC_URL": "https://renran.example", "RENRAN_SECRET_KEY": secret,
			"RENRAN_DATABASE_URL": "postgres://u@db/renran", "RENRAN_REDIS_URL": "redis://r:6379/0",
			"RENRAN_QQ_APP_ID": "102000001", "RENRAN_QQ_APP_KEY": "k", "RENRAN_CAPTCHA": "tencent", "RENRAN_SMS": "tencent",
			"RENRAN_MAIL": "smtp://u:p@mail.example:587", "RENRAN_MAIL_FROM": "荏苒 <no-reply@renran.example>"},
		{"RENRAN_SMS": "aliyun", "RENRAN_SMS_SIGN_NAME": "荏苒", "RENRAN_SMS_TEMPLATE_ID": "SMS_1", "RENRAN_CAPTCHA": "tencent"},
	} {
		Load(func(k string) string {
			read[k] = true
			return cfg[k]
		})
	}
	for name := range documented {
		if !listed[name] {
			t.Errorf("README documents %s, which is not in Variables", name)
		}
	}
	for name := range listed {
		if !documented[name] {
			t.Errorf("README lacks a row for %s", name)
		}
		if !read[name] {
			t.Errorf("Load never reads %s, though it is documented", name)
		}
	}
	for name := range read {
		if !listed[name] {
			t.Errorf("Load reads %s, which is not in Variables (nor the README)", name)
		}
	}
}

// TestWeakSecret: the secrets people type are refused, random ones of 32 bytes and more
// pass (issue 14: 32 × a and 32 spaces were accepted).
func TestWeakSecret(t *testing.T) {
	weak := map[string]string{
		"short":                   "short",
		"32 × a":                  strings.Repeat("a", 32),
		"32 spaces":               strings.Repeat(" ", 32),
		"tabs and newlines":       strings.Repeat("\t\n", 20),
		"a pattern repeated":      strings.Repeat("0123456789abcdef", 2),
		"a word repeated":         strings.Repeat("renran", 8),
		"the alphabet":            "abcdefghijklmnopqrstuvwxyz0123456789",
		"a keyboard run and back": "1234567890987654321012345678909876",
		"few characters":          "abababababbabababababaabababbababa",
		"a phrase":                "passwordpasswordpassword12345678",
	}
	for name, k := range weak {
		if WeakSecret([]byte(k)) == "" {
			t.Errorf("WeakSecret(%s %q) = \"\", want a reason", name, k)
		}
	}
	for i := range 1000 {
		b := make([]byte, 24)
		rand.Read(b)
		for _, k := range []string{hex.EncodeToString(b[:16]), base64.StdEncoding.EncodeToString(b)} { // 128 and 192 bits
			if why := WeakSecret([]byte(k)); why != "" {
				t.Fatalf("sample %d: WeakSecret(%q) = %q for a random secret", i, k, why)
			}
		}
	}
	if _, err := Load(func(k string) string { return map[string]string{"RENRAN_SECRET_KEY": strings.Repeat("a", 32)}[k] }); err == nil || !strings.Contains(err.Error(), "RENRAN_SECRET_KEY repeats") {
		t.Errorf("Load with 32 × a: %v; want the secret refused", err)
	}
}

// TestDevelopmentPublicURLFollowsAddr: in development the public URL (and with it the QQ
// redirect URI and the emulator's address) follows RENRAN_ADDR unless it is set.
func TestDevelopmentPublicURLFollowsAddr(t *testing.T) {
	for _, tt := range []struct{ addr, pub, want string }{
		{"127.0.0.1:9000", "", "http://127.0.0.1:9000"},
		{":8080", "", "http://127.0.0.1:8080"},
		{"0.0.0.0:8001", "", "http://127.0.0.1:8001"},
		{"[::1]:8002", "", "http://[::1]:8002"},
		{"localhost:9000", "", "http://localhost:9000"},
		{"127.0.0.1:9000", "http://renran.test:8080", "http://renran.test:8080"},
	} {
		c, err := Load(env(map[string]string{"RENRAN_ADDR": tt.addr, "RENRAN_PUBLIC_URL": tt.pub}))
		if err != nil {
			t.Fatalf("Load(%s, %q) = %v", tt.addr, tt.pub, err)
		}
		if got := c.PublicURL.String(); got != tt.want || c.QQRedirectURL != tt.want+"/oauth/qq/callback" || c.QQBaseURL != tt.want+"/_dev/qq" {
			t.Errorf("ADDR %s, PUBLIC_URL %q: public %s, redirect %s, QQ %s; want %s", tt.addr, tt.pub, got, c.QQRedirectURL, c.QQBaseURL, tt.want)
		}
	}
	_, err := Load(env(map[string]string{"RENRAN_ENV": "production"}))
	if err == nil || !strings.Contains(err.Error(), "RENRAN_PUBLIC_URL is required in production") {
		t.Errorf("production without RENRAN_PUBLIC_URL: %v", err)
	}
}
