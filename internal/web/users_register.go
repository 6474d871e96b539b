package web

import (
	"net/http"

	"github.com/renran/accounts/internal/account"
)

type smsRequest struct {
	Mobile  string `json:"mobile"`
	Purpose string `json:"purpose"`
	Ticket  string `json:"ticket"`
	Randstr string `json:"randstr"`
}

type smsBody struct {
	ExpiresIn   int `json:"expires_in"`
	ResendAfter int `json:"resend_after"`
}

// handleSMS handles POST /users/sms/: sends a verification code → {expires_in, resend_after}.
func (s *Server) handleSMS(w http.ResponseWriter, r *http.Request) error {
	var in smsRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	sent, err := s.accounts.SendSMSCode(r.Context(), account.SMSInput{
		Mobile: in.Mobile, Purpose: in.Purpose, Captcha: account.CaptchaAnswer{Ticket: in.Ticket, Randstr: in.Randstr}, Client: s.client(r),
	})
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, smsBody{ExpiresIn: int(sent.ExpiresIn.Seconds()), ResendAfter: int(sent.ResendAfter.Seconds())})
}

type registerRequest struct {
	Nickname string `json:"nickname"`
	Mobile   string `json:"mobile"`
	SMSCode  string `json:"sms_code"`
	Password string `json:"password"`
	Next     string `json:"next"`
}

// handleRegister handles POST /users/: a new account without QQ → 201 + login body.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	var in registerRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.accounts.Register(r.Context(), account.RegisterInput{
		Nickname: in.Nickname, Mobile: in.Mobile, SMSCode: in.SMSCode, Password: in.Password, Client: s.client(r),
	}, in.Next)
	if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, newLoginBody(l))
}
