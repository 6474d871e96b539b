package weiboemu

import (
	"net/http"
	"strconv"
	"strings"
)

// handleToken handles /oauth2/access_token: POST only, parameters in the body or the query.
// The code is used up by the first exchange that names it, whatever happens next.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("token")
	s.Latency.Wait(r)
	const req = "/oauth2/access_token"
	if r.Method != http.MethodPost {
		writeError(w, req, 10021, "")
		return
	}
	p := params(r)
	clientID, secret, code, redirect := p("client_id"), p("client_secret"), p("code"), p("redirect_uri")
	// The code burns first: an injected fault after this still costs it.
	s.mu.Lock()
	rec, found := s.codes[code]
	delete(s.codes, code)
	s.mu.Unlock()
	if s.applyFault(w, r, "token", req) {
		return
	}
	switch {
	case clientID == "" || secret == "":
		writeError(w, req, 21323, "miss client id or secret")
		return
	case redirect == "":
		writeError(w, req, 21323, "miss redirect uri.")
		return
	case p("grant_type") != "authorization_code":
		writeError(w, req, 21328, "unsupported grant type:"+clip(p("grant_type")))
		return
	}
	app, ok := s.app(clientID)
	if !ok || app.AppSecret != secret {
		writeError(w, req, 21324, "client_secret error.")
		return
	}
	if !found || rec.app != clientID || rec.redirect != redirect || !s.cfg.Now().Before(rec.expires) {
		writeError(w, req, 21325, "invalid authorization code:"+clip(code))
		return
	}
	tok, t := s.tokenFor(clientID, rec.uid)
	left := int64(t.expires.Sub(s.cfg.Now()).Seconds())
	writeJSON(w, http.StatusOK, marshalOrdered([]kv{{"access_token", tok}, {"remind_in", strconv.FormatInt(left, 10)},
		{"expires_in", left}, {"uid", rec.uid}, {"isRealName", "true"}}))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// lookup finds a live token: 21332 for an unknown one, 21327 for an expired one.
func (s *Server) lookup(token string) (tokenRec, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[token]
	switch {
	case !ok:
		return tokenRec{}, 21332
	case !s.cfg.Now().Before(t.expires):
		return tokenRec{}, 21327
	}
	return t, 0
}

// handleTokenInfo handles POST /oauth2/get_token_info: the doc's body, uid and appkey as
// numbers, scope null.
func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("token_info")
	s.Latency.Wait(r)
	const req = "/oauth2/get_token_info"
	if r.Method != http.MethodPost {
		writeError(w, req, 10021, "")
		return
	}
	if s.applyFault(w, r, "token_info", req) {
		return
	}
	t, code := s.lookup(params(r)("access_token"))
	if code != 0 {
		writeError(w, req, code, "")
		return
	}
	uid, _ := strconv.ParseInt(t.uid, 10, 64)
	var appkey any = t.app
	if n, err := strconv.ParseInt(t.app, 10, 64); err == nil {
		appkey = n
	}
	now := s.cfg.Now()
	writeJSON(w, http.StatusOK, marshalOrdered([]kv{{"uid", uid}, {"appkey", appkey}, {"scope", nil},
		{"create_at", t.created.Unix()}, {"expire_in", int64(t.expires.Sub(now).Seconds())}}))
}

// handleUsersShow handles GET /2/users/show.json: the token as access_token or in
// "Authorization: OAuth2 …", the user by uid.
func (s *Server) handleUsersShow(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("users_show")
	s.Latency.Wait(r)
	const req = "/2/users/show.json"
	if r.Method != http.MethodGet {
		writeError(w, req, 10021, "")
		return
	}
	if s.applyFault(w, r, "users_show", req) {
		return
	}
	p := params(r)
	token := p("access_token")
	if a := r.Header.Get("Authorization"); token == "" && strings.HasPrefix(a, "OAuth2 ") {
		token = strings.TrimPrefix(a, "OAuth2 ")
	}
	if token == "" {
		writeError(w, req, 10006, "")
		return
	}
	if _, code := s.lookup(token); code != 0 {
		writeError(w, req, code, "")
		return
	}
	uidText := p("uid")
	if uidText == "" && p("screen_name") == "" {
		writeError(w, req, 10016, "")
		return
	}
	uid, err := strconv.ParseInt(uidText, 10, 64)
	if err != nil || uid <= 0 {
		writeError(w, req, 10017, "")
		return
	}
	u, ok := s.user(uidText)
	if !ok {
		writeError(w, req, 20003, "")
		return
	}
	small, large, hd := s.avatarURL(u.UID, 50), s.avatarURL(u.UID, 180), s.avatarURL(u.UID, 1024)
	if u.NoAvatar { // Weibo's default avatar
		small, large, hd = "https://tvax1.sinaimg.cn/default/images/default_avatar_male_50.gif",
			"https://tvax1.sinaimg.cn/default/images/default_avatar_male_180.gif",
			"https://tvax1.sinaimg.cn/default/images/default_avatar_male_180.gif"
	}
	writeJSON(w, http.StatusOK, marshalOrdered([]kv{{"id", uid}, {"idstr", u.UID}, {"class", 1}, {"screen_name", u.ScreenName},
		{"name", u.ScreenName}, {"province", "11"}, {"city", "1000"}, {"location", "北京"}, {"description", ""},
		{"url", ""}, {"profile_image_url", small}, {"domain", ""}, {"gender", "n"}, {"followers_count", 12},
		{"friends_count", 34}, {"statuses_count", 56}, {"created_at", "Fri Aug 28 00:00:00 +0800 2009"},
		{"following", false}, {"verified", false}, {"avatar_large", large}, {"avatar_hd", hd},
		{"follow_me", false}, {"online_status", 0}, {"bi_followers_count", 0}}))
}
