package qq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// errMalformed is returned for a body that is none of the formats QQ uses.
var errMalformed = errors.New("qq: malformed response body")

// body is a decoded QQ answer: QQ sends url-encoded pairs, JSON or JSONP, under text/html,
// whatever was asked for (docs/qq-connect.md §7.1, §7.2).
type body map[string]string

// decodeBody decodes any of QQ's body formats, ignoring the content type (docs/qq-connect.md
// §11.6): after trimming white space and a BOM, a body starting with "callback" is JSONP
// and the JSON between the first '{' and the last '}' is taken; one starting with '{' is
// JSON; anything else is form-decoded. JSON values are kept as their text, so numbers and
// numeric strings ("7776000" vs 7776000) read the same.
func decodeBody(b []byte) (body, error) {
	b = bytes.TrimPrefix(bytes.TrimSpace(b), []byte("\xef\xbb\xbf"))
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return nil, errMalformed
	case bytes.HasPrefix(b, []byte("callback")):
		i, j := bytes.IndexByte(b, '{'), bytes.LastIndexByte(b, '}')
		if i < 0 || j < i {
			return nil, errMalformed
		}
		return decodeJSON(b[i : j+1])
	case b[0] == '{':
		return decodeJSON(b)
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errMalformed
	}
	out := make(body, len(v))
	for k, vs := range v {
		out[k] = vs[0]
	}
	return out, nil
}

func decodeJSON(b []byte) (body, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errMalformed
	}
	out := make(body, len(raw))
	for k, v := range raw {
		var s string
		if len(v) > 0 && v[0] == '"' {
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, errMalformed
			}
		} else {
			s = string(v)
		}
		out[k] = s
	}
	return out, nil
}

// oauthError returns the QQ error a decoded body carries, if any: {"error": n,
// "error_description": …} as number or numeric string, or the WAP-era code/msg pairs.
func (b body) oauthError() *Error {
	if e, ok := b["error"]; ok {
		code, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil {
			code = -1
		}
		return &Error{Code: code, Msg: strings.TrimSpace(b["error_description"])}
	}
	if c, ok := b["code"]; ok {
		if _, isToken := b["access_token"]; !isToken {
			code, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil {
				code = -1
			}
			return &Error{Code: code, Msg: strings.TrimSpace(b["msg"])}
		}
	}
	return nil
}

// parseToken parses /oauth2.0/token's answer. A body without an access_token is an error
// even when it carries no error code.
func parseToken(raw []byte) (Token, error) {
	b, err := decodeBody(raw)
	if err != nil {
		return Token{}, err
	}
	if e := b.oauthError(); e != nil {
		return Token{}, e
	}
	t := Token{AccessToken: b["access_token"], RefreshToken: b["refresh_token"], OpenID: b["openid"]}
	if t.AccessToken == "" {
		return Token{}, fmt.Errorf("qq: token response without access_token: %w", errMalformed)
	}
	if !validID(t.AccessToken, 128) || (t.RefreshToken != "" && !validID(t.RefreshToken, 128)) ||
		(t.OpenID != "" && !validID(t.OpenID, 64)) {
		return Token{}, fmt.Errorf("qq: token response with odd characters: %w", errMalformed)
	}
	// expires_in is a number or a numeric string, and has changed over time (docs/qq-connect.md §3.3).
	if e := strings.TrimSpace(b["expires_in"]); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil || n < 0 {
			return Token{}, fmt.Errorf("qq: bad expires_in: %w", errMalformed)
		}
		t.ExpiresIn = n
	}
	return t, nil
}

// parseMe parses /oauth2.0/me's answer (JSONP by default, JSON with fmt=json).
func parseMe(raw []byte) (Me, error) {
	b, err := decodeBody(raw)
	if err != nil {
		return Me{}, err
	}
	if e := b.oauthError(); e != nil {
		return Me{}, e
	}
	m := Me{ClientID: b["client_id"], OpenID: b["openid"], UnionID: b["unionid"]}
	if !validID(m.OpenID, 64) || (m.UnionID != "" && !validID(m.UnionID, 128)) {
		return Me{}, fmt.Errorf("qq: me response without a usable openid: %w", errMalformed)
	}
	return m, nil
}

// parseUserInfo parses get_user_info's answer: success only when ret is 0, as a number or
// a string (docs/qq-connect.md §11.11).
func parseUserInfo(raw []byte) (UserInfo, error) {
	b, err := decodeBody(raw)
	if err != nil {
		return UserInfo{}, err
	}
	ret, ok := b["ret"]
	if !ok {
		return UserInfo{}, fmt.Errorf("qq: user info without ret: %w", errMalformed)
	}
	code, err := strconv.Atoi(strings.TrimSpace(ret))
	if err != nil {
		return UserInfo{}, fmt.Errorf("qq: user info with bad ret: %w", errMalformed)
	}
	if code != 0 {
		return UserInfo{}, &Error{Code: code, Msg: b["msg"]}
	}
	u := UserInfo{Nickname: strings.TrimSpace(b["nickname"])}
	// The best avatar first: figureurl_qq_2 (100 px, not every user has one), then
	// figureurl_qq_1 (40 px, always there), then the Qzone 100 px (docs/qq-connect.md §11.12).
	for _, k := range []string{"figureurl_qq_2", "figureurl_qq_1", "figureurl_2"} {
		if a := avatarURL(b[k]); a != "" {
			u.Avatar = a
			break
		}
	}
	return u, nil
}

// avatarURL keeps only http(s) URLs and upgrades QQ's http:// avatar hosts to https://.
func avatarURL(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1024 {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	if u.Scheme == "http" && (strings.HasSuffix(u.Hostname(), ".qlogo.cn") || strings.HasSuffix(u.Hostname(), ".qq.com")) {
		u.Scheme = "https"
	}
	return u.String()
}

// validID reports whether s is a non-empty token or id of printable ASCII without spaces,
// at most max bytes: what QQ's hex tokens and openids are, and nothing a log or a URL
// could be tricked by.
func validID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}
