package web

import (
	"net/http"
	"strings"
)

// routes lists every route of the service. API paths keep the seed's trailing slash; the
// same path without it is accepted too.
func (s *Server) routes() {
	api := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		s.handle(pattern+"{$}", s.api(h))
		method, path, _ := strings.Cut(pattern, " ")
		s.handle(method+" "+path[:len(path)-1], s.api(h))
	}
	api("POST /users/login/", s.handleLogin)
	api("GET /users/me/", s.handleMe)
	api("GET /users/me/events/", s.handleEvents)
	api("GET /users/me/sessions/", s.handleSessions)
	s.handle("DELETE /users/me/sessions/{id}", s.api(s.handleEndSession))
	s.handle("DELETE /users/me/sessions/{id}/", s.api(s.handleEndSession))
	api("POST /users/token/refresh/", s.handleRefresh)
	api("POST /users/logout/", s.handleLogout)
	api("POST /users/sms/", s.handleSMS)
	api("POST /users/", s.handleRegister)
	api("PUT /users/email/", s.handleEmail)
	api("POST /users/email/confirm/", s.handleEmailConfirm)
	api("POST /users/password/forgot/", s.handleForgot)
	api("POST /users/password/reset/", s.handleReset)
	api("PUT /users/password/", s.handleChangePassword)
	// Every login provider answers under its name (/oauth/qq/… today), each route its own
	// pattern, so that /metrics tells the providers apart.
	for _, p := range s.providers {
		api("GET /oauth/"+p+"/url/", s.handleQQURL)
		api("GET /oauth/"+p+"/info/", s.handleQQInfo)
		api("PUT /oauth/"+p+"/info/", s.handleQQBind)
		api("POST /oauth/"+p+"/info/", s.handleQQRegister)
		api("DELETE /oauth/"+p+"/", s.handleQQUnlink)
	}
	for _, p := range []string{"/users/", "/oauth/"} {
		s.handleFunc("OPTIONS "+p, s.handlePreflight)
	}

	s.handleFunc("GET /{$}", s.handleRoot)
	s.handleFunc("GET /login", s.page("login", "登录"))
	s.handleFunc("GET /register", s.page("register", "注册"))
	s.handleFunc("GET /find-password", s.page("find-password", "找回密码"))
	s.handleFunc("GET /reset-password", s.page("reset-password", "设置新密码"))
	s.handleFunc("GET /confirm-email", s.page("confirm-email", "确认邮箱"))
	for p, path := range s.callbackPaths {
		s.handleFunc("GET "+path, s.handleCallbackPage(path, s.callbackPageFor(p)))
	}
	s.handleFunc("GET /user", s.page("user", "个人中心"))
	s.handleFunc("GET /terms", s.pageWith("terms", "用户协议", "", http.StatusOK))
	s.handleFunc("GET /privacy", s.pageWith("privacy", "隐私政策", "", http.StatusOK))
	s.notFoundPage = s.pageWith("notfound", "页面不存在", "", http.StatusNotFound)
	s.handleFunc("GET /favicon.ico", s.handleFavicon)
	s.handle("GET /static/", s.handleStatic())

	s.handleFunc("/", s.handleUnmatched)
	s.handleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	s.handleFunc("GET /healthz", s.handleHealthz)
	s.handleFunc("GET /readyz", s.handleReadyz)

	if s.dev {
		s.handle("GET /_dev/outbox", s.api(s.handleOutbox))
		s.handleFunc("GET /_dev/{$}", s.page("dev", "开发工具"))
		if s.qqemu != nil {
			s.handle("/_dev/qq/", http.StripPrefix("/_dev/qq", s.qqemu))
		}
		if s.wechatemu != nil {
			s.handle("/_dev/wechat/", http.StripPrefix("/_dev/wechat", s.wechatemu))
		}
		if s.weiboemu != nil {
			s.handle("/_dev/weibo/", http.StripPrefix("/_dev/weibo", s.weiboemu))
		}
		if s.captchaEmu != nil {
			s.handle("/_dev/captcha/", http.StripPrefix("/_dev/captcha", s.captchaEmu))
		}
	}
}

// handle registers a route and remembers its pattern (Routes).
func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

func (s *Server) handleFunc(pattern string, h http.HandlerFunc) { s.handle(pattern, h) }

// Routes lists the patterns of every route, as registered ("POST /users/login/{$}"), for
// the test that holds docs/openapi.yaml to them.
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }
