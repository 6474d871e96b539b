// Package app is the whole program behind cmd/renran: Run parses the command and runs
// serve, migrate or qq-emulator. main and the end-to-end tests both call it. It is the
// only package that knows every other one.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/renran/accounts/internal/bench"
	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/qqemu"
	"github.com/renran/accounts/wechatemu"
	"github.com/renran/accounts/weiboemu"
)

const usage = `usage: renran [command]

commands:
  serve         run the service (the default)
  migrate       apply database migrations and exit
  doctor        check the configuration (database, Redis, QQ, captcha, SMS) and exit;
                non-zero when a check fails; --json for scripts
  qq-emulator   run the QQ Connect emulator on its own (renran qq-emulator -h)
  weibo-emulator run the Weibo OAuth2 emulator on its own (renran weibo-emulator -h)
  wechat-emulator run the WeChat login emulator on its own (renran wechat-emulator -h)
  bench         drive a service through the load scenarios and report flows/s, latency and
                memory beside reference handlers (renran bench -h)
  import-django bring the users and QQ bindings of a Django Renran site over, keeping
                their passwords (renran import-django -h; docs/django-import.md)
  keys list     list the access-token signing keys and what each does now
  keys rotate   add a signing key, published now, signing in 10 minutes
                (-now: signing at once); nobody is logged out

Configuration comes from RENRAN_* environment variables; see the README.`

// Run is the whole program; main and the end-to-end tests call it. It returns when ctx
// is done (after a graceful shutdown) or on a fatal error.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if help, err := parseFlags(flag.NewFlagSet("renran serve", flag.ContinueOnError), args, stdout,
			"runs the service: the pages, the API and, in development, the emulators; configuration from the RENRAN_* variables (README)"); help || err != nil {
			return err
		}
		return serve(ctx, getenv, stdout, stderr)
	case "migrate":
		if help, err := parseFlags(flag.NewFlagSet("renran migrate", flag.ContinueOnError), args, stdout,
			"applies the database migrations (RENRAN_DATABASE_URL) and exits; serve also applies them at start"); help || err != nil {
			return err
		}
		return migrate(ctx, getenv, stdout)
	case "doctor":
		fs := flag.NewFlagSet("renran doctor", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "print the checks as JSON")
		if help, err := parseFlags(fs, args, stdout,
			"checks the configuration serve would use, with harmless real calls; exits 1 when a check fails"); help || err != nil {
			return err
		}
		return runDoctor(ctx, *asJSON, getenv, stdout)
	case "qq-emulator":
		return runEmulator(ctx, args, getenv, stdout, stderr)
	case "weibo-emulator":
		return runWeiboEmulator(ctx, args, stdout)
	case "wechat-emulator":
		return runWeChatEmulator(ctx, args, stdout)
	case "keys":
		return runKeys(ctx, args, getenv, stdout)
	case "import-django":
		return runImportDjango(ctx, args, getenv, stdout, stderr)
	case "bench":
		return bench.Run(ctx, args, stdout, stderr)
	case "bench-reference": // started by bench, not documented
		return bench.Reference(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// parseFlags parses a subcommand's args. -h prints what the command does and its flags to
// stdout and reports help (the caller returns nil: exit 0, nothing done); an unknown flag or
// a stray argument is an error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, about string) (help bool, err error) {
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: %s [flags]\n\n%s\n", fs.Name(), about)
		if hasFlags(fs) {
			fmt.Fprintln(stdout, "\nflags:")
			fs.PrintDefaults()
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%s: unexpected argument %q (-h for help)", fs.Name(), fs.Arg(0))
	}
	return false, nil
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func migrate(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	db, err := OpenStore(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	where := cfg.SQLitePath
	if cfg.Postgres {
		where = "(PostgreSQL)"
	}
	fmt.Fprintf(stdout, "renran: database %s is at schema version %d\n", where, v)
	return nil
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc, err := Build(ctx, cfg, Options{Logger: log})
	if err != nil {
		return err
	}
	defer svc.Close() // after the listeners: flushes the journal, closes the pools

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set RENRAN_ADDR to another address)", cfg.Addr, err)
	}
	srv, lim := NewHTTPServer(cfg, svc.Handler, log)
	svc.Metrics.Connections(lim.Open, lim.Stats)
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for /metrics: %w (set RENRAN_METRICS_ADDR to another address, or off)", cfg.MetricsAddr, err)
		}
		msrv := &http.Server{Handler: metricsMux(svc), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { _ = msrv.Serve(metricsLn) }()
		defer msrv.Close()
	}
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s for pprof: %w", cfg.PprofAddr, err)
		}
		pmux := http.NewServeMux()
		pmux.HandleFunc("/debug/pprof/", pprof.Index)
		pmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pmux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		psrv := &http.Server{Handler: pmux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = psrv.Serve(pln) }()
		defer psrv.Close()
		fmt.Fprintf(stdout, "renran: pprof on http://%s/debug/pprof/\n", pln.Addr())
	}
	pub := cfg.PublicURL.String()
	fmt.Fprintf(stdout, "renran: listening on http://%s (public URL %s)\n", ln.Addr(), pub)
	engine := "SQLite " + cfg.SQLitePath
	if cfg.Postgres {
		engine = "PostgreSQL"
	}
	shortLived := "in-process (one instance only)"
	if cfg.RedisURL != "" {
		shortLived = "Redis, key prefix " + cfg.RedisPrefix
	}
	fmt.Fprintf(stdout, "renran: database %s; short-lived records %s\n", engine, shortLived)
	fmt.Fprintf(stdout, "renran: at most %d connections, %d per address\n", lim.MaxTotal, lim.MaxPerAddr)
	if metricsLn != nil {
		fmt.Fprintf(stdout, "renran: metrics on http://%s/metrics\n", metricsLn.Addr())
	}
	if !cfg.Production {
		fmt.Fprintf(stdout, "renran: development mode, data in %s\n", cfg.DataDir)
		fmt.Fprintf(stdout, "  open:          %s/login\n", pub)
		fmt.Fprintf(stdout, "  dev tools:     %s/_dev/ (SMS codes, QQ emulator notes)\n", pub)
		fmt.Fprintf(stdout, "  API:           %s/users/login/  %s/oauth/qq/url/\n", pub, pub)
		fmt.Fprintf(stdout, "  QQ emulator:   %s (test users 10001 林枫, 10002 小荏, 10003 QQ测试用户)\n", cfg.QQBaseURL)
		fmt.Fprintf(stdout, "  SMS outbox:    %s/_dev/outbox\n", pub)
		fmt.Fprintf(stdout, "  health:        %s/healthz  %s/readyz\n", pub, pub)
	}

	return serveUntilDone(ctx, srv, ln, func() { log.Info("shutting down") })
}

