// Package djangoimport brings the users and QQ bindings of a Django Renran site into the
// store (`renran import-django`, docs/django-import.md): Django's password hashes are kept
// and verified at login until the first login rehashes them (package password), each
// rr_oauth_qq row becomes a QQ identity, and every row skipped or changed is written to a
// report. Batches are transactions holding their Django-id mappings, so an import can be
// run again and resumed after a crash. Imports: account, password, store, and the MySQL,
// PostgreSQL and SQLite drivers to read the Django database.
package djangoimport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/password"
	"github.com/renran/accounts/internal/store"
)

// Options say what to import and how.
type Options struct {
	UsersTable string // the user model's table; default rr_users
	QQTable    string // the QQ bindings; default rr_oauth_qq
	QQAppID    string // the QQ app the openids belong to; needed when the QQ table has rows
	MediaURL   string // prefixed to a relative avatar path (Django's MEDIA_URL, absolute)
	DryRun     bool   // decide and report every row, write nothing
	BatchSize  int    // rows per transaction; default 1000
	Progress   io.Writer
	Now        func() time.Time
}

// Summary counts what an import did.
type Summary struct {
	Users, UsersImported, UsersAlready, UsersSkipped, UsersAdjusted int
	QQ, QQImported, QQAlready, QQSkipped                            int
	QQTable                                                         bool // the QQ table exists
	Elapsed                                                         time.Duration
}

// userColumns are the columns read from the user table: Django's AbstractUser ones that
// map to something, and Renran's own. id, username and password are required.
var userColumns = []string{"id", "username", "password", "email", "is_active", "date_joined", "mobile", "nickname", "avatar"}

var requiredUser = []string{"id", "username", "password"}

// ignoredUserColumns are read by nobody, and said so once (docs/django-import.md).
var ignoredUserColumns = []string{"last_login", "is_superuser", "is_staff", "first_name", "last_name"}

var qqColumns = []string{"id", "qq_user_id", "qq_openid", "is_deleted", "created_time"}

var requiredQQ = []string{"id", "qq_user_id", "qq_openid"}

