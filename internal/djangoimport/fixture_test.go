package djangoimport_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The seed's tables as Django's migrate creates them on MySQL/MariaDB and on SQLite: the
// course's User(AbstractUser) with mobile, avatar and nickname, db_table rr_users; and
// OAuthQQUser(BaseModel), db_table rr_oauth_qq, with its one-to-one qq_user.
var djangoDDL = map[string][]string{
	"mysql": {
		"CREATE TABLE `rr_users` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `password` varchar(128) NOT NULL, " +
			"`last_login` datetime(6) NULL, `is_superuser` bool NOT NULL, `username` varchar(150) NOT NULL UNIQUE, " +
			"`first_name` varchar(150) NOT NULL, `last_name` varchar(150) NOT NULL, `email` varchar(254) NOT NULL, " +
			"`is_staff` bool NOT NULL, `is_active` bool NOT NULL, `date_joined` datetime(6) NOT NULL, " +
			"`mobile` varchar(15) NULL UNIQUE, `avatar` varchar(100) NULL, `nickname` varchar(50) NULL)",
		"CREATE TABLE `rr_oauth_qq` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `orders` integer NULL, " +
			"`is_show` bool NOT NULL, `is_deleted` bool NOT NULL, `created_time` datetime(6) NOT NULL, " +
			"`updated_time` datetime(6) NOT NULL, `qq_openid` varchar(64) NOT NULL, `qq_access_token` varchar(500) NOT NULL, " +
			"`qq_user_id` integer NOT NULL UNIQUE, CONSTRAINT `rr_oauth_qq_qq_user_id_fk` FOREIGN KEY (`qq_user_id`) REFERENCES `rr_users` (`id`))",
		"CREATE INDEX `rr_oauth_qq_qq_openid` ON `rr_oauth_qq` (`qq_openid`)",
	},
	"sqlite": {
		`CREATE TABLE "rr_users" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, ` +
			`"last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, ` +
			`"first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, ` +
			`"is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, ` +
			`"mobile" varchar(15) NULL UNIQUE, "avatar" varchar(100) NULL, "nickname" varchar(50) NULL)`,
		`CREATE TABLE "rr_oauth_qq" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "orders" integer NULL, ` +
			`"is_show" bool NOT NULL, "is_deleted" bool NOT NULL, "created_time" datetime NOT NULL, ` +
			`"updated_time" datetime NOT NULL, "qq_openid" varchar(64) NOT NULL, "qq_access_token" varchar(500) NOT NULL, ` +
			`"qq_user_id" integer NOT NULL UNIQUE REFERENCES "rr_users" ("id") DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE INDEX "rr_oauth_qq_qq_openid" ON "rr_oauth_qq" ("qq_openid")`,
	},
}

// djangoUser is a row of rr_users for a fixture; mobile, nickname and avatar nil: NULL.
type djangoUser struct {
	id                       int64
	username, password       string
	email                    string
	active                   bool
	mobile, nickname, avatar any
}

type djangoQQ struct {
	id, user int64
	openid   string
	deleted  bool
}

// hashes are Django 3.2's own hashes (internal/password/testdata), by algorithm and
// password.
func hashes(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../password/testdata/django_hashes.json")
	if err != nil {
		t.Fatal(err)
	}
	var fs []struct{ Algorithm, Password, Encoded string }
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fs {
		cheap := strings.Contains(f.Encoded, "$1000$") || strings.Contains(f.Encoded, "m=512,") || strings.Contains(f.Encoded, "$04$")
		key := f.Algorithm + "/" + f.Password
		if cheap {
			key = "cheap " + key
		}
		if _, ok := out[key]; !ok {
			out[key] = f.Encoded
		}
	}
	return out
}

// fillDjango creates the seed's tables in db (engine mysql or sqlite) and inserts the rows.
func fillDjango(t testing.TB, db *sql.DB, engine string, users []djangoUser, qqs []djangoQQ) {
	t.Helper()
	ctx := context.Background()
	for _, q := range djangoDDL[engine] {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // after a failure, so that the database can be dropped
	insU, err := tx.PrepareContext(ctx, "INSERT INTO rr_users (id, password, last_login, is_superuser, username, first_name, last_name, "+
		"email, is_staff, is_active, date_joined, mobile, avatar, nickname) VALUES (?, ?, NULL, 0, ?, '', '', ?, 0, ?, ?, ?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		active := 0
		if u.active {
			active = 1
		}
		if _, err := insU.ExecContext(ctx, u.id, u.password, u.username, u.email, active, "2021-03-04 05:06:07.123456",
			u.mobile, u.avatar, u.nickname); err != nil {
			t.Fatalf("insert %s: %v", u.username, err)
		}
	}
	insQ, err := tx.PrepareContext(ctx, "INSERT INTO rr_oauth_qq (id, orders, is_show, is_deleted, created_time, updated_time, "+
		"qq_openid, qq_access_token, qq_user_id) VALUES (?, 0, 1, ?, '2021-04-05 06:07:08.000000', '2021-04-05 06:07:08.000000', ?, 'C4F1D2E3B4A5968778695A4B3C2D1E0F', ?)")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qqs {
		if _, err := insQ.ExecContext(ctx, q.id, q.deleted, q.openid, q.user); err != nil {
			t.Fatalf("insert QQ row %d: %v", q.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
