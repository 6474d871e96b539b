package qq

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// The fixtures are the bodies quoted in docs/qq-connect.md §3–§5, byte for byte.
func TestParseToken(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		want     Token
		wantCode int // a QQ error code, or 0
	}{
		{"form body (default, text/html)", "token_form.txt", Token{AccessToken: "FE04ABCDEF0123456789ABCDEF01CCE2", RefreshToken: "88E4ABCDEF0123456789ABCDEF01BE14", ExpiresIn: 7776000}, 0},
		{"fmt=json with string expires_in", "token_json.txt", Token{AccessToken: "D7BF7285C42531F41831A1819EE1A38F", RefreshToken: "7D470F114079F49E222B31590408707F", ExpiresIn: 7776000}, 0},
		{"fmt=json&need_openid=1", "token_json_openid.txt", Token{AccessToken: "D7BF7285C42531F41831A1819EE1A38F", RefreshToken: "7D470F114079F49E222B31590408707F", ExpiresIn: 5184000, OpenID: "F1B5285FF5FF77DB097474C25273C01F"}, 0},
		{"JSONP error", "token_error_jsonp.txt", Token{}, 100019},
		{"JSON error with trailing space", "token_error_json.txt", Token{}, 100001},
		{"code reused", "token_error_reused.txt", Token{}, 100020},
		{"WAP-era code/msg pairs", "token_error_wap.txt", Token{}, 100019},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseToken(fixture(t, tt.file))
			if tt.wantCode != 0 {
				var qe *Error
				if !errors.As(err, &qe) || qe.Code != tt.wantCode {
					t.Fatalf("parseToken(%s) error = %v, want QQ error %d", tt.file, err, tt.wantCode)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseToken(%s) = %+v, %v; want %+v", tt.file, got, err, tt.want)
			}
		})
	}
}

func TestParseTokenRejects(t *testing.T) {
	for _, body := range []string{
		"", "   ", "<html>500</html>", "expires_in=7776000", `{"expires_in":"1"}`,
		`callback( {"error":1000`, `{"access_token":"A B"}`, `{"access_token":"X","expires_in":"soon"}`,
		`{"access_token":"X","expires_in":"-1"}`, `callback( nothing );`,
	} {
		if tok, err := parseToken([]byte(body)); err == nil {
			t.Errorf("parseToken(%q) = %+v, want an error", body, tok)
		}
	}
}

func TestParseTokenBOMAndWhitespace(t *testing.T) {
	body := "\xef\xbb\xbf\r\n" + string(fixture(t, "token_json.txt")) + "\n"
	if tok, err := parseToken([]byte(body)); err != nil || tok.AccessToken != "D7BF7285C42531F41831A1819EE1A38F" {
		t.Fatalf("parseToken(BOM+JSON) = %+v, %v", tok, err)
	}
}

