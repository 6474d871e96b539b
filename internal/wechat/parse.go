package wechat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// num is a JSON number WeChat may also send as a string ("sex": "1" was seen; expires_in
// is a number in every real answer).
type num struct {
	n   int64
	set bool
}

func (x *num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("wechat: want an integer, got %.20s", b)
	}
	x.n, x.set = n, true
	return nil
}

// errorBody is WeChat's error: errcode and errmsg, with HTTP 200.
type errorBody struct {
	Code num    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

// suffix is the per-request part of an errmsg: ", rid: …", ", hints: [ req_id: … ]",
// " hint: [ … ]".
var suffix = regexp.MustCompile(`(,? ?(rid:|hints?:).*)$`)

// decode reads raw as one JSON object into v; a body with a non-zero errcode is WeChat's
// Error (okZero: errcode 0 is success, as sns/auth answers).
func decode(raw []byte, v any) error {
	raw = bytes.TrimPrefix(bytes.TrimSpace(raw), []byte("\xef\xbb\xbf"))
	if len(raw) == 0 || raw[0] != '{' || !utf8.Valid(raw) {
		return fmt.Errorf("%w: not a JSON object: %.40q", ErrUnavailable, raw)
	}
	var e errorBody
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if e.Code.set && e.Code.n != 0 {
		msg := strings.TrimSpace(suffix.ReplaceAllString(e.Msg, ""))
		if len(msg) > 120 {
			msg = msg[:120]
		}
		return &Error{Code: int(e.Code.n), Msg: strings.ToValidUTF8(msg, "")}
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// validID: openids and unionids are 28 characters of the URL-safe base64 alphabet today;
// 1–64 of them are accepted.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func parseToken(raw []byte) (Token, error) {
	var b struct {
		AccessToken  string `json:"access_token"`
		ExpiresIn    num    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		OpenID       string `json:"openid"`
		Scope        string `json:"scope"`
		UnionID      string `json:"unionid"`
	}
	if err := decode(raw, &b); err != nil {
		return Token{}, err
	}
	if !validToken(b.AccessToken) || !validID(b.OpenID) || (b.UnionID != "" && !validID(b.UnionID)) {
		return Token{}, fmt.Errorf("%w: token answer without a usable access_token or openid", ErrUnavailable)
	}
	t := Token{AccessToken: b.AccessToken, ExpiresIn: max(b.ExpiresIn.n, 0), OpenID: b.OpenID, UnionID: b.UnionID}
	if validToken(b.RefreshToken) {
		t.RefreshToken = b.RefreshToken
	}
	for _, s := range strings.Split(b.Scope, ",") { // "snsapi_userinfo," was seen
		if s = strings.TrimSpace(s); s != "" {
			t.Scope = append(t.Scope, s)
		}
	}
	return t, nil
}

func parseUserInfo(raw []byte) (UserInfo, error) {
	var b struct {
		OpenID     string `json:"openid"`
		Nickname   string `json:"nickname"`
		HeadImgURL string `json:"headimgurl"`
		UnionID    string `json:"unionid"`
	}
	if err := decode(raw, &b); err != nil {
		return UserInfo{}, err
	}
	if !validID(b.OpenID) {
		return UserInfo{}, fmt.Errorf("%w: userinfo without an openid", ErrUnavailable)
	}
	u := UserInfo{OpenID: b.OpenID, Avatar: avatarURL(b.HeadImgURL)}
	if validID(b.UnionID) {
		u.UnionID = b.UnionID
	}
	if n := strings.TrimSpace(b.Nickname); utf8.RuneCountInString(n) <= 64 {
		u.Nickname = n
	}
	return u, nil
}

func parseAuth(raw []byte) error {
	var b errorBody
	if err := decode(raw, &b); err != nil {
		return err
	}
	if !b.Code.set {
		return fmt.Errorf("%w: sns/auth without errcode", ErrUnavailable)
	}
	return nil
}

// avatarURL keeps an http(s) avatar, on WeChat's image hosts (*.qlogo.cn) upgraded to
// https, which they serve; "" for none (a user without an avatar has "").
func avatarURL(s string) string {
	if s == "" || len(s) > 1024 {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return ""
	}
	if strings.HasSuffix(u.Hostname(), ".qlogo.cn") {
		u.Scheme = "https"
	}
	return u.String()
}
