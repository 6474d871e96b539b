package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/renran/accounts/internal/account"
)

type urlBody struct {
	URL string `json:"url"`
}

// handleQQURL handles GET /oauth/qq/url/?next=/path (the seed's ?state= is accepted as an
// alias): QQ's authorize URL → {"url"}, with the state bound to this browser in an
// HttpOnly cookie. A phone's browser gets QQ's mobile page.
func (s *Server) handleQQURL(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodHead { // a HEAD (a link checker, a prefetch) must not mint a state
		w.Header().Set("Allow", "GET")
		return account.ErrMethodNotAllowed
	}
	q := r.URL.Query()
	next := q.Get("next")
	if next == "" {
		next = q.Get("state")
	}
	var start account.QQStart
	var err error
	if q.Get("intent") == "link" { // linking QQ to the logged-in account (the user centre)
		sess, aerr := s.authenticate(r)
		if aerr != nil {
			return aerr
		}
		start, err = s.accounts.BeginLink(r.Context(), provider(r), sess, next, isMobile(r.UserAgent()), s.client(r))
	} else {
		start, err = s.accounts.Begin(r.Context(), provider(r), next, q.Get("remember") == "1", isMobile(r.UserAgent()), s.client(r))
	}
	if err != nil {
		return err
	}
	s.setCookie(w, stateCookie, start.State, account.StateTTL)
	return encode(w, http.StatusOK, urlBody{URL: start.URL})
}

// isMobile tells phones from desktops well enough to pick QQ's page style.
func isMobile(ua string) bool {
	for _, k := range []string{"Mobile", "Android", "iPhone", "iPad", "HarmonyOS"} {
		if strings.Contains(ua, k) {
			return true
		}
	}
	return false
}

type pendingBody struct {
	QQUser   string `json:"qq_user"`
	Nickname string `json:"nickname"`
	Avatar   string `json:"avatar"`
	Next     string `json:"next"`
	Remember bool   `json:"remember"` // 记住我 was ticked when the QQ login began
}

// handleQQInfo handles GET /oauth/qq/info/?code=…&state=… (+ the state cookie): a
// returning user → login body; a first-time user → {qq_user, nickname, avatar, next,
// remember} and the pending cookie that binds qq_user to this browser. With ?qq_user=…
// instead (and that cookie) it answers the same pending body again, for a reloaded page.
func (s *Server) handleQQInfo(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if h := q.Get("qq_user"); h != "" && q.Get("code") == "" {
		// The callback page reloaded while the person chooses 已有账号 / 没有账号.
		p, err := s.accounts.ResumePending(r.Context(), provider(r), h, s.cookie(r, pendingCookie))
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, pendingBody{QQUser: p.Handle, Nickname: p.Nickname, Avatar: p.Avatar, Next: p.Next, Remember: p.Remember})
	}
	cb := account.QQCallback{Code: q.Get("code"), State: q.Get("state"), CookieState: s.cookie(r, stateCookie), Client: s.client(r)}
	if r.Header.Get("Authorization") != "" {
		if sess, err := s.authenticate(r); err == nil {
			cb.Session = &sess // finishes a link state; a plain login ignores it
		}
	}
	res, err := s.accounts.Finish(r.Context(), provider(r), cb)
	// The state is used up whatever happened next.
	if !errors.Is(err, account.ErrStateInvalid) && !errors.Is(err, account.ErrNotFound) {
		s.clearCookie(w, stateCookie)
	}
	if err != nil {
		return err
	}
	if res.Login != nil {
		return encode(w, http.StatusOK, newLoginBody(*res.Login))
	}
	if l := res.Linked; l != nil {
		return encode(w, http.StatusOK, map[string]any{
			"linked": identityBody{Provider: l.Identity.Provider, Nickname: l.Identity.Nickname, Avatar: l.Identity.Avatar, BoundAt: l.Identity.CreatedAt},
			"next":   l.Next,
		})
	}
	p := res.Pending
	s.setCookie(w, pendingCookie, p.Browser, account.PendingTTL)
	return encode(w, http.StatusOK, pendingBody{QQUser: p.Handle, Nickname: p.Nickname, Avatar: p.Avatar, Next: p.Next, Remember: p.Remember})
}

type bindRequest struct {
	QQUser   string `json:"qq_user"`
	Account  string `json:"account"`
	Password string `json:"password"`
	Ticket   string `json:"ticket"`
	Randstr  string `json:"randstr"`
}

// handleQQBind handles PUT /oauth/qq/info/: binds the pending QQ identity to an existing
// account → login body.
func (s *Server) handleQQBind(w http.ResponseWriter, r *http.Request) error {
	var in bindRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.accounts.BindExisting(r.Context(), account.BindInput{
		Provider: provider(r), Handle: in.QQUser, Browser: s.cookie(r, pendingCookie), Account: in.Account, Password: in.Password,
		Captcha: account.CaptchaAnswer{Ticket: in.Ticket, Randstr: in.Randstr}, Client: s.client(r),
	})
	if err != nil {
		return err
	}
	s.clearCookie(w, pendingCookie)
	return encode(w, http.StatusOK, newLoginBody(l))
}

type qqRegisterRequest struct {
	QQUser   string `json:"qq_user"`
	Nickname string `json:"nickname"`
	Mobile   string `json:"mobile"`
	SMSCode  string `json:"sms_code"`
	Password string `json:"password"`
}

// handleQQRegister handles POST /oauth/qq/info/: a new account bound to the pending QQ
// identity, in one transaction → 201 + login body.
func (s *Server) handleQQRegister(w http.ResponseWriter, r *http.Request) error {
	var in qqRegisterRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.accounts.RegisterWithQQ(r.Context(), account.RegisterQQInput{
		Provider: provider(r), Handle: in.QQUser, Browser: s.cookie(r, pendingCookie),
		RegisterInput: account.RegisterInput{Nickname: in.Nickname, Mobile: in.Mobile, SMSCode: in.SMSCode, Password: in.Password, Client: s.client(r)},
	})
	if err != nil {
		return err
	}
	s.clearCookie(w, pendingCookie)
	return encode(w, http.StatusCreated, newLoginBody(l))
}

type unlinkRequest struct {
	Password string `json:"password"`
}

// handleQQUnlink handles DELETE /oauth/qq/ (JWT): {password} → 204.
func (s *Server) handleQQUnlink(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var in unlinkRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.Unlink(r.Context(), provider(r), sess, in.Password, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// provider is the route's provider: the segment after /oauth/ ("qq" today).
func provider(r *http.Request) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/oauth/"), "/")
	return p
}
