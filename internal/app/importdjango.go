package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/renran/accounts/internal/config"
	"github.com/renran/accounts/internal/djangoimport"
)

// runImportDjango is `renran import-django`: a Django Renran site's users and QQ bindings
// into the configured store (docs/django-import.md).
func runImportDjango(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("renran import-django", flag.ContinueOnError)
	from := fs.String("from", "", "the Django database: mysql://user:pass@host:3306/db, postgres://…, or a SQLite file")
	users := fs.String("users-table", "rr_users", "the table of the user model (Django's AbstractUser columns, and Renran's mobile, nickname, avatar)")
	qq := fs.String("qq-table", "rr_oauth_qq", "the table of QQ bindings (qq_user_id, qq_openid, is_deleted)")
	appID := fs.String("qq-app-id", "", "the QQ app id the stored openids belong to (default: RENRAN_QQ_APP_ID)")
	media := fs.String("media-url", "", "Django's MEDIA_URL, absolute (https://renran.example/media/): relative avatar paths are kept under it")
	report := fs.String("report", "", "where to write the report of rows skipped or changed, as JSON lines (default: stdout with -dry-run, else django-import-<time>.jsonl here)")
	dry := fs.Bool("dry-run", false, "read and decide every row, print the report, write nothing")
	batch := fs.Int("batch", 1000, "rows per transaction")
	if help, err := parseFlags(fs, args, stdout,
		"imports the users and QQ bindings of a Django Renran site into the configured database, keeping Django's\npassword hashes (replaced by argon2id at each user's first login); safe to run again; see docs/django-import.md"); help || err != nil {
		return err
	}
	if *from == "" {
		return errors.New("renran import-django: --from is required (-h for help)")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if *appID == "" {
		*appID = cfg.QQAppID
	}
	src, err := djangoimport.OpenSource(ctx, *from)
	if err != nil {
		return err
	}
	defer src.Close()
	// A batch of 1,000 rows is one transaction: against a distant database it may take
	// longer than a request's bound (RENRAN_DB_TIMEOUT).
	cfg.DBTimeout = max(cfg.DBTimeout, 2*time.Minute)
	db, err := OpenStore(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	defer db.Close()

	out := stdout
	path := *report
	if path == "" && !*dry {
		path = "django-import-" + time.Now().Format("20060102-150405") + ".jsonl"
	}
	if path != "" && path != "-" {
		// The report quotes usernames and e-mails: for the operator only.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("--report: %w", err)
		}
		defer f.Close()
		out = f
	}
	rep := djangoimport.NewReport(out)
	mode := ""
	if *dry {
		mode = " (dry run: nothing is written)"
	}
	fmt.Fprintf(stderr, "renran: importing from %s into %s%s\n", src.Engine(), db.Engine(), mode)
	sum, err := djangoimport.Run(ctx, src, db, rep, djangoimport.Options{UsersTable: *users, QQTable: *qq, QQAppID: *appID,
		MediaURL: *media, DryRun: *dry, BatchSize: *batch, Progress: stderr})
	w := stderr
	verb := "imported"
	if *dry {
		verb = "would import"
	}
	fmt.Fprintf(w, "renran: users: %d read, %d %s (%d with a field changed or left out), %d imported before, %d skipped\n",
		sum.Users, sum.UsersImported, verb, sum.UsersAdjusted, sum.UsersAlready, sum.UsersSkipped)
	if sum.QQTable {
		fmt.Fprintf(w, "renran: QQ bindings: %d read, %d %s, %d imported before, %d skipped\n", sum.QQ, sum.QQImported, verb, sum.QQAlready, sum.QQSkipped)
	}
	counts := rep.Counts()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "renran:   %-40s %d\n", k, counts[k])
	}
	if path != "" && path != "-" {
		fmt.Fprintf(w, "renran: report: %s\n", path)
	}
	if err != nil {
		return fmt.Errorf("import-django stopped (what was written stays; run it again to resume): %w", err)
	}
	fmt.Fprintf(w, "renran: done in %s\n", sum.Elapsed.Round(time.Millisecond))
	return nil
}
