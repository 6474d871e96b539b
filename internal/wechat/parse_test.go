package wechat

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
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

// The fixtures are the bodies quoted in docs/wechat.md (the docs' samples and real answers).
func TestParseToken(t *testing.T) {
	got, err := parseToken(fixture(t, "token_mp_base.json"))
	if err != nil || got.OpenID != "ob8F-wFENFWw7_FR6Gx8KbPacFEw" || got.UnionID != "oTpR9xAIiebFOc6p04tMTaLhviCQ" ||
		got.ExpiresIn != 7200 || !slices.Equal(got.Scope, []string{"snsapi_base"}) || got.RefreshToken == "" {
		t.Errorf("official account token = %+v, %v", got, err)
	}
	got, err = parseToken(fixture(t, "token_trailing_comma_no_unionid.json"))
	if err != nil || got.UnionID != "" || !slices.Equal(got.Scope, []string{"snsapi_userinfo"}) {
		t.Errorf("token with a trailing comma in scope = %+v, %v", got, err)
	}
	if got, err := parseToken(fixture(t, "token_doc.json")); err != nil || got.UnionID != "UNIONID" {
		t.Errorf("the doc's sample = %+v, %v", got, err)
	}
	for file, code := range map[string]int{"error_40029_rid.json": 40029, "error_40029_hints.json": 40029, "error_40163.json": 40163, "error_40125.json": 40125} {
		var we *Error
		if _, err := parseToken(fixture(t, file)); !errors.As(err, &we) || we.Code != code {
			t.Errorf("%s: %v; want errcode %d", file, err, code)
		} else if we.Msg == "" || len(we.Msg) > 60 {
			t.Errorf("%s: message %q; want the text without its request id", file, we.Msg)
		}
	}
	for name, body := range map[string]string{
		"HTML":             "<html>502</html>",
		"empty":            "",
		"no openid":        `{"access_token":"x","expires_in":7200}`,
		"openid with a /":  `{"access_token":"x","expires_in":7200,"openid":"o/x"}`,
		"truncated":        `{"access_token":"x","expires_in":72`,
		"GBK":              "{\"access_token\":\"x\",\"openid\":\"o\xb2\xe2\"}",
		"expires_in float": `{"access_token":"x","expires_in":7.5,"openid":"oabc"}`,
	} {
		if got, err := parseToken([]byte(body)); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: parseToken = %+v, %v; want ErrUnavailable", name, got, err)
		}
	}
}

func TestParseUserInfo(t *testing.T) {
	got, err := parseUserInfo(fixture(t, "userinfo.json"))
	want := UserInfo{OpenID: "o3PG1s8JitIZAeOK7rz8ArtRhcCw", Nickname: "宁夏杨洋",
		Avatar: "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLlVSjsLxrJickkIQ7nUJ8bTpuGfg9OgKvNXLNylE625T0yozO4SzANYaTuWT5uib83mjJu6dqHtiaCA/132"}
	if err != nil || got != want {
		t.Errorf("userinfo = %+v, %v; want %+v", got, err, want)
	}
	got, err = parseUserInfo(fixture(t, "userinfo_unionid_no_avatar.json"))
	if err != nil || got.Nickname != "读者🌸" || got.Avatar != "" || got.UnionID != "oxW9O1VAL8x-zfWP2hrqW9c81234" {
		t.Errorf("userinfo without avatar = %+v, %v", got, err)
	}
	var we *Error
	if _, err := parseUserInfo(fixture(t, "error_48001.json")); !errors.As(err, &we) || we.Code != 48001 {
		t.Errorf("48001: %v", err)
	}
	if err := parseAuth(fixture(t, "auth_ok.json")); err != nil {
		t.Errorf("sns/auth ok (errcode 0) = %v", err)
	}
	if err := parseAuth(fixture(t, "auth_40003.json")); !errors.As(err, &we) || we.Code != 40003 {
		t.Errorf("sns/auth 40003 = %v", err)
	}
}

// FuzzParse: every parser takes any body without panicking, and what it accepts is usable.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"token_doc.json", "token_mp_base.json", "token_trailing_comma_no_unionid.json", "error_40125.json",
		"userinfo.json", "userinfo_unionid_no_avatar.json", "auth_ok.json"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if tok, err := parseToken(raw); err == nil && (!validID(tok.OpenID) || !validToken(tok.AccessToken) || tok.ExpiresIn < 0 ||
			(tok.UnionID != "" && !validID(tok.UnionID))) {
			t.Errorf("parseToken accepted %+v", tok)
		}
		if u, err := parseUserInfo(raw); err == nil && !validID(u.OpenID) {
			t.Errorf("parseUserInfo accepted %+v", u)
		}
		_ = parseAuth(raw)
	})
}
