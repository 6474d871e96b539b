package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/renran/accounts/internal/account"
)

// authenticate reads the JWT from "Authorization: Bearer <t>" or, for the seed's client,
// "Authorization: JWT <t>" (scheme case-insensitive); never from the query string.
func (s *Server) authenticate(r *http.Request) (account.Session, error) {
	tok, ok := bearer(r)
	if !ok {
		return account.Session{}, account.ErrUnauthenticated
	}
	return s.accounts.Authenticate(r.Context(), tok)
}

// bearer returns the access token of the Authorization header ("Bearer" or, as the first
// release's clients send it, "JWT").
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "JWT")) {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

type identityBody struct {
	Provider string    `json:"provider"`
	Nickname string    `json:"nickname"`
	Avatar   string    `json:"avatar"`
	BoundAt  time.Time `json:"bound_at"`
}

type meBody struct {
	ID         int64          `json:"id"`
	Username   string         `json:"username"`
	Nickname   string         `json:"nickname"`
	Avatar     string         `json:"avatar"`
	Mobile     string         `json:"mobile"`
	Email      string         `json:"email"`
	HasPass    bool           `json:"has_password"`
	CreatedAt  time.Time      `json:"created_at"`
	Identities []identityBody `json:"identities"`
}

// handleMe handles GET /users/me/: the profile, with the mobile masked, and the linked
// identities.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	tok, ok := bearer(r)
	if !ok {
		return account.ErrUnauthenticated
	}
	_, p, err := s.accounts.AuthenticateProfile(r.Context(), tok)
	if err != nil {
		return err
	}
	u := p.User
	body := meBody{ID: u.ID, Username: u.Username, Nickname: u.Nickname, Avatar: u.Avatar,
		Mobile: account.MaskMobile(u.Mobile), Email: u.Email, HasPass: u.PasswordHash != "",
		CreatedAt: u.CreatedAt, Identities: []identityBody{}}
	for _, id := range p.Identities {
		body.Identities = append(body.Identities, identityBody{Provider: id.Provider, Nickname: id.Nickname, Avatar: id.Avatar, BoundAt: id.CreatedAt})
	}
	return encode(w, http.StatusOK, body)
}

type logoutRequest struct {
	All bool `json:"all"`
}

// handleLogout handles POST /users/logout/: revokes this token, or with {"all": true}
// every token of the user. The body is optional.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var in logoutRequest
	if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	if err := s.accounts.Logout(r.Context(), sess, in.All, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
