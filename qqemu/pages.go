package qqemu

import (
	"crypto/sha256"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// handleAuthorize handles GET /oauth2.0/authorize. A bad client_id or redirect_uri ends on
// QQ's own error page and never calls the site back (docs/qq-connect.md §2.4); otherwise the
// browser goes on to the login page. The emulator-only parameter qqemu_user=<uin> approves
// at once as that user, as a QQ user who is already signed in and has authorised the app
// before would see it (qqemu_user=new: a new user); scripts and load tests use it to stand
// for the browser's round trip.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("authorize")
	s.Latency.Wait(r)
	q := r.URL.Query()
	code := s.checkAuthorize(q)
	if code != 0 {
		relRedirect(w, "show?"+query("which", "error", "display", "pc", "error", strconv.Itoa(code),
			"client_id", q.Get("client_id"), "response_type", "code", "redirect_uri", q.Get("redirect_uri"), "state", q.Get("state")))
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = "get_user_info"
	}
	if uin := q.Get("qqemu_user"); uin != "" {
		if uin == "new" { // a brand-new QQ user, as the page's 新 QQ 用户 button makes
			uin = s.AddUser("").UIN
		}
		if _, ok := s.user(uin); ok && s.apps[q.Get("client_id")].admits(uin) {
			c := s.newCode(q.Get("client_id"), q.Get("redirect_uri"), uin, scope)
			http.Redirect(w, r, callbackURL(q.Get("redirect_uri"), c, q.Get("state")), http.StatusFound)
			return
		}
	}
	display := "pc"
	if q.Get("display") == "mobile" {
		display = "mobile"
	}
	relRedirect(w, "show?"+query("which", "Login", "display", display, "client_id", q.Get("client_id"),
		"redirect_uri", q.Get("redirect_uri"), "response_type", "code", "state", q.Get("state"), "scope", scope))
}

// query encodes key/value pairs in the order given, as QQ's URLs have them
// (show?which=error&display=pc&error=…, docs/qq-connect.md §2.4); url.Values would sort them.
func query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// checkAuthorize returns the QQ error code for bad authorize parameters, or 0.
func (s *Server) checkAuthorize(q url.Values) int {
	if q.Get("client_id") == "" {
		return 100001
	}
	app, ok := s.apps[q.Get("client_id")]
	if !ok {
		return 100008
	}
	if q.Get("response_type") != "code" {
		return 100000
	}
	if !app.allows(q.Get("redirect_uri")) {
		return 100010
	}
	return 0
}

// relRedirect sends a relative Location, so the emulator works under any path prefix.
func relRedirect(w http.ResponseWriter, loc string) {
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusFound)
}

// callbackURL appends code then state to the redirect URI, with & when it already has a
// query (docs/qq-connect.md §2.2).
func callbackURL(redirectURI, code, state string) string {
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return redirectURI + sep + "code=" + code + "&state=" + url.QueryEscape(state)
}

type pageData struct {
	Title, Display, AppName, Error, AppID, RedirectURI, State, Scope, Back string
	Users                                                                  []pageUser
	Scopes                                                                 []string
}

type pageUser struct {
	UIN, Nickname, Color, Initial string
}

// handleShow handles GET /oauth2.0/show: which=Login is the login page with the test
// users, which=error is QQ's error page.
func (s *Server) handleShow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := pageData{Display: q.Get("display"), AppID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		State: q.Get("state"), Scope: q.Get("scope")}
	if d.Display != "mobile" {
		d.Display = "pc"
	}
	code := 0
	if q.Get("which") == "error" {
		code, _ = strconv.Atoi(q.Get("error"))
		if code == 0 {
			code = 100029
		}
	} else if q.Get("which") == "Login" {
		code = s.checkAuthorize(url.Values{"client_id": {d.AppID}, "redirect_uri": {d.RedirectURI}, "response_type": {"code"}})
	} else {
		code = 100028
	}
	if code != 0 {
		d.Title = "QQ登录"
		d.Error = errorText(code, d.AppID)
		w.WriteHeader(http.StatusOK)
		render(w, d)
		return
	}
	d.Title = "QQ帐号安全登录"
	d.AppName = s.apps[d.AppID].Name
	if d.AppName == "" {
		d.AppName = "应用 " + d.AppID
	}
	d.Scopes = []string{"获得您的昵称、头像、性别"}
	for _, u := range s.Users() {
		d.Users = append(d.Users, pageUser{UIN: u.UIN, Nickname: u.Nickname, Color: color(u.UIN), Initial: initial(u.Nickname)})
	}
	render(w, d)
}

