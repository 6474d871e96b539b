// Package bench is `renran bench`: it drives a running service over HTTP with many
// concurrent virtual users through the scenarios of docs/requirements.md §7 (qq-returning,
// qq-new, password-login, me, refresh), and measures, in the same set-up, reference
// handlers (a bare net/http handler for me, a minimal returning-QQ handler) so that the
// service is reported as a ratio of what Go itself does on this machine. By default it
// starts everything as separate processes of this binary: the QQ emulator (with a given
// latency), the service (SQLite in a temporary folder, rate limits and captcha off) and
// the reference server. It only ever targets loopback addresses and stops by itself.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Scenarios are the scenario names, in the order "all" runs them.
var Scenarios = []string{"me", "refresh", "qq-returning", "qq-new", "password-login"}

// options are the command's flags.
type options struct {
	scenarios   []string
	conc        int
	duration    time.Duration
	warmup      time.Duration
	qqLatency   time.Duration
	target      string // a running service; empty: start one
	emulator    string // the emulator the target uses; empty: target/_dev/qq
	pid         int    // the target's PID, for its peak RSS
	reference   bool
	keep        bool   // keep the started service's data folder
	pprof       string // the started service's RENRAN_PPROF
	stdout, log io.Writer
}

// Run is `renran bench [flags]`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("renran bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	scenario := fs.String("scenario", "qq-returning", "what to run: "+strings.Join(Scenarios, ", ")+", or all")
	o := options{stdout: stdout, log: stderr}
	fs.IntVar(&o.conc, "c", 32, "concurrent virtual users")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to measure, after the warm-up")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "how long to run before measuring")
	fs.DurationVar(&o.qqLatency, "qq-latency", 0, "latency the started QQ emulator adds to every answer (e.g. 50ms)")
	fs.StringVar(&o.target, "target", "", "a running service on a loopback address (default: start one, on SQLite); run it with RENRAN_RATE_LIMITS=off, RENRAN_CAPTCHA=off and RENRAN_TRUSTED_PROXIES=127.0.0.1 (each virtual user claims an address of its own)")
	fs.StringVar(&o.emulator, "emulator", "", "with -target: the QQ emulator it uses (default: <target>/_dev/qq)")
	fs.IntVar(&o.pid, "pid", 0, "with -target: the service's PID, to report its peak resident memory")
	fs.BoolVar(&o.reference, "reference", true, "measure the reference handlers too, in the same set-up")
	fs.BoolVar(&o.keep, "keep", false, "keep the started service's data folder")
	fs.StringVar(&o.pprof, "pprof", "", "the started service serves Go's profiler here (RENRAN_PPROF), e.g. 127.0.0.1:6060")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: renran bench [flags]\n\ndrives the service over HTTP through a scenario and reports flows/s, latency percentiles,\nerrors and peak memory, beside reference handlers measured in the same set-up\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case *scenario == "all":
		o.scenarios = Scenarios
	case slices.Contains(Scenarios, *scenario):
		o.scenarios = []string{*scenario}
	default:
		return fmt.Errorf("renran bench: unknown scenario %q (want %s or all)", *scenario, strings.Join(Scenarios, ", "))
	}
	if o.conc < 1 || o.conc > 5000 || o.duration <= 0 || o.duration > 10*time.Minute || o.warmup < 0 {
		return errors.New("renran bench: -c is 1 to 5000, -d at most 10m")
	}
	for _, u := range []string{o.target, o.emulator} {
		if u != "" && !loopback(u) {
			return fmt.Errorf("renran bench: %s is not a loopback address; bench only ever targets this machine", u)
		}
	}
	return run(ctx, o)
}

