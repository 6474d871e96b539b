package web

import (
	"net/http"

	"github.com/renran/accounts/internal/account"
)

// handleOutbox handles GET /_dev/outbox (development only): the SMS codes and mails
// "sent", newest first, filtered by ?to= (the mobile or address as entered).
func (s *Server) handleOutbox(w http.ResponseWriter, r *http.Request) error {
	if s.outbox == nil {
		return account.ErrNotFound
	}
	to := r.URL.Query().Get("to")
	if m, ok := account.NormalizeMobile(to); ok {
		to = m
	}
	return encode(w, http.StatusOK, s.outbox.List(to))
}
