package wechatemu

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// pageCSP lets the emulator's pages use their inline styles, their images and the QR code,
// even when the site mounting the emulator sets a stricter policy.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"

// errorPage answers WeChat's page for a refused authorize request: the site is never
// called back. WeChat shows these with status 200.
func errorPage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	_ = errorTmpl.Execute(w, msg)
}

// checkAuthorize checks an authorize request for an app of kind: "" when it may go on,
// else the text of WeChat's page.
func (s *Server) checkAuthorize(q url.Values, kind, wantScope string) string {
	a, ok := s.app(q.Get("appid"))
	switch {
	case q.Get("appid") == "":
		if kind == MP {
			return "10012 appid不能为空"
		}
		return "AppID 参数错误"
	case !ok:
		return "AppID 参数错误"
	case kind == Website && a.Kind != Website:
		return "Scope 参数错误或没有 Scope 权限"
	case kind == MP && a.Kind != MP:
		return "10016 不支持微信开放平台的Appid，请使用公众号Appid"
	case q.Get("redirect_uri") == "":
		if kind == MP {
			return "10011 redirect_uri不能为空"
		}
		return "redirect_uri 参数错误"
	case q.Get("response_type") != "code":
		return "response_type 参数错误"
	case q.Get("scope") == "":
		if kind == MP {
			return "10010 scope不能为空"
		}
		return "Scope 参数错误或没有 Scope 权限"
	case !scopeOK(q.Get("scope"), wantScope, kind):
		if kind == MP {
			return "10005 此公众号并没有这些scope的权限"
		}
		return "Scope 参数错误或没有 Scope 权限"
	case kind == MP && (len(q.Get("state")) > 128 || !alnum(q.Get("state"))):
		return "state 参数错误（a-zA-Z0-9，最多 128 字节）"
	}
	for _, u := range a.RedirectURIs {
		if u == q.Get("redirect_uri") {
			return ""
		}
	}
	if kind == MP {
		return "10003 redirect_uri域名与后台配置不一致"
	}
	return "redirect_uri 参数错误"
}

