package web

import (
	"net/http"

	"github.com/renran/accounts/internal/account"
)

type loginRequest struct {
	Account  string `json:"account"`
	Password string `json:"password"`
	Remember bool   `json:"remember"`
	Ticket   string `json:"ticket"`
	Randstr  string `json:"randstr"`
	Next     string `json:"next"`
}

// loginBody is the answer of every request that logs someone in (docs/requirements.md §2): token is the
// access token (the seed's front end reads it), refresh_token renews it at
// POST /users/token/refresh/, expires_in is its lifetime in seconds.
type loginBody struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	Nickname     string `json:"nickname"`
	Avatar       string `json:"avatar"`
	Next         string `json:"next"`
	// Remember says the session lasts 30 days (记住我): the page keeps it in localStorage.
	Remember bool `json:"remember"`
}

func newLoginBody(l account.Login) loginBody {
	return loginBody{Token: l.Token, RefreshToken: l.RefreshToken, ExpiresIn: l.ExpiresIn, ID: l.User.ID, Username: l.User.Username, Nickname: l.User.Nickname,
		Avatar: l.User.Avatar, Next: l.Next, Remember: l.Session.Remember}
}

// handleLogin handles POST /users/login/: account + password (+ captcha) → login body.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.accounts.LoginPassword(r.Context(), account.LoginInput{
		Account: in.Account, Password: in.Password, Remember: in.Remember,
		Captcha: account.CaptchaAnswer{Ticket: in.Ticket, Randstr: in.Randstr}, Next: in.Next, Client: s.client(r),
	})
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, newLoginBody(l))
}
