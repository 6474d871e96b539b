package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a database server this test owns, on a port of its own, so that the test
// can stop and start it (an outage) without touching anyone else's.
type Server struct {
	URL   string
	tb    testing.TB
	start func() error
	stop  func() error
}

// Stop stops the server and waits until it no longer accepts connections.
func (s *Server) Stop() {
	s.tb.Helper()
	if err := s.stop(); err != nil {
		s.tb.Fatalf("stop server: %v", err)
	}
}

// Start starts it again on the same port and data.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("start server: %v", err)
	}
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(port int, up bool, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		if (err == nil) == up {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d still %s after %v", port, map[bool]string{true: "closed", false: "open"}[up], within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RedisServer runs a redis-server of the test's own (no persistence) on a free port and
// returns it; it is stopped when the test ends. Without redis-server the test skips (or
// fails under RENRAN_TEST_REQUIRE=1).
func RedisServer(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(tb, "redis-server is not installed: skipping the Redis outage tests (apt-get install redis-server)")
		return nil
	}
	port := freePort(tb)
	dir := tb.TempDir()
	var cmd *exec.Cmd
	s := &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), tb: tb}
	s.start = func() error {
		cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
		if err := cmd.Start(); err != nil {
			return err
		}
		return waitPort(port, true, 10*time.Second)
	}
	s.stop = func() error {
		if cmd == nil || cmd.Process == nil {
			return nil
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cmd = nil
		return waitPort(port, false, 10*time.Second)
	}
	if err := s.start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(func() { _ = s.stop() })
	return s
}

// PostgresServer runs a PostgreSQL cluster of the test's own (initdb in a temporary
// folder, trust authentication, the database postgres) on a free port; it is stopped and
// removed when the test ends. As root, the server runs as the postgres user, since
// PostgreSQL refuses to run as root. Without the server binaries the test skips (or fails
// under RENRAN_TEST_REQUIRE=1).
func PostgresServer(tb testing.TB) *Server {
	tb.Helper()
	bindir := os.Getenv("RENRAN_TEST_PG_BINDIR")
	if bindir == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(matches) > 0 {
			bindir = filepath.Dir(matches[len(matches)-1])
		} else if p, err := exec.LookPath("initdb"); err == nil {
			bindir = filepath.Dir(p)
		}
	}
	if bindir == "" {
		Missing(tb, "PostgreSQL server binaries (initdb, pg_ctl) not found: skipping the PostgreSQL outage tests (apt-get install postgresql, or set RENRAN_TEST_PG_BINDIR)")
		return nil
	}
	base, err := os.MkdirTemp("", "renran-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(base) })
	data := filepath.Join(base, "data")
	var asUser []string // a command prefix running as the postgres user, when we are root
	if os.Geteuid() == 0 {
		pgUser, err := user.Lookup("postgres")
		if err != nil {
			Missing(tb, "running as root and there is no postgres user to run a private PostgreSQL as")
			return nil
		}
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chmod(base, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Mkdir(data, 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(data, uid, gid); err != nil {
			tb.Fatal(err)
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		full := append(append([]string{}, asUser...), args...)
		out, err := exec.Command(full[0], full[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(filepath.Join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		tb.Fatalf("initdb: %v", err)
	}
	port := freePort(tb)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50", port, data)
	s := &Server{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), tb: tb}
	s.start = func() error {
		return run(filepath.Join(bindir, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(data, "log"), "-w", "-t", "30", "start")
	}
	s.stop = func() error {
		if err := run(filepath.Join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "-t", "30", "stop"); err != nil {
			return err
		}
		return waitPort(port, false, 10*time.Second)
	}
	if err := s.start(); err != nil {
		tb.Fatalf("start PostgreSQL: %v", err)
	}
	tb.Cleanup(func() { _ = s.stop() })
	return s
}
