package web

import (
	"net/http"
)

type emailRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleEmail handles PUT /users/email/ (JWT): {email, password} → 202, and a
// confirmation link goes to the address.
func (s *Server) handleEmail(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var in emailRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.RequestEmail(r.Context(), sess, in.Email, in.Password, s.client(r)); err != nil {
		return err
	}
	return encode(w, http.StatusAccepted, map[string]string{"message": "确认邮件已发送，请在 24 小时内打开邮件中的链接"})
}

type tokenRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// handleEmailConfirm handles POST /users/email/confirm/: {token} → 204.
func (s *Server) handleEmailConfirm(w http.ResponseWriter, r *http.Request) error {
	var in tokenRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.ConfirmEmail(r.Context(), in.Token, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// forgotBody is the one answer to every recovery request, whoever the address belongs to.
var forgotBody = map[string]string{"message": "如果这个邮箱已绑定荏苒账号，你会收到一封重置密码的邮件，请在 30 分钟内打开其中的链接"}

// handleForgot handles POST /users/password/forgot/: {email} → 202, always the same.
func (s *Server) handleForgot(w http.ResponseWriter, r *http.Request) error {
	var in emailRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.ForgotPassword(r.Context(), in.Email, s.client(r)); err != nil {
		return err
	}
	return encode(w, http.StatusAccepted, forgotBody)
}

// handleReset handles POST /users/password/reset/: {token, password} → 204.
func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) error {
	var in tokenRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.accounts.ResetPassword(r.Context(), in.Token, in.Password, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type changePasswordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// handleChangePassword handles PUT /users/password/ (JWT): {old_password, new_password} →
// 200 with a fresh login body; every other token of the account stops working.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.authenticate(r)
	if err != nil {
		return err
	}
	var in changePasswordRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.accounts.ChangePassword(r.Context(), sess, in.OldPassword, in.NewPassword, s.client(r))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, newLoginBody(l))
}
