package weiboemu

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// checkAuthorize checks an authorize request the way Weibo does before showing its page:
// "" when it may go on, else the error page's text (the site is never called back).
func (s *Server) checkAuthorize(clientID, redirect, responseType string) string {
	app, ok := s.app(clientID)
	if !ok {
		return "访问出错了！你所访问的站点在新浪微博的认证失败，请你联系开发者助手或者稍后再试。(error:invalid_client)"
	}
	if responseType != "" && responseType != "code" {
		return "错误码：21329 unsupported_response_type"
	}
	for _, u := range app.RedirectURIs {
		if u == redirect {
			return ""
		}
	}
	return "错误码：21322 重定向地址不匹配 (error:redirect_uri_mismatch)"
}

// refuse answers Weibo's error page: the site is never called back.
func refuse(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(http.StatusBadRequest)
	_ = errorPage.Execute(w, msg)
}

// callback is redirect_uri with the code (and the state, when one was sent).
func callback(redirect, code, state string) string {
	q := url.Values{"code": {code}}
	if state != "" {
		q.Set("state", state)
	}
	return join(redirect, q.Encode())
}

func join(redirect, query string) string {
	if strings.Contains(redirect, "?") {
		return redirect + "&" + query
	}
	return redirect + "?" + query
}

// handleAuthorize handles GET or POST /oauth2/authorize: Weibo's consent page (a phone
// layout for display=mobile), or Weibo's error page. weiboemu_user=<uid> approves as that
// test user at once (weiboemu_user=new: a new user).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.Counts.Add("authorize")
	p := params(r)
	clientID, redirect, state := p("client_id"), p("redirect_uri"), p("state")
	if msg := s.checkAuthorize(clientID, redirect, p("response_type")); msg != "" {
		refuse(w, msg)
		return
	}
	if uid := p("weiboemu_user"); uid != "" {
		if uid == "new" {
			uid = s.AddUser("").UID
		}
		if _, ok := s.user(uid); !ok {
			http.Error(w, "weiboemu: no test user "+uid, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, callback(redirect, s.newCode(clientID, uid, redirect), state), http.StatusFound)
		return
	}
	app, _ := s.app(clientID)
	s.mu.Lock()
	users := make([]User, 0, len(s.order))
	for _, uid := range s.order {
		users = append(users, s.users[uid])
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", pageCSP)
	_ = authorizePage.Execute(w, map[string]any{
		"App": app.Name, "ClientID": clientID, "Redirect": redirect, "State": state, "Users": users,
		"Mobile": p("display") == "mobile", "Display": p("display"),
	})
}

// handleApprove handles the page's 授权 (as a listed user, or a new one named name).
func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	p := params(r)
	clientID, redirect, state := p("client_id"), p("redirect_uri"), p("state")
	if msg := s.checkAuthorize(clientID, redirect, ""); msg != "" {
		refuse(w, msg)
		return
	}
	uid := p("uid")
	if p("new") == "1" {
		name := strings.TrimSpace(p("name"))
		if len([]rune(name)) > 30 {
			name = string([]rune(name)[:30])
		}
		uid = s.AddUser(name).UID
	}
	if _, ok := s.user(uid); !ok {
		http.Error(w, "weiboemu: no such user", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, callback(redirect, s.newCode(clientID, uid, redirect), state), http.StatusFound)
}

// handleCancel handles 取消: Weibo calls the site back with access_denied and 21330.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	p := params(r)
	clientID, redirect, state := p("client_id"), p("redirect_uri"), p("state")
	if msg := s.checkAuthorize(clientID, redirect, ""); msg != "" {
		refuse(w, msg)
		return
	}
	q := "error_uri=%2Foauth2%2Fauthorize&error=access_denied&error_description=user%20denied%20your%20request.&error_code=21330"
	if state != "" {
		q += "&state=" + url.QueryEscape(state)
	}
	http.Redirect(w, r, join(redirect, q), http.StatusFound)
}

// pageCSP lets the emulator's pages use their inline styles and their avatars, and
// nothing else, even when the site mounting the emulator sets a stricter policy.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>微博 - 出错了</title></head>
<body style="font-family:sans-serif;margin:40px auto;max-width:560px;color:#333">
<h1 style="color:#e6162d;font-size:20px">微博（模拟器）</h1><p>{{.}}</p></body></html>`))

var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>微博登录 - 授权</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f2f2f5;color:#333}
.box{background:#fff;max-width:480px;margin:40px auto;padding:24px;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.1)}
.mobile .box{margin:0;max-width:none;min-height:100vh;border-radius:0;box-shadow:none}
h1{font-size:20px;color:#e6162d;margin:0 0 4px}
.app{color:#666;font-size:14px;margin-bottom:16px}
.user{display:flex;align-items:center;gap:12px;width:100%;padding:12px;margin:8px 0;border:1px solid #ddd;border-radius:6px;background:#fff;font-size:16px;cursor:pointer;text-align:left}
.user:hover,.user:focus{border-color:#ff8200;outline:none}
.user img{width:40px;height:40px;border-radius:50%}
.new{display:flex;gap:8px;margin-top:16px}.new input{flex:1;padding:10px;border:1px solid #ddd;border-radius:6px;font-size:16px}
.btn{padding:10px 16px;border-radius:6px;border:0;background:#ff8200;color:#fff;font-size:16px;cursor:pointer}
.cancel{background:#eee;color:#333;margin-top:16px;width:100%}
.note{color:#999;font-size:12px;margin-top:16px}
</style></head>
<body class="{{if .Mobile}}mobile{{end}}" data-display="{{.Display}}">
<div class="box">
<h1>微博登录{{if .Mobile}}（手机版）{{end}}</h1>
<div class="app">「{{.App}}」将获得你的公开信息（昵称、头像）</div>
<form method="post" action="approve">
<input type="hidden" name="client_id" value="{{.ClientID}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}">
{{range .Users}}<button class="user" name="uid" value="{{.UID}}" type="submit"><img alt="" src="../avatar/{{.UID}}?size=50"><span>以「{{.ScreenName}}」授权</span></button>
{{end}}</form>
<form method="post" action="approve" class="new">
<input type="hidden" name="client_id" value="{{.ClientID}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}"><input type="hidden" name="new" value="1">
<input name="name" placeholder="新微博用户的昵称" aria-label="新微博用户的昵称" maxlength="30"><button class="btn" type="submit">新用户授权</button>
</form>
<form method="post" action="cancel">
<input type="hidden" name="client_id" value="{{.ClientID}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}"><button class="btn cancel" type="submit">取消</button>
</form>
<p class="note">这是荏苒开发环境的微博模拟器，不是真的微博。</p>
</div></body></html>`))
