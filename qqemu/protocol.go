package qqemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/renran/accounts/internal/emukit"
)

// descriptions are QQ's error_description texts (docs/qq-connect.md §6). 100001 keeps the
// trailing space real QQ sends.
var descriptions = map[int]string{
	100000: "response_type is wrong or lost",
	100001: "param client_id is wrong or lost ",
	100004: "param grant_type is wrong or lost",
	100005: "param code is wrong or lost",
	100006: "param refresh_token is wrong or lost",
	100007: "param access_token is wrong or lost",
	100008: "client_id is not exist",
	100009: "client_secret is wrong",
	100010: "redirect uri is illegal",
	100011: "app is not online",
	100013: "access token is illegal",
	100014: "access token is expired",
	100015: "access token is revoked",
	100016: "access token check failed",
	100019: "code to access token error",
	100020: "code is reused error",
	100029: "bad http request",
	100048: "CompanyID not set",
}

// Error is a QQ error code with its description.
type Error struct {
	Code        int
	Description string
}

func (e *Error) Error() string { return fmt.Sprintf("qqemu: %s (%d)", e.Description, e.Code) }

func errorf(code int) *Error { return &Error{Code: code, Description: descriptions[code]} }

// params merges what a request carries the way QQ reads it: the query for GET, the form
// body for POST (a POST's query string is ignored, docs/qq-connect.md §5).
func params(r *http.Request) url.Values {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			return url.Values{}
		}
		return r.PostForm
	}
	return r.URL.Query()
}

// applyFault writes the fault's answer and reports whether it did. jsonp says whether the
// endpoint's errors are JSONP-wrapped by default.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, endpoint string, jsonp bool) bool {
	f, ok := s.Faults.Take(endpoint)
	if !ok {
		return false
	}
	switch f.Kind {
	case "http500":
		emukit.WriteHTTP500(w)
	case "timeout":
		<-r.Context().Done()
	case "malformed":
		writeText(w, []byte(`callback( {"error":1000`))
	case "bom":
		// A correct error body behind a UTF-8 byte order mark.
		writeText(w, append([]byte("\xef\xbb\xbf"), errorBody(errorf(100016), jsonp)...))
	case "trailing_comma":
		writeText(w, []byte("callback( {\"error\":100016,\"error_description\":\"access token check failed\",} );\n"))
	default: // "error"
		code := f.Code
		if code == 0 {
			code = 100019
		}
		e := errorf(code)
		if e.Description == "" {
			e.Description = "emulated error"
		}
		if endpoint == "user_info" {
			writeJSON(w, map[string]any{"ret": code, "msg": e.Description})
		} else {
			writeText(w, errorBody(e, jsonp))
		}
	}
	return true
}

// errorBody renders a QQ error: `callback( {...} );\n` by default, bare JSON with fmt=json.
func errorBody(e *Error, jsonp bool) []byte {
	b, _ := json.Marshal(struct {
		Error       int    `json:"error"`
		Description string `json:"error_description"`
	}{e.Code, e.Description})
	if !jsonp {
		return b
	}
	return jsonpWrap(b)
}

func jsonpWrap(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	out = append(out, "callback( "...)
	out = append(out, b...)
	out = append(out, " );\n"...)
	return out
}

// writeText answers with QQ's content type: text/html, whatever the body is.
func writeText(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	writeText(w, b)
}

