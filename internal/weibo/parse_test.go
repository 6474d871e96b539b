package weibo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fixtures are the bodies quoted in docs/weibo.md (the doc's samples and real answers).
func TestParseToken(t *testing.T) {
	tests := []struct {
		file     string
		status   int
		want     Token
		wantCode int
	}{
		{"token_realname.json", 200, Token{"2.00Vp7dEEeYcbDB399a287a87jsJhJC", 157679999, "3733034601"}, 0},
		{"token_scope.json", 200, Token{"2.00xklo_Ct_8LNC5b90fd10b2SgGP4B", 157679999, "2125116027"}, 0},
		{"token_returning.json", 200, Token{"2.00JbjGiB88nsLBeb9e23f61eBN2pJC", 142153, "1567896867"}, 0},
		{"token_doc_strings.json", 200, Token{"ACCESS_TOKEN", 7200, "1404376560"}, 0},
		{"token_error_21325.json", 400, Token{}, 21325},
		{"token_error_21324.json", 401, Token{}, 21324},
		{"token_error_21323.json", 400, Token{}, 21323},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseToken(fixture(t, tt.file), tt.status)
			var we *Error
			switch {
			case tt.wantCode != 0:
				if !errors.As(err, &we) || we.Code != tt.wantCode || we.Status != tt.status {
					t.Fatalf("err = %v; want Weibo error %d", err, tt.wantCode)
				}
			case err != nil || got != tt.want:
				t.Fatalf("parseToken = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, tt := range []struct {
		name   string
		body   string
		status int
	}{
		{"HTML", "<html>502 Bad Gateway</html>", 200},
		{"empty", "", 200},
		{"array", "[]", 200},
		{"no uid", `{"access_token":"2.00abc","expires_in":1}`, 200},
		{"uid not digits", `{"access_token":"2.00abc","expires_in":1,"uid":"12ab"}`, 200},
		{"uid negative", `{"access_token":"2.00abc","expires_in":1,"uid":-5}`, 200},
		{"uid as float", `{"access_token":"2.00abc","expires_in":1,"uid":1.5e9}`, 200},
		{"token with a space", `{"access_token":"2.00 abc","expires_in":1,"uid":"123"}`, 200},
		{"400 without error_code", `{"error":"bad"}`, 400},
		{"truncated", `{"access_token":"2.00abc","expires_in":1,"uid":"12`, 200},
		{"uid object", `{"access_token":"2.00abc","uid":{}}`, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := parseToken([]byte(tt.body), tt.status); !errors.Is(err, ErrUnavailable) {
				t.Errorf("parseToken(%q) = %+v, %v; want ErrUnavailable", tt.body, got, err)
			}
		})
	}
}

func TestParseTokenInfo(t *testing.T) {
	got, err := parseTokenInfo(fixture(t, "token_info.json"), 200)
	if err != nil || got != (TokenInfo{UID: "1073880650", AppKey: "1352222456", ExpireIn: 157679471}) {
		t.Fatalf("parseTokenInfo = %+v, %v", got, err)
	}
	var we *Error
	if _, err := parseTokenInfo(fixture(t, "error_21327.json"), 401); !errors.As(err, &we) || we.Code != 21327 {
		t.Errorf("expired token: %v", err)
	}
	if _, err := parseTokenInfo(fixture(t, "error_21332_string_code.json"), 401); !errors.As(err, &we) || we.Code != 21332 {
		t.Errorf("error_code as a string: %v", err)
	}
}

func TestParseUser(t *testing.T) {
	tests := []struct {
		file string
		want User
	}{
		{"users_show_doc.json", User{ID: "1404376560", ScreenName: "zaku", Avatar: "https://tp1.sinaimg.cn/1404376560/180/0/1"}},
		{"users_show_big_uid.json", User{ID: "6672271347", ScreenName: "荏苒读者😀",
			Avatar: "https://tvax1.sinaimg.cn/crop.0.0.180.180.1024/abc.jpg?KID=imgbed,tva&Expires=1700000000&ssig=xyz"}},
	}
	for _, tt := range tests {
		if got, err := parseUser(fixture(t, tt.file), 200); err != nil || got != tt.want {
			t.Errorf("%s: parseUser = %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
	var we *Error
	if _, err := parseUser(fixture(t, "users_show_error_20003.json"), 400); !errors.As(err, &we) || we.Code != 20003 || we.Name != "User does not exists!" {
		t.Errorf("unknown user: %v", err)
	}
	if got := avatarURL("javascript:alert(1)"); got != "" {
		t.Errorf("avatarURL(javascript:) = %q", got)
	}
	if got := avatarURL("http://127.0.0.1:8000/_dev/weibo/avatar/1.svg"); got != "http://127.0.0.1:8000/_dev/weibo/avatar/1.svg" {
		t.Errorf("an emulator's avatar became %q", got)
	}
}

// FuzzParse: every parser takes any body and status without panicking, and what it
// accepts is usable.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"token_realname.json", "token_doc_strings.json", "token_error_21325.json", "token_info.json",
		"users_show_doc.json", "users_show_big_uid.json", "error_21332_string_code.json"} {
		f.Add(fixture(f, name), 200)
	}
	f.Add([]byte(`{"uid":null,"error_code":"x"}`), 400)
	f.Fuzz(func(t *testing.T, raw []byte, status int) {
		if tok, err := parseToken(raw, status); err == nil && (!validUID(tok.UID) || !validToken(tok.AccessToken) || tok.ExpiresIn < 0) {
			t.Errorf("parseToken accepted %+v", tok)
		}
		if ti, err := parseTokenInfo(raw, status); err == nil && (!validUID(ti.UID) || ti.AppKey == "") {
			t.Errorf("parseTokenInfo accepted %+v", ti)
		}
		if u, err := parseUser(raw, status); err == nil && !validUID(u.ID) {
			t.Errorf("parseUser accepted %+v", u)
		}
	})
}