// loopback reports whether the URL's host is a loopback address (or localhost).
func loopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Result is one scenario's measurement.
type Result struct {
	Scenario     string            `json:"scenario"`
	Concurrency  int               `json:"concurrency"`
	QQLatencyMS  int               `json:"qq_latency_ms"`
	Seconds      float64           `json:"seconds"`
	Flows        int               `json:"flows"`
	FlowsPerSec  float64           `json:"flows_per_sec"`
	P50MS        float64           `json:"p50_ms"`
	P90MS        float64           `json:"p90_ms"`
	P99MS        float64           `json:"p99_ms"`
	MaxMS        float64           `json:"max_ms"`
	Errors       int               `json:"errors"`
	ErrorKinds   map[string]int    `json:"error_kinds,omitempty"`
	Examples     map[string]string `json:"-"`
	PeakRSSMB    float64           `json:"peak_rss_mb,omitempty"`
	Reference    float64           `json:"reference_flows_per_sec,omitempty"` // the reference's flows/s in the same set-up
	ReferenceIs  string            `json:"reference,omitempty"`
	Ratio        float64           `json:"ratio,omitempty"` // FlowsPerSec / Reference
	RefP99MS     float64           `json:"reference_p99_ms,omitempty"`
	FloorPerSec  float64           `json:"floor_flows_per_sec,omitempty"` // qq-returning with QQ latency: c / (2·latency)
	FloorRatio   float64           `json:"floor_ratio,omitempty"`
	HashMS       float64           `json:"hash_ms,omitempty"` // password-login: one Argon2id hash here
	Cores        int               `json:"cores"`
	GoMaxProcs   int               `json:"gomaxprocs"`
	ErrorExample string            `json:"error_example,omitempty"`
}

// report prints the results as a table and one machine-readable line per scenario.
func report(w io.Writer, rs []Result) {
	fmt.Fprintf(w, "\n%-15s %5s %6s %10s %8s %8s %8s %8s %7s %8s %12s %7s\n",
		"scenario", "c", "qq ms", "flows/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "RSS MB", "reference/s", "ratio")
	for _, r := range rs {
		ref, ratio := "-", "-"
		if r.Reference > 0 {
			ref, ratio = fmt.Sprintf("%.0f", r.Reference), fmt.Sprintf("%.2f", r.Ratio)
		}
		rss := "-"
		if r.PeakRSSMB > 0 {
			rss = fmt.Sprintf("%.0f", r.PeakRSSMB)
		}
		fmt.Fprintf(w, "%-15s %5d %6d %10.0f %8.1f %8.1f %8.1f %8.1f %7d %8s %12s %7s\n",
			r.Scenario, r.Concurrency, r.QQLatencyMS, r.FlowsPerSec, r.P50MS, r.P90MS, r.P99MS, r.MaxMS, r.Errors, rss, ref, ratio)
		if r.FloorPerSec > 0 {
			fmt.Fprintf(w, "%15s the 2-round-trip floor at this latency: %.0f flows/s; the service reaches %.2f of it\n", "", r.FloorPerSec, r.FloorRatio)
		}
		if r.HashMS > 0 {
			fmt.Fprintf(w, "%15s one Argon2id hash here: %.1f ms; %d cores ÷ that = %.0f logins/s (the reference)\n", "", r.HashMS, r.Cores, r.Reference)
		}
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "%15s error %s × %d, e.g. %s\n", "", k, r.ErrorKinds[k], r.Examples[k])
		}
	}
	for _, r := range rs {
		r.Examples = nil
		b, _ := json.Marshal(r)
		fmt.Fprintf(w, "BENCH %s\n", b)
	}
}

// peakRSS samples /proc/<pid>/status every 100 ms until ctx ends and returns the largest
// VmRSS seen, in MB (0 where /proc is not there).
func peakRSS(ctx context.Context, pid int) func() float64 {
	peak := make(chan float64, 1)
	go func() {
		var max float64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := rssKB(pid); kb > max {
				max = kb
			}
			select {
			case <-ctx.Done():
				peak <- max / 1024
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 { return <-peak }
}

func rssKB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:")), "%f", &kb)
			return kb
		}
	}
	return 0
}

// percentile returns the p-th percentile (0–100) of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return float64(sorted[i]) / float64(time.Millisecond)
}

var cores = runtime.NumCPU()
