package weibo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// flex is a JSON value Weibo sends as a number or as a string, or null: uid, expires_in,
// error_code, appkey (docs/weibo.md, quirk 3). It keeps the text.
type flex struct {
	s   string
	set bool
}

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &f.s); err != nil {
			return err
		}
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("weibo: want a number or a string, got %.20s", b)
		}
		f.s = n.String()
	}
	f.set = true
	return nil
}

// int64 reads f as a whole number (a float's fraction, if any, is an error).
func (f flex) int64() (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(f.s), 10, 64)
	return n, err == nil
}

// errorBody is what every Weibo error carries: error_code and error, with
// error_description on the OAuth endpoints.
type errorBody struct {
	Code        flex   `json:"error_code"`
	Name        string `json:"error"`
	Description string `json:"error_description"`
}

// decode reads raw as one JSON object into v, and returns Weibo's error if the body is one.
// A body that is not JSON, or a 4xx without an error_code, is ErrUnavailable.
func decode(raw []byte, status int, v any) error {
	raw = bytes.TrimPrefix(bytes.TrimSpace(raw), []byte("\xef\xbb\xbf"))
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("%w: HTTP %d, not a JSON object: %.40q", ErrUnavailable, status, raw)
	}
	var e errorBody
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("%w: HTTP %d: %v", ErrUnavailable, status, err)
	}
	if e.Code.set || status >= 400 {
		code, ok := e.Code.int64()
		if !ok {
			return fmt.Errorf("%w: HTTP %d without an error_code", ErrUnavailable, status)
		}
		return &Error{Code: int(code), Name: clip(e.Name), Description: clip(e.Description), Status: status}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// clip bounds text from Weibo quoted in an error (it may quote the code: the caller's log
// drops Description).
func clip(s string) string {
	if len(s) > 120 {
		s = s[:120]
	}
	return strings.ToValidUTF8(s, "")
}

// validUID: Weibo's user ids are decimal, today 10 digits; anything else is not one.
func validUID(s string) bool {
	if s == "" || len(s) > 20 || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validToken: 2.00 and letters, digits, '_' in real answers; anything printable up to 128
// is kept (it only goes back to Weibo).
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func parseToken(raw []byte, status int) (Token, error) {
	var b struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   flex   `json:"expires_in"`
		UID         flex   `json:"uid"`
	}
	if err := decode(raw, status, &b); err != nil {
		return Token{}, err
	}
	exp, _ := b.ExpiresIn.int64()
	if !validToken(b.AccessToken) || !validUID(b.UID.s) {
		return Token{}, fmt.Errorf("%w: token answer without a usable access_token or uid", ErrUnavailable)
	}
	return Token{AccessToken: b.AccessToken, ExpiresIn: max(exp, 0), UID: b.UID.s}, nil
}

func parseTokenInfo(raw []byte, status int) (TokenInfo, error) {
	var b struct {
		UID      flex `json:"uid"`
		AppKey   flex `json:"appkey"`
		ExpireIn flex `json:"expire_in"`
	}
	if err := decode(raw, status, &b); err != nil {
		return TokenInfo{}, err
	}
	if !validUID(b.UID.s) || b.AppKey.s == "" {
		return TokenInfo{}, fmt.Errorf("%w: get_token_info without a uid or appkey", ErrUnavailable)
	}
	exp, _ := b.ExpireIn.int64()
	return TokenInfo{UID: b.UID.s, AppKey: strings.TrimSpace(b.AppKey.s), ExpireIn: exp}, nil
}

func parseUser(raw []byte, status int) (User, error) {
	var b struct {
		ID              flex   `json:"id"`
		IDStr           string `json:"idstr"`
		ScreenName      string `json:"screen_name"`
		ProfileImageURL string `json:"profile_image_url"`
		AvatarLarge     string `json:"avatar_large"`
		AvatarHD        string `json:"avatar_hd"`
	}
	if err := decode(raw, status, &b); err != nil {
		return User{}, err
	}
	id := b.IDStr
	if id == "" {
		id = b.ID.s
	}
	if !validUID(id) {
		return User{}, fmt.Errorf("%w: users/show without an id", ErrUnavailable)
	}
	name := strings.TrimSpace(b.ScreenName)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 {
		name = ""
	}
	avatar := ""
	for _, a := range []string{b.AvatarHD, b.AvatarLarge, b.ProfileImageURL} {
		if avatar = avatarURL(a); avatar != "" {
			break
		}
	}
	return User{ID: id, ScreenName: name, Avatar: avatar}, nil
}

// avatarURL keeps an http(s) URL with a host, on Weibo's image hosts (*.sinaimg.cn)
// upgraded to https, which they serve; or "".
func avatarURL(s string) string {
	if len(s) > 1024 {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return ""
	}
	if strings.HasSuffix(u.Hostname(), ".sinaimg.cn") {
		u.Scheme = "https"
	}
	return u.String()
}
