package web

import (
	"net/http"
	"strings"
	"time"
)

// eventTitles are the Chinese names of the audit events the user centre shows.
var eventTitles = map[string]string{
	"login_ok": "密码登录", "login_failed": "登录失败", "qq_login": "QQ 登录", "qq_bind": "关联 QQ",
	"register": "注册账号", "logout": "退出登录", "logout_all": "在所有设备上退出",
	"email_set": "设置邮箱", "password_change": "修改密码", "password_reset": "通过邮件重置密码",
	"qq_unbind": "解除 QQ 关联", "weibo_login": "微博登录", "weibo_bind": "关联微博", "weibo_unbind": "解除微博关联",
	"wechat_login": "微信登录", "wechat_bind": "关联微信", "wechat_unbind": "解除微信关联",
	"session_end": "退出一台设备", "refresh_reuse": "登录凭证被重复使用，已强制退出",
}

type eventBody struct {
	Kind   string    `json:"kind"`
	Title  string    `json:"title"`
	At     time.Time `json:"at"`
	IP     string    `json:"ip"`
	Device string    `json:"device"`
}

// handleEvents handles GET /users/me/events/ (JWT): the account's 20 newest security
// events, newest first, with the device told from the user agent.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	evs, err := s.accounts.RecentEvents(r.Context(), sess)
	if err != nil {
		return err
	}
	out := []eventBody{}
	for _, e := range evs {
		title := eventTitles[e.Event]
		if title == "" {
			title = e.Event
		}
		out = append(out, eventBody{Kind: e.Event, Title: title, At: e.At, IP: e.IP, Device: device(e.UserAgent)})
	}
	return encode(w, http.StatusOK, map[string]any{"events": out})
}

// device names a browser and a system from a user agent, roughly, for people to read.
func device(ua string) string {
	if ua == "" {
		return "未知设备"
	}
	sys := "其他系统"
	for _, p := range []struct{ sub, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"},
		{"Mac OS X", "Mac"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, p.sub) {
			sys = p.name
			break
		}
	}
	app := "浏览器"
	for _, p := range []struct{ sub, name string }{
		{"MicroMessenger", "微信"}, {" QQ/", "QQ"}, {"MQQBrowser", "QQ 浏览器"}, {"Edg/", "Edge"},
		{"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "程序"},
	} {
		if strings.Contains(ua, p.sub) {
			app = p.name
			break
		}
	}
	return app + " · " + sys
}
