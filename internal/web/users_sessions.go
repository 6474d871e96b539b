package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/renran/accounts/internal/account"
)

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// handleRefresh handles POST /users/token/refresh/: a refresh token → the login body with
// a new access token and a new refresh token (the old one is used up). A refresh token
// presented twice ends its session: 401 session_revoked.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.accounts.Refresh(r.Context(), in.RefreshToken, s.client(r))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, newLoginBody(l))
}

type sessionBody struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	Method     string    `json:"method"`
	Remember   bool      `json:"remember"`
	IP         string    `json:"ip"`
	Device     string    `json:"device"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// handleSessions handles GET /users/me/sessions/ (JWT): the user's live sessions, the most
// recently seen first, the request's own marked current.
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	list, err := s.accounts.Sessions(r.Context(), sess)
	if err != nil {
		return err
	}
	out := []sessionBody{}
	for _, x := range list {
		out = append(out, sessionBody{ID: x.ID, Current: x.ID == sess.Record.ID, Method: x.Method, Remember: x.Remember, IP: x.IP,
			Device: device(x.UserAgent), CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, ExpiresAt: x.ExpiresAt})
	}
	return encode(w, http.StatusOK, map[string]any{"sessions": out})
}

// handleEndSession handles DELETE /users/me/sessions/{id} (JWT): ends one of the user's
// sessions (退出此设备) → 204; its tokens are refused from then on. Another user's session,
// an ended or unknown one: 404 session_not_found.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if err := s.accounts.EndSession(r.Context(), sess, r.PathValue("id"), s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleJWKS handles GET /.well-known/jwks.json: the public keys that verify access
// tokens (RFC 7517; Ed25519 keys as RFC 8037 OKP), cacheable for account.JWKSMaxAge. A
// rotated key is published here account.DefaultKeyDelay before it signs.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(account.JWKSMaxAge/time.Second)))
	h.Set("Access-Control-Allow-Origin", "*") // public keys: any page may read them
	w.Write(s.accounts.JWKS())
}