// handleToken handles GET|POST /oauth2.0/token for authorization_code and refresh_token,
// checking in QQ's order (docs/qq-connect.md §10.6).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("token")
	s.Latency.Wait(r)
	p := params(r)
	asJSON := p.Get("fmt") == "json"
	if s.applyFault(w, r, "token", !asJSON) {
		return
	}
	fail := func(code int) { writeText(w, errorBody(errorf(code), !asJSON)) }

	grant := p.Get("grant_type")
	if grant != "authorization_code" && grant != "refresh_token" {
		fail(100004)
		return
	}
	appID := p.Get("client_id")
	if appID == "" {
		fail(100001)
		return
	}
	app, ok := s.apps[appID]
	if !ok {
		fail(100008)
		return
	}
	if p.Get("client_secret") != app.AppKey {
		fail(100009)
		return
	}
	now := s.cfg.Now()
	var uin string
	chainStart := now
	if grant == "authorization_code" {
		code := p.Get("code")
		if code == "" {
			fail(100005)
			return
		}
		s.mu.Lock()
		c, ok := s.codes[code]
		switch {
		case !ok || c.appID != appID || now.After(c.expires):
			s.mu.Unlock()
			fail(100019)
			return
		case c.used:
			s.mu.Unlock()
			fail(100020)
			return
		case c.redirectURI != p.Get("redirect_uri"):
			s.mu.Unlock()
			fail(100010)
			return
		}
		c.used = true
		uin = c.uin
		s.mu.Unlock()
	} else {
		rt := p.Get("refresh_token")
		if rt == "" {
			fail(100006)
			return
		}
		s.mu.Lock()
		rec, ok := s.refresh[rt]
		if !ok || rec.used || rec.appID != appID || now.Sub(rec.chainStart) > refreshChainTTL {
			s.mu.Unlock()
			fail(100016)
			return
		}
		rec.used = true // each refresh token is single use (docs/qq-connect.md §3.5)
		uin, chainStart = rec.uin, rec.chainStart
		s.mu.Unlock()
	}

	access, refresh := hex32(), hex32()
	s.mu.Lock()
	expires := s.expires
	s.sweepLocked()
	s.tokens[access] = &tokenRecord{appID: appID, uin: uin, expires: now.Add(time.Duration(expires) * time.Second)}
	s.refresh[refresh] = &refreshRecord{appID: appID, uin: uin, chainStart: chainStart}
	s.keepLocked(appID, uin, issuedPair{access, refresh})
	s.mu.Unlock()

	withOpenID := p.Get("need_openid") == "1"
	if asJSON {
		// expires_in is a JSON string, as QQ sends it (docs/qq-connect.md §3.3).
		body := `{"access_token":"` + access + `","expires_in":"` + strconv.Itoa(expires) +
			`","refresh_token":"` + refresh + `"`
		if withOpenID {
			body += `,"openid":"` + s.OpenID(appID, uin) + `"`
		}
		writeText(w, []byte(body+"}"))
		return
	}
	body := "access_token=" + access + "&expires_in=" + strconv.Itoa(expires) + "&refresh_token=" + refresh
	if withOpenID {
		body += "&openid=" + s.OpenID(appID, uin)
	}
	writeText(w, []byte(body))
}

// lookupToken finds a live access token, or the QQ error code for why it is not.
func (s *Server) lookupToken(access string, asJSON bool) (tokenRecord, int) {
	if access == "" {
		return tokenRecord{}, 100007
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[access]
	switch {
	case !ok:
		if asJSON {
			return tokenRecord{}, 100013
		}
		return tokenRecord{}, 100016
	case t.revoked:
		return tokenRecord{}, 100015
	case s.cfg.Now().After(t.expires):
		return tokenRecord{}, 100014
	}
	return *t, 0
}

// RevokeTokens revokes every access token of user uin, as when the user removes the app's
// authorisation in QQ.
func (s *Server) RevokeTokens(uin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.uin == uin {
			t.revoked = true
		}
	}
}

// handleMe handles /oauth2.0/me: JSONP by default, JSON with fmt=json, unionid on request
// when the app has the permission (error 100048 otherwise, with no openid).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("me")
	s.Latency.Wait(r)
	p := params(r)
	asJSON := p.Get("fmt") == "json"
	if s.applyFault(w, r, "me", !asJSON) {
		return
	}
	t, code := s.lookupToken(p.Get("access_token"), asJSON)
	if code != 0 {
		writeText(w, errorBody(errorf(code), !asJSON))
		return
	}
	body := `{"client_id":"` + t.appID + `","openid":"` + s.OpenID(t.appID, t.uin) + `"`
	if p.Get("unionid") == "1" {
		if !s.apps[t.appID].UnionID {
			writeText(w, errorBody(errorf(100048), !asJSON))
			return
		}
		body += `,"unionid":"` + s.UnionID(t.appID, t.uin) + `"`
	}
	body += "}"
	if asJSON {
		writeText(w, []byte(body))
		return
	}
	writeText(w, jsonpWrap([]byte(body)))
}

// userInfo is get_user_info's success body, field for field and type for type as QQ sends
// it (docs/qq-connect.md §5): ret, is_lost and gender_type are numbers, the rest strings.
type userInfo struct {
	Ret             int    `json:"ret"`
	Msg             string `json:"msg"`
	IsLost          int    `json:"is_lost"`
	Nickname        string `json:"nickname"`
	Gender          string `json:"gender"`
	GenderType      int    `json:"gender_type"`
	Province        string `json:"province"`
	City            string `json:"city"`
	Year            string `json:"year"`
	Constellation   string `json:"constellation"`
	Figureurl       string `json:"figureurl"`
	Figureurl1      string `json:"figureurl_1"`
	Figureurl2      string `json:"figureurl_2"`
	FigureurlQQ1    string `json:"figureurl_qq_1"`
	FigureurlQQ2    string `json:"figureurl_qq_2,omitempty"`
	FigureurlQQ     string `json:"figureurl_qq"`
	FigureurlType   string `json:"figureurl_type"`
	IsYellowVip     string `json:"is_yellow_vip"`
	Vip             string `json:"vip"`
	YellowVipLevel  string `json:"yellow_vip_level"`
	Level           string `json:"level"`
	IsYellowYearVip string `json:"is_yellow_year_vip"`
}

