package wechatemu

import (
	"net/http"
	"time"
)

// handleToken handles GET /sns/oauth2/access_token: the query string only, checked in
// WeChat's order (appid, secret, grant_type, code); HTTP 200 either way. A code is burnt by
// the first exchange that names it with its app, even when a fault answers that call.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("token")
	s.Latency.Wait(r)
	q := r.URL.Query()
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get("code")
	a, known := s.app(appID)
	s.mu.Lock()
	rec, found := s.codes[code]
	first := found && !rec.used && rec.app == appID
	if first {
		rec.used = true
		s.codes[code] = rec
	}
	s.mu.Unlock()
	if s.applyFault(w, r, "token") {
		return
	}
	switch {
	case appID == "":
		writeError(w, 41002)
	case !known:
		writeError(w, 40013)
	case secret == "":
		writeError(w, 41004)
	case secret != a.Secret:
		writeError(w, 40125)
	case q.Get("grant_type") != "authorization_code":
		writeError(w, 40002)
	case code == "":
		writeError(w, 41008)
	case !found || rec.app != appID:
		writeError(w, 40029)
	case !first:
		writeError(w, 40163)
	case !s.cfg.Now().Before(rec.expires):
		writeError(w, 40029) // WeChat's staff list an expired code under 40029
	default:
		s.writeToken(w, a, s.issue(a.ID, rec.user, rec.scope), true)
	}
}

// issue makes a new access token (and refresh token) for user in app, revoking the user's
// earlier token in that app.
func (s *Server) issue(app, user, scope string) string {
	now := s.cfg.Now()
	tok := "86_" + randomAlnum(86)
	ref := "86_" + randomAlnum(86)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.latest[app+" "+user]; ok {
		delete(s.refresh, s.tokens[old].refresh)
		delete(s.tokens, old)
	}
	s.tokens[tok] = tokenRec{app: app, user: user, scope: scope, expires: now.Add(AccessTTL), refreshUntil: now.Add(RefreshMaxAge), refresh: ref}
	s.refresh[ref] = tok
	s.latest[app+" "+user] = tok
	return tok
}

// writeToken answers a token body in WeChat's key order; unionid when the app is bound.
func (s *Server) writeToken(w http.ResponseWriter, a App, tok string, withUnionID bool) {
	s.mu.Lock()
	t := s.tokens[tok]
	s.mu.Unlock()
	fields := []field{{"access_token", tok}, {"expires_in", int64((t.expires.Sub(s.cfg.Now()) + time.Second - 1) / time.Second)},
		{"refresh_token", t.refresh}, {"openid", s.OpenID(a.ID, t.user)}, {"scope", t.scope}}
	if u := s.UnionID(a.ID, t.user); u != "" && withUnionID {
		fields = append(fields, field{"unionid", u})
	}
	writeJSON(w, fields)
}

// handleRefresh handles GET /sns/oauth2/refresh_token: no secret; an expired access token
// is replaced, a live one renewed in place; the refresh token itself lives 30 days and is
// not renewed.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("refresh")
	s.Latency.Wait(r)
	if s.applyFault(w, r, "refresh") {
		return
	}
	q := r.URL.Query()
	a, known := s.app(q.Get("appid"))
	switch {
	case q.Get("appid") == "":
		writeError(w, 41002)
		return
	case !known:
		writeError(w, 40013)
		return
	case q.Get("grant_type") != "refresh_token":
		writeError(w, 40002)
		return
	case q.Get("refresh_token") == "":
		writeError(w, 41003)
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	tok, ok := s.refresh[q.Get("refresh_token")]
	t := s.tokens[tok]
	if ok && t.app == a.ID && now.Before(t.refreshUntil) {
		t.expires = now.Add(AccessTTL)
		s.tokens[tok] = t
	}
	s.mu.Unlock()
	switch {
	case !ok || t.app != a.ID:
		writeError(w, 40030)
	case !now.Before(t.refreshUntil):
		writeError(w, 42002)
	default:
		s.writeToken(w, a, tok, false) // the doc's refresh answer has no unionid
	}
}

// lookup finds a live token for openid: the errcode otherwise.
func (s *Server) lookup(token, openid string) (tokenRec, int) {
	if token == "" {
		return tokenRec{}, 41001
	}
	s.mu.Lock()
	t, ok := s.tokens[token]
	s.mu.Unlock()
	switch {
	case !ok:
		return tokenRec{}, 40001
	case !s.cfg.Now().Before(t.expires):
		return tokenRec{}, 42001
	case openid == "":
		return tokenRec{}, 41009
	case s.OpenID(t.app, t.user) != openid:
		return tokenRec{}, 40003
	}
	return t, 0
}

// handleUserInfo handles GET /sns/userinfo: the body in WeChat's order with the defaults
// since 2021-10-20 (sex 0, empty region), privilege [], unionid when the app is bound;
// 48001 for a snsapi_base token.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("userinfo")
	s.Latency.Wait(r)
	if s.applyFault(w, r, "userinfo") {
		return
	}
	q := r.URL.Query()
	t, code := s.lookup(q.Get("access_token"), q.Get("openid"))
	if code == 0 && t.scope == "snsapi_base" {
		code = 48001
	}
	if code != 0 {
		writeError(w, code)
		return
	}
	u, _ := s.user(t.user)
	avatar := s.avatarURL(u.ID)
	if u.NoAvatar {
		avatar = ""
	}
	fields := []field{{"openid", q.Get("openid")}, {"nickname", u.Nickname}, {"sex", 0}, {"language", ""}, {"city", ""},
		{"province", ""}, {"country", ""}, {"headimgurl", avatar}, {"privilege", []string{}}}
	if un := s.UnionID(t.app, t.user); un != "" {
		fields = append(fields, field{"unionid", un})
	}
	writeJSON(w, fields)
}

// handleAuth handles GET /sns/auth: errcode 0 for a live token of that openid, else 40003.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("auth")
	s.Latency.Wait(r)
	if s.applyFault(w, r, "auth") {
		return
	}
	q := r.URL.Query()
	if _, code := s.lookup(q.Get("access_token"), q.Get("openid")); code != 0 {
		writeError(w, 40003) // sns/auth answers 40003 for anything invalid
		return
	}
	writeJSON(w, []field{{"errcode", 0}, {"errmsg", "ok"}})
}