func alnum(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func scopeOK(scope, want, kind string) bool {
	if kind == Website {
		return scope == want
	}
	for _, s := range strings.Split(scope, ",") {
		if s != "snsapi_base" && s != "snsapi_userinfo" {
			return false
		}
	}
	return true
}

// mpScope is the scope an official-account request grants: snsapi_userinfo when asked.
func mpScope(scope string) string {
	if strings.Contains(scope, "snsapi_userinfo") {
		return "snsapi_userinfo"
	}
	return "snsapi_base"
}

// handleQRConnect handles the website app's QR page: a QR code of the scan URL and, for
// development, the test users to "scan as".
func (s *Server) handleQRConnect(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("qrconnect")
	q := r.URL.Query()
	if msg := s.checkAuthorize(q, Website, "snsapi_login"); msg != "" {
		errorPage(w, msg)
		return
	}
	if s.autoApprove(w, r, q, "snsapi_login", WebCodeTTL) {
		return
	}
	uuid := randomAlnum(16)
	s.mu.Lock()
	s.flows[uuid] = flow{app: q.Get("appid"), redirect: q.Get("redirect_uri"), state: q.Get("state"), expires: s.cfg.Now().Add(WebCodeTTL)}
	s.mu.Unlock()
	s.page(w, q, uuid, "snsapi_login", false)
}

// handleMPAuthorize handles the official account's authorize page, inside WeChat only.
func (s *Server) handleMPAuthorize(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("authorize")
	q := r.URL.Query()
	if !strings.Contains(r.UserAgent(), "MicroMessenger") {
		errorPage(w, "请在微信客户端打开链接")
		return
	}
	if msg := s.checkAuthorize(q, MP, ""); msg != "" {
		errorPage(w, msg)
		return
	}
	if s.autoApprove(w, r, q, mpScope(q.Get("scope")), MPCodeTTL) {
		return
	}
	s.page(w, q, "", mpScope(q.Get("scope")), true)
}

// autoApprove handles wechatemu_user=<id> (or new): the code at once.
func (s *Server) autoApprove(w http.ResponseWriter, r *http.Request, q url.Values, scope string, ttl time.Duration) bool {
	id := q.Get("wechatemu_user")
	if id == "" {
		return false
	}
	if id == "new" {
		id = s.AddUser("").ID
	}
	if _, ok := s.user(id); !ok {
		http.Error(w, "wechatemu: no test user "+id, http.StatusBadRequest)
		return true
	}
	http.Redirect(w, r, callback(q.Get("redirect_uri"), s.newCode(q.Get("appid"), id, scope, ttl), q.Get("state")), http.StatusFound)
	return true
}

func (s *Server) newCode(app, user, scope string, ttl time.Duration) string {
	c := randomAlnum(32)
	s.mu.Lock()
	s.codes[c] = codeRec{app: app, user: user, scope: scope, expires: s.cfg.Now().Add(ttl)}
	s.mu.Unlock()
	return c
}

// callback is redirect_uri with code and state (state= even when empty, as the emulator's
// documented choice).
func callback(redirect, code, state string) string {
	q := "state=" + url.QueryEscape(state)
	if code != "" {
		q = "code=" + url.QueryEscape(code) + "&" + q
	}
	if strings.Contains(redirect, "?") {
		return redirect + "&" + q
	}
	return redirect + "?" + q
}

func (s *Server) page(w http.ResponseWriter, q url.Values, uuid, scope string, mp bool) {
	a, _ := s.app(q.Get("appid"))
	s.mu.Lock()
	users := make([]User, 0, len(s.order))
	for _, id := range s.order {
		users = append(users, s.users[id])
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", pageCSP)
	_ = pageTmpl.Execute(w, map[string]any{"App": a.Name, "AppID": a.ID, "Redirect": q.Get("redirect_uri"), "State": q.Get("state"),
		"Scope": scope, "UUID": uuid, "MP": mp, "Users": users, "ScanURL": s.cfg.PublicURL + "/connect/confirm?uuid=" + uuid, "Root": map[bool]string{true: "../../", false: "../"}[mp]})
}

// handleQRCode draws the QR code of a flow's scan URL (a real one: a phone's camera reads it).
func (s *Server) handleQRCode(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	s.mu.Lock()
	_, ok := s.flows[uuid]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	png, err := qrcode.Encode(s.cfg.PublicURL+"/connect/confirm?uuid="+uuid, qrcode.Medium, 240)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// handleConfirm is what scanning the QR code opens (on the phone): the same choice of
// test users, for the flow the code shows.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	uuid := r.URL.Query().Get("uuid")
	s.mu.Lock()
	f, ok := s.flows[uuid]
	s.mu.Unlock()
	if !ok || !s.cfg.Now().Before(f.expires) {
		errorPage(w, "二维码已失效，请回到电脑上刷新")
		return
	}
	s.page(w, url.Values{"appid": {f.app}, "redirect_uri": {f.redirect}, "state": {f.state}}, uuid, "snsapi_login", false)
}

// formFlow reads the authorize request a page's form carries back (approve, deny) and
// checks it again; on a refusal it has answered WeChat's page (ok false).
func (s *Server) formFlow(w http.ResponseWriter, r *http.Request) (App, url.Values, bool) {
	_ = r.ParseForm()
	a, known := s.app(r.PostForm.Get("appid"))
	q := url.Values{"appid": {a.ID}, "redirect_uri": {r.PostForm.Get("redirect_uri")}, "response_type": {"code"},
		"scope": {r.PostForm.Get("scope")}, "state": {r.PostForm.Get("state")}}
	msg := "AppID 参数错误"
	if known {
		msg = s.checkAuthorize(q, a.Kind, "snsapi_login")
	}
	if msg != "" {
		errorPage(w, msg)
		return App{}, nil, false
	}
	return a, q, true
}

// handleApprove handles 确认登录 as a listed user or a new one.
func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	a, q, ok := s.formFlow(w, r)
	if !ok {
		return
	}
	id := r.PostForm.Get("user")
	if r.PostForm.Get("new") == "1" {
		name := strings.TrimSpace(r.PostForm.Get("nickname"))
		if len([]rune(name)) > 32 {
			name = string([]rune(name)[:32])
		}
		id = s.AddUser(name).ID
	}
	if _, ok := s.user(id); !ok {
		http.Error(w, "wechatemu: no such user", http.StatusBadRequest)
		return
	}
	ttl, scope := WebCodeTTL, "snsapi_login"
	if a.Kind == MP {
		ttl, scope = MPCodeTTL, mpScope(q.Get("scope"))
	}
	if uuid := r.PostForm.Get("uuid"); uuid != "" {
		s.mu.Lock()
		delete(s.flows, uuid)
		s.mu.Unlock()
	}
	http.Redirect(w, r, callback(q.Get("redirect_uri"), s.newCode(a.ID, id, scope, ttl), q.Get("state")), http.StatusFound)
}

// handleDeny handles 取消: the site is called back with the state and no code.
func (s *Server) handleDeny(w http.ResponseWriter, r *http.Request) {
	_, q, ok := s.formFlow(w, r)
	if !ok {
		return
	}
	http.Redirect(w, r, callback(q.Get("redirect_uri"), "", q.Get("state")), http.StatusFound)
}

var errorTmpl = template.Must(template.New("e").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>微信</title></head>
<body style="font-family:sans-serif;margin:60px auto;max-width:520px;color:#333;text-align:center">
<div style="font-size:48px;color:#fa5151">!</div><p style="font-size:18px">{{.}}</p>
<p style="color:#999;font-size:13px">（微信模拟器）若提示“该链接无法访问”，请检查参数是否填写错误。</p></body></html>`))

var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .MP}}微信授权{{else}}微信登录{{end}}</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:{{if .MP}}#ededed{{else}}#333{{end}};color:#333}
.box{background:#fff;max-width:420px;margin:40px auto;padding:28px;border-radius:8px;text-align:center}
.mp .box{margin:0;max-width:none;min-height:100vh;border-radius:0;text-align:left}
h1{font-size:20px;margin:0 0 6px}.app{color:#666;font-size:14px;margin-bottom:16px}
.qr{width:220px;height:220px;border:1px solid #eee}
.hint{color:#666;font-size:14px;margin:8px 0 16px}
.user{display:flex;align-items:center;gap:12px;width:100%;padding:12px;margin:8px 0;border:1px solid #ddd;border-radius:6px;background:#fff;font-size:16px;cursor:pointer;text-align:left}
.user:hover,.user:focus{border-color:#07c160;outline:none}.user img{width:40px;height:40px;border-radius:4px}
.new{display:flex;gap:8px;margin-top:12px}.new input{flex:1;padding:10px;border:1px solid #ddd;border-radius:6px;font-size:16px;min-width:0}
.btn{padding:10px 16px;border-radius:6px;border:0;background:#07c160;color:#fff;font-size:16px;cursor:pointer}
.deny{background:#f2f2f2;color:#333;width:100%;margin-top:12px}
.note{color:#999;font-size:12px;margin-top:16px}
</style></head>
<body class="{{if .MP}}mp{{end}}">
<div class="box">
{{if .MP}}<h1>{{.App}}</h1><div class="app">申请获得你的公开信息（昵称、头像）</div>
{{else}}<h1>微信登录</h1><div class="app">{{.App}}</div>
<img class="qr" id="qrcode" alt="微信登录二维码" src="{{.Root}}connect/qrcode/{{.UUID}}">
<p class="hint">请使用微信扫描二维码登录「{{.App}}」<br><small>开发环境：也可以直接选择下面的测试微信用户</small></p>{{end}}
<form method="post" action="{{.Root}}connect/approve">
<input type="hidden" name="appid" value="{{.AppID}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="scope" value="{{.Scope}}"><input type="hidden" name="uuid" value="{{.UUID}}">
{{range .Users}}<button class="user" type="submit" name="user" value="{{.ID}}"><img alt="" src="{{$.Root}}avatar/{{.ID}}/64"><span>{{if $.MP}}以「{{.Nickname}}」允许{{else}}以「{{.Nickname}}」扫码确认{{end}}</span></button>
{{end}}</form>
<form method="post" action="{{.Root}}connect/approve" class="new">
<input type="hidden" name="appid" value="{{.AppID}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="scope" value="{{.Scope}}"><input type="hidden" name="new" value="1">
<input name="nickname" placeholder="新微信用户的昵称" aria-label="新微信用户的昵称" maxlength="32"><button class="btn" type="submit">新用户确认</button>
</form>
<form method="post" action="{{.Root}}connect/deny">
<input type="hidden" name="appid" value="{{.AppID}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="scope" value="{{.Scope}}">
<button class="btn deny" type="submit">{{if .MP}}拒绝{{else}}取消登录{{end}}</button>
</form>
<p class="note">这是荏苒开发环境的微信模拟器，不是真的微信。</p>
</div></body></html>`))