// metricsMux serves /metrics on the private listener.
func metricsMux(svc *Service) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", svc.Metrics.Handler())
	return mux
}

// serveUntilDone serves on ln until ctx is done, then shuts down gracefully, giving
// requests in flight up to ten seconds.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, onStop func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	onStop()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// devSecret loads the development secret from the data folder, making it on first start.
func devSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if why := config.WeakSecret([]byte(s)); why != "" {
			return nil, fmt.Errorf("the development secret in %s %s: delete the file to make a new one", path, why)
		}
		return []byte(s), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read development secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another instance made it first
			return devSecret(dir)
		}
		return nil, fmt.Errorf("write development secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write development secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

func runEmulator(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("renran qq-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8001", "listen address")
	public := fs.String("public-url", "", "URL browsers reach the emulator at (default http://<addr>)")
	appID := fs.String("app-id", config.DevQQAppID, "the test app's id")
	appKey := fs.String("app-key", config.DevQQAppKey, "the test app's key")
	redirects := fs.String("redirect-uri", "http://127.0.0.1:8000/oauth/qq/callback", "registered redirect URIs, comma-separated (exact match)")
	latency := fs.Duration("latency", 0, "added before every protocol answer, e.g. 50ms")
	expires := fs.Int("expires-in", qqemu.DefaultExpiresIn, "access token lifetime in seconds (QQ now often says 5184000)")
	union := fs.Bool("unionid", false, "grant the unionid permission")
	if help, err := parseFlags(fs, args, stdout, "runs the QQ Connect emulator on its own, for other projects and load tests"); help || err != nil {
		return err
	}
	pub := *public
	if pub == "" {
		pub = "http://" + *addr
	}
	emu := qqemu.New(qqemu.Config{
		Apps:      []qqemu.App{{AppID: *appID, AppKey: *appKey, Name: "荏苒资讯（开发）", RedirectURIs: strings.Split(*redirects, ","), UnionID: *union}},
		PublicURL: strings.TrimRight(pub, "/"), ExpiresIn: *expires, Latency: *latency,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "qq-emulator: listening on http://%s, app %s, redirect URIs %s\n", ln.Addr(), *appID, *redirects)
	return serveUntilDone(ctx, srv, ln, func() {})
}

// runWeiboEmulator is `renran weibo-emulator`: the Weibo emulator as its own process.
func runWeiboEmulator(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("renran weibo-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8002", "listen address")
	public := fs.String("public-url", "", "URL browsers reach the emulator at (default http://<addr>)")
	key := fs.String("app-key", config.DevWeiboAppKey, "the test app's key (client_id)")
	secret := fs.String("app-secret", config.DevWeiboAppSecret, "the test app's secret")
	redirects := fs.String("redirect-uri", "http://127.0.0.1:8000/oauth/weibo/callback", "registered redirect URIs, comma-separated (exact match)")
	latency := fs.Duration("latency", 0, "added before every API answer, e.g. 50ms")
	if help, err := parseFlags(fs, args, stdout, "runs the Weibo OAuth2 emulator on its own (point RENRAN_WEIBO_BASE_URL at it)"); help || err != nil {
		return err
	}
	pub := *public
	if pub == "" {
		pub = "http://" + *addr
	}
	emu := weiboemu.New(weiboemu.Config{
		Apps:      []weiboemu.App{{AppKey: *key, AppSecret: *secret, Name: "荏苒资讯（开发）", RedirectURIs: strings.Split(*redirects, ",")}},
		PublicURL: strings.TrimRight(pub, "/"), Latency: *latency,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "weibo-emulator: listening on http://%s, app %s, redirect URIs %s\n", ln.Addr(), *key, *redirects)
	return serveUntilDone(ctx, srv, ln, func() {})
}

// runWeChatEmulator is `renran wechat-emulator`: the WeChat emulator (website app and
// official account, one open-platform account) as its own process.
func runWeChatEmulator(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("renran wechat-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8003", "listen address")
	public := fs.String("public-url", "", "URL browsers reach the emulator at (default http://<addr>)")
	appID := fs.String("app-id", config.DevWeChatAppID, "the website app's AppID")
	secret := fs.String("app-secret", config.DevWeChatAppSecret, "the website app's AppSecret")
	mpID := fs.String("mp-app-id", config.DevWeChatMPAppID, "the official account's AppID (empty: none)")
	mpSecret := fs.String("mp-app-secret", config.DevWeChatMPAppSecret, "the official account's AppSecret")
	unbound := fs.Bool("mp-unbound", false, "the official account is not bound to the open platform: it gives no unionid")
	redirects := fs.String("redirect-uri", "http://127.0.0.1:8000/oauth/wechat/callback", "registered redirect URIs, comma-separated (exact match)")
	latency := fs.Duration("latency", 0, "added before every API answer, e.g. 50ms")
	if help, err := parseFlags(fs, args, stdout, "runs the WeChat login emulator on its own (point RENRAN_WECHAT_OPEN_URL and RENRAN_WECHAT_API_URL at it)"); help || err != nil {
		return err
	}
	pub := *public
	if pub == "" {
		pub = "http://" + *addr
	}
	apps := []wechatemu.App{{ID: *appID, Secret: *secret, Name: "荏苒资讯（开发）", Kind: wechatemu.Website, RedirectURIs: strings.Split(*redirects, ","), OpenPlatform: "renran-dev"}}
	if *mpID != "" {
		platform := "renran-dev"
		if *unbound {
			platform = ""
		}
		apps = append(apps, wechatemu.App{ID: *mpID, Secret: *mpSecret, Name: "荏苒资讯公众号（开发）", Kind: wechatemu.MP, RedirectURIs: strings.Split(*redirects, ","), OpenPlatform: platform})
	}
	emu := wechatemu.New(wechatemu.Config{Apps: apps, PublicURL: strings.TrimRight(pub, "/"), Latency: *latency})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "wechat-emulator: listening on http://%s, apps %s and %s, redirect URIs %s\n", ln.Addr(), *appID, *mpID, *redirects)
	return serveUntilDone(ctx, srv, ln, func() {})
}
