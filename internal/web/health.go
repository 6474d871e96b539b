package web

import (
	"context"
	"net/http"
	"time"
)

// handleHealthz handles GET /healthz: the process is alive.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	_ = encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz handles GET /readyz: the database and the short-lived store answer.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.accounts.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		_ = encode(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	_ = encode(w, http.StatusOK, map[string]string{"status": "ok"})
}