// Run imports from src into db, writing the report to rep.
func Run(ctx context.Context, src *Source, db *store.DB, rep *Report, o Options) (Summary, error) {
	if o.UsersTable == "" {
		o.UsersTable = "rr_users"
	}
	if o.QQTable == "" {
		o.QQTable = "rr_oauth_qq"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.MediaURL != "" {
		if u, err := url.Parse(o.MediaURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Summary{}, fmt.Errorf("--media-url %q: want an absolute http(s) URL, e.g. https://renran.example/media/", o.MediaURL)
		}
	}
	im := &importer{o: o, src: src, db: db, rep: rep, start: o.Now(),
		seen: map[string]map[string]bool{"username": {}, "mobile": {}, "email": {}, "nickname": {}}, imported: map[int64]int64{}}
	// Both tables are looked at first, so that a missing table, column or app id stops the
	// import before it writes anything.
	userCols, have, err := im.columns(ctx, o.UsersTable, userColumns, requiredUser)
	if err != nil {
		return im.sum, err
	}
	qqCols, qqTotal, err := im.qqTable(ctx)
	if err != nil {
		return im.sum, err
	}
	if err := im.users(ctx, userCols, have); err != nil {
		return im.sum, err
	}
	if qqCols != nil {
		if err := im.qq(ctx, qqCols, qqTotal); err != nil {
			return im.sum, err
		}
	}
	im.sum.Elapsed = o.Now().Sub(im.start)
	return im.sum, nil
}

type importer struct {
	o     Options
	src   *Source
	db    *store.DB
	rep   *Report
	sum   Summary
	start time.Time
	// seen holds the values rows of this run took, by column, so that two rows of the
	// source never get the same one (the store's unique indexes would refuse the second;
	// in a dry run nothing is written to refuse it).
	seen map[string]map[string]bool
	// imported maps the Django ids imported by this run to their users (a dry run: the
	// negated Django id), for the QQ rows.
	imported map[int64]int64
	lastShow time.Time
	phase    time.Time // when the table being read was started
}

// columns reads table's columns, keeps those of want the table has (and returns all it
// has), and fails naming the required ones it lacks.
func (im *importer) columns(ctx context.Context, table string, want, required []string) ([]string, map[string]bool, error) {
	have, err := im.src.Columns(ctx, table)
	if err != nil {
		return nil, nil, err
	}
	var missing, cols []string
	for _, c := range required {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("table %s lacks the column(s) %s (see --users-table, --qq-table)", table, strings.Join(missing, ", "))
	}
	for _, c := range want {
		if have[c] {
			cols = append(cols, c)
		}
	}
	return cols, have, nil
}

// eachBatch reads table in id order, a batch at a time: decode turns each row (its id,
// and get for its other columns) into an R, batch takes them, and a progress line follows
// (done counts the rows handled so far, of total).
func eachBatch[R any](ctx context.Context, im *importer, table, what string, cols []string, total int64, done *int,
	decode func(id int64, get func(col string) sql.NullString) R, batch func([]R) error) error {
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		index[c] = i
	}
	im.phase = im.o.Now()
	after := int64(math.MinInt64)
	for {
		page, err := im.src.Page(ctx, table, cols, after, im.o.BatchSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		rows := make([]R, 0, len(page))
		for _, vals := range page {
			id, err := strconv.ParseInt(vals[index["id"]].String, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: id %q is not an integer", table, vals[index["id"]].String)
			}
			rows = append(rows, decode(id, func(col string) sql.NullString {
				if i, ok := index[col]; ok {
					return vals[i]
				}
				return sql.NullString{}
			}))
			after = id
		}
		if err := batch(rows); err != nil {
			return err
		}
		im.show(what, *done, total, false)
	}
	im.show(what, *done, total, true)
	return nil
}

// userRow is one row of the user table.
type userRow struct {
	id                                                  int64
	username, password, email, mobile, nickname, avatar string
	active                                              bool
	joined                                              time.Time
}

func (im *importer) users(ctx context.Context, cols []string, have map[string]bool) error {
	var ignored []string
	for _, c := range ignoredUserColumns {
		if have[c] {
			ignored = append(ignored, c)
		}
	}
	fmt.Fprintf(im.o.Progress, "renran: reading %s (%s); not imported: %s\n", im.o.UsersTable, strings.Join(cols, ", "), strings.Join(ignored, ", "))
	total, err := im.src.Count(ctx, im.o.UsersTable)
	if err != nil {
		return err
	}
	decode := func(id int64, get func(string) sql.NullString) userRow {
		return userRow{id: id, username: get("username").String, password: get("password").String, email: get("email").String,
			mobile: get("mobile").String, nickname: get("nickname").String, avatar: get("avatar").String,
			active: parseBool(get("is_active"), true), joined: parseTime(get("date_joined"))}
	}
	return eachBatch(ctx, im, im.o.UsersTable, "users", cols, total, &im.sum.Users, decode,
		func(rows []userRow) error { return im.userBatch(ctx, rows) })
}

// decided is a row made ready to import, with the report entries it earned.
type decided struct {
	row     userRow
	user    account.User
	entries []Entry
}

func (im *importer) userBatch(ctx context.Context, rows []userRow) error {
	im.sum.Users += len(rows)
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	done, err := im.db.DjangoUserIDs(ctx, ids)
	if err != nil {
		return err
	}
	var todo []userRow
	for _, r := range rows {
		if id, ok := done[r.id]; ok {
			im.sum.UsersAlready++
			im.imported[r.id] = id
			continue
		}
		todo = append(todo, r)
	}
	if len(todo) == 0 {
		return nil
	}
	// Which of the values the rows bring some account has already: one query a column.
	cand := map[string][]string{}
	for _, r := range todo {
		cand["username"] = append(cand["username"], r.username)
		if m, ok := account.NormalizeMobile(r.mobile); ok {
			cand["mobile"] = append(cand["mobile"], m)
		}
		if e, ok := account.NormalizeEmail(r.email); ok {
			cand["email"] = append(cand["email"], e)
		}
		if n, ok := account.NormalizeNickname(r.nickname); ok {
			cand["nickname"] = append(cand["nickname"], n)
		}
		if n, ok := account.NormalizeNickname(r.username); ok {
			cand["nickname"] = append(cand["nickname"], n)
		}
	}
	taken := map[string]map[string]bool{}
	for col, vals := range cand {
		if taken[col], err = im.db.TakenValues(ctx, col, vals); err != nil {
			return err
		}
	}
	var ready []decided
	for _, r := range todo {
		d, ok := im.decide(r, taken)
		if !ok {
			im.sum.UsersSkipped++
			if err := im.write(d.entries); err != nil {
				return err
			}
			continue
		}
		ready = append(ready, d)
	}
	return im.insertUsers(ctx, ready)
}

// unavailable says a value is some account's already, or an earlier row's of this run.
func (im *importer) unavailable(taken map[string]map[string]bool, col, v string) string {
	switch {
	case taken[col][v]:
		return "an account in the store has it"
	case im.seen[col][v]:
		return "an earlier row of this import has it"
	}
	return ""
}

// decide maps a Django row to a user, or says why it cannot be imported (ok false).
func (im *importer) decide(r userRow, taken map[string]map[string]bool) (d decided, ok bool) {
	d.row = r
	add := func(action, field, reason, detail string) {
		d.entries = append(d.entries, Entry{Table: im.o.UsersTable, ID: r.id, Username: r.username, Action: action,
			Field: field, Reason: reason, Detail: detail})
	}
	if why := usernameProblem(r.username); why != "" {
		add(Skipped, "username", "username_invalid", why)
		return d, false
	}
	if why := im.unavailable(taken, "username", r.username); why != "" {
		add(Skipped, "username", "username_taken", "username "+strconv.Quote(r.username)+": "+why)
		return d, false
	}
	u := account.User{Username: r.username, Disabled: !r.active, CreatedAt: r.joined, TokenVersion: 1}
	if r.mobile != "" {
		m, valid := account.NormalizeMobile(r.mobile)
		switch why := im.unavailable(taken, "mobile", m); {
		case !valid:
			add(Adjusted, "mobile", "mobile_invalid", "mobile "+strconv.Quote(r.mobile)+" is not a mainland China mobile number: imported without one")
		case why != "":
			add(Adjusted, "mobile", "mobile_taken", "mobile "+account.MaskMobile(m)+": "+why+"; imported without one")
		default:
			u.Mobile = m
		}
	}
	if r.email != "" {
		e, valid := account.NormalizeEmail(r.email)
		switch why := im.unavailable(taken, "email", e); {
		case !valid:
			add(Adjusted, "email", "email_invalid", "e-mail "+strconv.Quote(r.email)+" is not an address: imported without one")
		case why != "":
			add(Adjusted, "email", "email_taken", "e-mail "+strconv.Quote(e)+": "+why+"; imported without one")
		default:
			u.Email = e
		}
	}
	u.Nickname = im.nickname(r, taken, add)
	switch _, err := password.CheckDjango(r.password); {
	case err == nil:
		u.PasswordHash = r.password
	case errors.Is(err, password.ErrUnusable):
		add(Adjusted, "password", "password_unusable", "Django's unusable password: imported without a password (QQ login or 找回密码)")
	case errors.Is(err, password.ErrUnsupported):
		add(Adjusted, "password", "password_unsupported", err.Error()+": imported without a password (找回密码)")
	case errors.Is(err, password.ErrOverCap):
		add(Adjusted, "password", "password_over_cap", err.Error()+": imported without a password (找回密码)")
	default:
		add(Adjusted, "password", "password_malformed", err.Error()+": imported without a password (找回密码)")
	}
	u.Avatar = im.avatar(r, add)
	if kind, v := account.ParseLogin(r.username); kind != account.ByUsername && v != u.Mobile && v != u.Email {
		add(Warning, "username", "username_not_a_login", "the username reads as a mobile or an e-mail, so it cannot be used to log in; the user logs in with the mobile or e-mail")
	}
	if u.PasswordHash == "" && u.Email == "" {
		// Recovery is by e-mail (找回密码); there is no login by SMS code.
		add(Warning, "", "no_way_in", "no usable password and no e-mail to recover one: only a QQ binding can log this user in")
	}
	for col, v := range map[string]string{"username": u.Username, "mobile": u.Mobile, "email": u.Email, "nickname": u.Nickname} {
		if v != "" {
			im.seen[col][v] = true
		}
	}
	d.user = u
	return d, true
}

// nickname returns the row's nickname when it keeps our rules and is free; else the
// username when it does (said in the report only if the row had a nickname); else a new
// one, 用户 and eight letters or digits.
func (im *importer) nickname(r userRow, taken map[string]map[string]bool, add func(action, field, reason, detail string)) string {
	reason, detail := "", ""
	if strings.TrimSpace(r.nickname) != "" {
		n, valid := account.NormalizeNickname(r.nickname)
		why := im.unavailable(taken, "nickname", n)
		switch {
		case !valid:
			reason, detail = "nickname_invalid", "nickname "+strconv.Quote(r.nickname)+" breaks the rule (2–20 letters, digits, CJK, _ - ·)"
		case why != "":
			reason, detail = "nickname_taken", "nickname "+strconv.Quote(n)+": "+why
		default:
			return n
		}
	}
	n, valid := account.NormalizeNickname(r.username)
	if valid && im.unavailable(taken, "nickname", n) == "" {
		if reason != "" {
			add(Adjusted, "nickname", reason, detail+"; the username "+strconv.Quote(n)+" instead")
		}
		return n
	}
	n = generatedNickname()
	if reason == "" {
		reason, detail = "nickname_missing", "no nickname, and the username does not make one"
	}
	add(Adjusted, "nickname", reason, detail+"; "+strconv.Quote(n)+" instead")
	return n
}

func generatedNickname() string { return "用户" + account.RandomName(8) }

// avatar returns the avatar URL: an absolute http(s) URL as it is; a path relative to
// Django's MEDIA_ROOT (what an ImageField stores) under --media-url.
func (im *importer) avatar(r userRow, add func(action, field, reason, detail string)) string {
	a := strings.TrimSpace(r.avatar)
	if a == "" {
		return ""
	}
	if len(a) > 1024 || !utf8.ValidString(a) || strings.ContainsAny(a, "\"'<>\\ \t\r\n") {
		add(Adjusted, "avatar", "avatar_invalid", "avatar "+strconv.Quote(a)+" is not a usable URL or path: left out")
		return ""
	}
	u, err := url.Parse(a)
	switch {
	case err != nil:
		add(Adjusted, "avatar", "avatar_invalid", "avatar "+strconv.Quote(a)+" is not a usable URL or path: left out")
		return ""
	case u.Scheme == "https" || u.Scheme == "http":
		if u.Host == "" {
			add(Adjusted, "avatar", "avatar_invalid", "avatar "+strconv.Quote(a)+" has no host: left out")
			return ""
		}
		return a
	case u.Scheme != "" || u.Host != "":
		add(Adjusted, "avatar", "avatar_invalid", "avatar "+strconv.Quote(a)+" is not an http(s) URL: left out")
		return ""
	case im.o.MediaURL == "":
		add(Adjusted, "avatar", "avatar_relative", "avatar "+strconv.Quote(a)+" is a path under Django's MEDIA_ROOT: give --media-url to keep it; left out")
		return ""
	}
	return strings.TrimSuffix(im.o.MediaURL, "/") + "/" + strings.TrimPrefix(a, "/")
}

// usernameProblem says why a Django username cannot be ours: Django's validators allow
// letters, digits and @.+-_ up to 150 characters; a row edited by hand may hold anything.
func usernameProblem(s string) string {
	switch {
	case s == "":
		return "empty username"
	case !utf8.ValidString(s):
		return "the username is not UTF-8"
	case utf8.RuneCountInString(s) > 150:
		return "the username is longer than 150 characters"
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "the username holds white space, control or invisible characters: " + strconv.QuoteToASCII(s)
		}
	}
	return ""
}