// errorText renders the text QQ's error page shows for code.
func errorText(code int, appID string) string {
	switch code {
	case 100010:
		return "redirect uri is illegal(100010)"
	case 100001:
		return "param client_id is wrong or lost (100001)"
	case 100008:
		return "对不起，该网站尚未开通QQ帐号登录（错误码：100008）"
	case 100011:
		return "该应用尚未通过审核，只有开发者的QQ帐号可以登录（错误码：100011）"
	}
	d := strings.TrimSpace(descriptions[code])
	if d == "" {
		d = "error"
	}
	return d + "(" + strconv.Itoa(code) + ")"
}

// handleApprove handles POST /oauth2.0/approve, the login page's form: a picked test user
// (uin) or a new one (new=1, optional nickname). It checks the app and redirect_uri again
// and sends the browser to the site with a fresh code.
func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	q := url.Values{"client_id": {f.Get("client_id")}, "redirect_uri": {f.Get("redirect_uri")}, "response_type": {"code"}}
	if code := s.checkAuthorize(q); code != 0 {
		relRedirect(w, "show?which=error&display=pc&error="+strconv.Itoa(code))
		return
	}
	uin := f.Get("uin")
	if f.Get("new") == "1" {
		name := strings.TrimSpace(f.Get("nickname"))
		if utf8.RuneCountInString(name) > 20 {
			name = string([]rune(name)[:20])
		}
		uin = s.AddUser(name).UIN
	}
	if _, ok := s.user(uin); !ok {
		relRedirect(w, "show?which=error&display=pc&error=100029")
		return
	}
	if !s.apps[f.Get("client_id")].admits(uin) {
		relRedirect(w, "show?which=error&display=pc&error=100011")
		return
	}
	scope := f.Get("scope")
	if scope == "" {
		scope = "get_user_info"
	}
	c := s.newCode(f.Get("client_id"), f.Get("redirect_uri"), uin, scope)
	http.Redirect(w, r, callbackURL(f.Get("redirect_uri"), c, f.Get("state")), http.StatusFound)
}

// handleCancel handles GET /oauth2.0/cancel. Real QQ just closes its window and never calls
// the site (docs/qq-connect.md §2.5); we show a page that says so.
// A link to the site's home page (the origin of a registered redirect URI, without code
// or state) lets a person in the same tab find their way back.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := pageData{Title: "QQ登录", Display: q.Get("display"), Error: "已取消授权登录，可以关闭此页面。"}
	if app, ok := s.apps[q.Get("client_id")]; ok && app.allows(q.Get("redirect_uri")) {
		if u, err := url.Parse(q.Get("redirect_uri")); err == nil {
			d.Back = u.Scheme + "://" + u.Host + "/"
		}
	}
	render(w, d)
}