// handleUserInfo handles /user/get_user_info.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("user_info")
	s.Latency.Wait(r)
	if s.applyFault(w, r, "user_info", false) {
		return
	}
	p := params(r)
	t, code := s.lookupToken(p.Get("access_token"), true)
	if code != 0 {
		writeJSON(w, map[string]any{"ret": 1002, "msg": "请先登录"})
		return
	}
	if p.Get("oauth_consumer_key") != t.appID || p.Get("openid") != s.OpenID(t.appID, t.uin) {
		writeJSON(w, map[string]any{"ret": -1, "msg": "client request's parameters are invalid, invalid openid"})
		return
	}
	u, ok := s.user(t.uin)
	if !ok {
		writeJSON(w, map[string]any{"ret": 1002, "msg": "请先登录"})
		return
	}
	// Real avatars are http:// URLs on QQ's hosts; ours are http(s) URLs on the emulator.
	base := s.publicURL(r) + "/qlogo/" + u.UIN + "/"
	info := userInfo{
		Nickname: u.Nickname, Gender: "男", GenderType: 2, Province: "广东", City: "深圳", Year: "1990",
		Figureurl: base + "30", Figureurl1: base + "50", Figureurl2: base + "100",
		FigureurlQQ1: base + "40", FigureurlQQ: base + "640", FigureurlType: "1",
		IsYellowVip: "0", Vip: "0", YellowVipLevel: "0", Level: "0", IsYellowYearVip: "0",
	}
	if !u.NoQQ2 {
		info.FigureurlQQ2 = base + "100"
	}
	if u.IsLost {
		info.IsLost = 1
	}
	b, _ := json.Marshal(info)
	// PHP's json_encode escapes slashes; QQ's bodies show `http:\/\/…`.
	writeText(w, bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)))
}

func (s *Server) publicURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// settings is the JSON of /_qqemu/settings, for tools that run the emulator as a process.
type settings struct {
	LatencyMS int     `json:"latency_ms"`
	ExpiresIn int     `json:"expires_in"`
	Faults    []Fault `json:"faults"`
}

// handleAddUser handles POST /_qqemu/users (emulator-only): a new test QQ user, as the
// login page's 新 QQ 用户 button makes, answered as {"uin", "nickname"}; scripts then approve
// as it with qqemu_user=<uin>. The body, optional, is {"nickname"}.
func (s *Server) handleAddUser(w http.ResponseWriter, r *http.Request) {
	name, ok := emukit.NewUserName(w, r, "nickname", 20)
	if !ok {
		return
	}
	u := s.AddUser(name)
	emukit.WriteCreated(w, map[string]string{"uin": u.UIN, "nickname": u.Nickname})
}

func (s *Server) handleGetSettings(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := settings{LatencyMS: int(s.Latency.Get() / time.Millisecond), ExpiresIn: s.expires, Faults: s.Faults.List()}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func (s *Server) handlePutSettings(w http.ResponseWriter, r *http.Request) {
	var st settings
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || st.LatencyMS < 0 || st.ExpiresIn < 0 {
		http.Error(w, "bad settings: want {latency_ms, expires_in, faults}", http.StatusBadRequest)
		return
	}
	s.SetLatency(time.Duration(st.LatencyMS) * time.Millisecond)
	s.mu.Lock()
	if st.ExpiresIn > 0 {
		s.expires = st.ExpiresIn
	}
	s.mu.Unlock()
	s.Faults.Set(st.Faults)
	s.handleGetSettings(w, r)
}

// keepLocked records a newly issued pair for the user of the app, revoking the oldest pair
// past keepTokens.
func (s *Server) keepLocked(appID, uin string, p issuedPair) {
	k := appID + "/" + uin
	list := append(s.issued[k], p)
	if len(list) > keepTokens {
		delete(s.tokens, list[0].access)
		delete(s.refresh, list[0].refresh)
		list = append(list[:0], list[1:]...)
	}
	s.issued[k] = list
}