// insertUsers writes a batch in one transaction; when the store refuses it (a value taken
// meanwhile by someone registering), row by row, reporting the rows refused.
func (im *importer) insertUsers(ctx context.Context, ready []decided) error {
	if len(ready) == 0 {
		return nil
	}
	if im.o.DryRun {
		for _, d := range ready {
			im.imported[d.row.id] = -d.row.id
			im.imported1(d)
		}
		return im.flush(ready)
	}
	batch := make([]store.DjangoUser, len(ready))
	for i, d := range ready {
		batch[i] = store.DjangoUser{DjangoID: d.row.id, User: d.user}
	}
	ids, err := im.db.ImportDjangoUsers(ctx, batch)
	if err == nil {
		for i, d := range ready {
			im.imported[d.row.id] = ids[i]
			im.imported1(d)
		}
		return im.flush(ready)
	}
	if account.ErrorOf(err) == nil {
		return err
	}
	for i, d := range ready {
		ids, err := im.db.ImportDjangoUsers(ctx, batch[i:i+1])
		if e := account.ErrorOf(err); e != nil {
			im.sum.UsersSkipped++
			if err := im.write([]Entry{{Table: im.o.UsersTable, ID: d.row.id, Username: d.row.username, Action: Skipped,
				Reason: e.Code, Detail: "the store refused the row (a value was taken meanwhile)"}}); err != nil {
				return err
			}
			continue
		} else if err != nil {
			return err
		}
		im.imported[d.row.id] = ids[0]
		im.imported1(d)
		if err := im.write(d.entries); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) imported1(d decided) {
	im.sum.UsersImported++
	for _, e := range d.entries {
		if e.Action == Adjusted {
			im.sum.UsersAdjusted++
			return
		}
	}
}

func (im *importer) flush(ds []decided) error {
	for _, d := range ds {
		if err := im.write(d.entries); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) write(es []Entry) error {
	for _, e := range es {
		if err := im.rep.Add(e); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	return nil
}

// qqRow is one row of the QQ table.
type qqRow struct {
	id, djangoUser int64
	openid         string
	deleted        bool
	created        time.Time
}

// qqTable returns the columns to read of the QQ table and its row count; no columns
// when there is no such table.
func (im *importer) qqTable(ctx context.Context) ([]string, int64, error) {
	cols, _, err := im.columns(ctx, im.o.QQTable, qqColumns, requiredQQ)
	if errors.Is(err, ErrNoTable) {
		fmt.Fprintf(im.o.Progress, "renran: no table %s: no QQ bindings to import\n", im.o.QQTable)
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	im.sum.QQTable = true
	total, err := im.src.Count(ctx, im.o.QQTable)
	if err != nil {
		return nil, 0, err
	}
	if total > 0 && im.o.QQAppID == "" {
		return nil, 0, fmt.Errorf("%s has %d rows, and openids belong to one QQ app: give --qq-app-id (or set RENRAN_QQ_APP_ID)", im.o.QQTable, total)
	}
	return cols, total, nil
}

func (im *importer) qq(ctx context.Context, cols []string, total int64) error {
	seenOpenID, seenUser := map[string]bool{}, map[int64]bool{}
	decode := func(id int64, get func(string) sql.NullString) qqRow {
		user, _ := strconv.ParseInt(get("qq_user_id").String, 10, 64)
		return qqRow{id: id, djangoUser: user, openid: strings.TrimSpace(get("qq_openid").String),
			deleted: parseBool(get("is_deleted"), false), created: parseTime(get("created_time"))}
	}
	return eachBatch(ctx, im, im.o.QQTable, "QQ bindings", cols, total, &im.sum.QQ, decode,
		func(rows []qqRow) error { return im.qqBatch(ctx, rows, seenOpenID, seenUser) })
}

func (im *importer) qqBatch(ctx context.Context, rows []qqRow, seenOpenID map[string]bool, seenUser map[int64]bool) error {
	im.sum.QQ += len(rows)
	skip := func(r qqRow, reason, detail string) error {
		im.sum.QQSkipped++
		return im.rep.Add(Entry{Table: im.o.QQTable, ID: r.id, Action: Skipped, Field: "qq_openid", Reason: reason, Detail: detail})
	}
	// The users the rows name: imported by this run, or by an earlier one.
	var ask []int64
	for _, r := range rows {
		if _, ok := im.imported[r.djangoUser]; !ok {
			ask = append(ask, r.djangoUser)
		}
	}
	earlier, err := im.db.DjangoUserIDs(ctx, ask)
	if err != nil {
		return err
	}
	userOf := func(r qqRow) (int64, bool) {
		if id, ok := im.imported[r.djangoUser]; ok {
			return id, true
		}
		id, ok := earlier[r.djangoUser]
		return id, ok
	}
	var openids []string
	var users []int64
	for _, r := range rows {
		openids = append(openids, r.openid)
		if id, ok := userOf(r); ok {
			users = append(users, id)
		}
	}
	owners, err := im.db.OpenIDOwners(ctx, account.ProviderQQ, im.o.QQAppID, openids)
	if err != nil {
		return err
	}
	hasQQ, err := im.db.ProviderUsers(ctx, account.ProviderQQ, users)
	if err != nil {
		return err
	}
	var batch []account.Identity
	var batchRows []qqRow
	for _, r := range rows {
		uid, found := userOf(r)
		var err error
		switch owner, bound := owners[r.openid]; {
		case r.deleted:
			err = skip(r, "qq_deleted", "is_deleted is set")
		case !validOpenID(r.openid):
			err = skip(r, "openid_invalid", "openid "+strconv.Quote(r.openid)+" is not 1–64 letters and digits")
		case !found:
			err = skip(r, "user_not_imported", fmt.Sprintf("user %d was not imported (skipped, or not in %s)", r.djangoUser, im.o.UsersTable))
		case bound && owner == uid:
			im.sum.QQAlready++
		case bound || seenOpenID[r.openid]:
			err = skip(r, "qq_already_bound", "this openid is bound to another account")
		case hasQQ[uid] != "" || seenUser[uid]:
			err = skip(r, "account_has_qq", fmt.Sprintf("user %d has another QQ bound already", r.djangoUser))
		default:
			seenOpenID[r.openid], seenUser[uid] = true, true
			batch = append(batch, account.Identity{Provider: account.ProviderQQ, AppID: im.o.QQAppID, OpenID: r.openid,
				UserID: uid, CreatedAt: r.created})
			batchRows = append(batchRows, r)
		}
		if err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	if len(batch) == 0 {
		return nil
	}
	if im.o.DryRun {
		im.sum.QQImported += len(batch)
		return nil
	}
	err = im.db.ImportIdentities(ctx, batch)
	if err == nil {
		im.sum.QQImported += len(batch)
		return nil
	}
	if account.ErrorOf(err) == nil {
		return err
	}
	for i := range batch {
		err := im.db.ImportIdentities(ctx, batch[i:i+1])
		if e := account.ErrorOf(err); e != nil {
			if err := skip(batchRows[i], e.Code, "the store refused the binding (bound meanwhile)"); err != nil {
				return err
			}
			continue
		} else if err != nil {
			return err
		}
		im.sum.QQImported++
	}
	return nil
}

// validOpenID: QQ's openids are 32 hexadecimal characters; anything of letters and digits
// up to 64 (the seed's column) is kept, nothing else.
func validOpenID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// show writes a progress line at most every second, and the last one.
func (im *importer) show(what string, done int, total int64, last bool) {
	now := im.o.Now()
	if !last && now.Sub(im.lastShow) < time.Second {
		return
	}
	im.lastShow = now
	el := now.Sub(im.phase).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el
	}
	line := fmt.Sprintf("renran: %s %d/%d", what, done, total)
	if total > 0 {
		line += fmt.Sprintf(" (%.0f%%)", 100*float64(done)/float64(total))
	}
	line += fmt.Sprintf(", %.0f rows/s", rate)
	if !last && rate > 0 && int64(done) < total {
		line += fmt.Sprintf(", ETA %s", time.Duration(float64(total-int64(done))/rate*float64(time.Second)).Round(time.Second))
	}
	fmt.Fprintln(im.o.Progress, line)
}