// handleAvatar handles GET /qlogo/{uin}/{size}: a round SVG avatar with the nickname's
// first character, standing in for QQ's avatar hosts.
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(r.PathValue("uin"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_ = avatarSVG.Execute(w, pageUser{Color: color(u.UIN), Initial: initial(u.Nickname)})
}

func color(uin string) string {
	palette := []string{"#12b7f5", "#f5a623", "#7ed321", "#bd10e0", "#e94e77", "#50e3c2", "#4a90e2"}
	h := sha256.Sum256([]byte(uin))
	return palette[int(h[0])%len(palette)]
}

func initial(name string) string {
	r, _ := utf8.DecodeRuneInString(name)
	if r == utf8.RuneError {
		return "Q"
	}
	return strings.ToUpper(string(r))
}

func render(w http.ResponseWriter, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
	_ = page.Execute(w, d)
}

var avatarSVG = template.Must(template.New("a").Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100"><circle cx="50" cy="50" r="50" fill="{{.Color}}"/><text x="50" y="50" dy=".35em" text-anchor="middle" font-size="44" font-family="sans-serif" fill="#fff">{{.Initial}}</text></svg>`))

var page = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='8' fill='%230a6e9c'/%3E%3C/svg%3E">
<title>{{.Title}}</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#eef3f8;color:#333}
header{background:#0a6e9c;color:#fff;padding:12px 20px;font-size:18px;font-weight:600;letter-spacing:1px}
header small{font-weight:400;font-size:12px;opacity:.85;margin-left:8px}
main{max-width:520px;margin:32px auto;background:#fff;border-radius:8px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:24px}
.mobile main{margin:0;border-radius:0;min-height:calc(100vh - 48px)}
h1{font-size:16px;margin:0 0 4px}
.app{color:#0a6e9c}
.perm{background:#f5f9fc;border:1px solid #e3edf5;border-radius:6px;padding:10px 14px;margin:12px 0 18px;color:#666}
.perm li{margin-left:-18px}
.users{list-style:none;margin:0;padding:0}
.users li{margin:0 0 10px}
.users button{display:flex;align-items:center;width:100%;padding:10px 12px;border:1px solid #dde6ee;border-radius:6px;background:#fff;cursor:pointer;font-size:15px;text-align:left}
.users button:hover,.users button:focus{border-color:#12b7f5;background:#f0faff;outline:none}
.users img{width:40px;height:40px;border-radius:50%;margin-right:12px}
.uin{color:#666;font-size:12px;margin-left:auto}
.new{display:flex;gap:8px;margin-top:16px;padding-top:16px;border-top:1px dashed #dde6ee}
.new input{flex:1;padding:9px 10px;border:1px solid #dde6ee;border-radius:6px;font-size:14px;min-width:0}
.btn{padding:9px 18px;border:0;border-radius:6px;background:#0a6e9c;color:#fff;font-size:14px;cursor:pointer}
.cancel{display:block;text-align:center;margin-top:18px;color:#666}
.err{color:#c0392b;font-size:16px;text-align:center;padding:30px 0}
footer{text-align:center;color:#666;font-size:12px;margin:16px}
</style></head>
<body class="{{.Display}}">
<header>QQ登录<small>QQ 互联 · 本地模拟器</small></header>
<main>
{{if .Error}}<p class="err" id="qq-error">{{.Error}}</p>{{if .Back}}<a class="cancel" href="{{.Back}}" id="back">返回网站</a>{{end}}{{else}}
<h1><span class="app">{{.AppName}}</span> 申请使用您的QQ帐号登录</h1>
<div class="perm">授权后该网站将获得以下权限：<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul></div>
<p>选择一个测试 QQ 帐号授权登录：</p>
<form method="post" action="approve">
<input type="hidden" name="client_id" value="{{.AppID}}"><input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="scope" value="{{.Scope}}">
<ul class="users">{{range .Users}}<li><button type="submit" name="uin" value="{{.UIN}}" data-uin="{{.UIN}}"><img src="../qlogo/{{.UIN}}/100" alt="">{{.Nickname}}<span class="uin">{{.UIN}}</span></button></li>{{end}}</ul>
</form>
<form method="post" action="approve" class="new">
<input type="hidden" name="client_id" value="{{.AppID}}"><input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="new" value="1">
<input name="nickname" maxlength="20" placeholder="昵称（可不填）" aria-label="新 QQ 用户的昵称">
<button class="btn" type="submit" id="new-user">新 QQ 用户</button>
</form>
<a class="cancel" href="cancel?display={{.Display}}&amp;client_id={{.AppID}}&amp;redirect_uri={{.RedirectURI}}" id="cancel">取消</a>
{{end}}
</main>
<footer>这是 graph.qq.com 的本地模拟器，仅用于开发和测试。</footer>
</body></html>`))