func TestParseMe(t *testing.T) {
	tests := []struct {
		file     string
		want     Me
		wantCode int
	}{
		{"me_jsonp.txt", Me{ClientID: "YOUR_APPID", OpenID: "YOUR_OPENID"}, 0},
		{"me_jsonp_unionid.txt", Me{ClientID: "101420322", OpenID: "F1B5285FF5FF77DB097474C25273C01F", UnionID: "UID_95588F17205C4CFA583DCAF8F0FE89D9"}, 0},
		{"me_json.txt", Me{ClientID: "101925994", OpenID: "91449D4BB19893F674C07B111C1BB4FB", UnionID: "UID_3C6246E641847F77CF90BA17D543F497"}, 0},
		{"me_error_jsonp.txt", Me{}, 100016},
		{"me_error_json.txt", Me{}, 100013},
		{"me_error_companyid.txt", Me{}, 100048},
	}
	for _, tt := range tests {
		got, err := parseMe(fixture(t, tt.file))
		if tt.wantCode != 0 {
			var qe *Error
			if !errors.As(err, &qe) || qe.Code != tt.wantCode {
				t.Errorf("parseMe(%s) error = %v, want QQ error %d", tt.file, err, tt.wantCode)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseMe(%s) = %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
	// The wiki's JSONP with a trailing comma is not JSON: refused, not half-read.
	if m, err := parseMe(fixture(t, "me_error_trailing_comma.txt")); err == nil || !errors.Is(err, errMalformed) {
		t.Errorf("parseMe(trailing comma) = %+v, %v; want errMalformed", m, err)
	}
}

func TestParseUserInfo(t *testing.T) {
	tests := []struct {
		file     string
		want     UserInfo
		wantCode int
	}{
		{"userinfo.txt", UserInfo{Nickname: "林枫", Avatar: "https://thirdqq.qlogo.cn/g?b=oidb&k=gicK89sMSConnYxiaZHjMv6A&kti=ZVxBUAAAAAE&s=100&t=1555473694"}, 0},
		{"userinfo_no_qq2.txt", UserInfo{Nickname: "小荏", Avatar: "https://thirdqq.qlogo.cn/ek_qqapp/AQWx/40"}, 0},
		{"userinfo_ret_string.txt", UserInfo{Nickname: "字符串ret"}, 0},
		{"userinfo_error_1002.txt", UserInfo{}, 1002},
		{"userinfo_error_openid.txt", UserInfo{}, -1},
		{"userinfo_error_13002.txt", UserInfo{}, 13002},
	}
	for _, tt := range tests {
		got, err := parseUserInfo(fixture(t, tt.file))
		if tt.wantCode != 0 {
			var qe *Error
			if !errors.As(err, &qe) || qe.Code != tt.wantCode {
				t.Errorf("parseUserInfo(%s) error = %v, want ret %d", tt.file, err, tt.wantCode)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseUserInfo(%s) = %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
}

func TestAvatarURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://thirdqq.qlogo.cn/g?s=100", "https://thirdqq.qlogo.cn/g?s=100"},
		{"http://127.0.0.1:8000/_dev/qq/qlogo/1/100", "http://127.0.0.1:8000/_dev/qq/qlogo/1/100"},
		{"javascript:alert(1)", ""},
		{"//evil.example/a.png", ""},
		{"data:image/png;base64,AAAA", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := avatarURL(tt.in); got != tt.want {
			t.Errorf("avatarURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDecodeBody: no body, however odd, panics a parser, and whatever parses as a token,
// openid or profile holds only safe values.
func FuzzDecodeBody(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if !e.IsDir() {
			f.Add(fixture(f, e.Name()))
		}
	}
	f.Add([]byte("callback( {\"a\":{\"b\":[1,2,{\"c\":null}]}} );"))
	f.Add([]byte("\xef\xbb\xbfcallback("))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := parseToken(b); err == nil {
			if !validID(tok.AccessToken, 128) || tok.ExpiresIn < 0 {
				t.Fatalf("parseToken accepted %+v", tok)
			}
		}
		if m, err := parseMe(b); err == nil && !validID(m.OpenID, 64) {
			t.Fatalf("parseMe accepted openid %q", m.OpenID)
		}
		if u, err := parseUserInfo(b); err == nil && u.Avatar != "" &&
			!strings.HasPrefix(u.Avatar, "https://") && !strings.HasPrefix(u.Avatar, "http://") {
			t.Fatalf("parseUserInfo accepted avatar %q", u.Avatar)
		}
	})
}

// BenchmarkParse is the cost of reading QQ's answers, per body shape of docs/qq-connect.md:
// a returning login reads one token body and one /me body (two with need_openid=1: one).
//
//	go test ./internal/qq/ -run XXX -bench Parse -benchmem
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name  string
		file  string
		parse func([]byte) error
	}{
		{"token/form", "token_form.txt", func(r []byte) error { _, err := parseToken(r); return err }},
		{"token/json", "token_json_openid.txt", func(r []byte) error { _, err := parseToken(r); return err }},
		{"token/error-jsonp", "token_error_jsonp.txt", func(r []byte) error { _, _ = parseToken(r); return nil }},
		{"me/jsonp", "me_jsonp.txt", func(r []byte) error { _, err := parseMe(r); return err }},
		{"me/json-unionid", "me_jsonp_unionid.txt", func(r []byte) error { _, err := parseMe(r); return err }},
		{"userinfo", "userinfo.txt", func(r []byte) error { _, err := parseUserInfo(r); return err }},
	} {
		raw := fixture(b, c.file)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := c.parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
