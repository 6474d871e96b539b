package account

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// keys names every record the service keeps in the short-lived store; no other code
// spells a key. The KV adds its own prefix (one per site) in front of these names.
//
// A value inside a name is never stored as such: random handles are hashed so that a
// reader of the store cannot use them, and mobiles and addresses are keyed with an HMAC
// of the master secret, because a plain hash of an 11-digit mobile is undone by trying
// them all. Every instance derives the same key from the shared RENRAN_SECRET_KEY.
type keys struct{ mac []byte }

// name is the HMAC of v, shortened to 144 bits (base64url, 24 characters).
func (k keys) name(v string) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// qqState is an OAuth state between /oauth/qq/url/ and the callback.
func (k keys) qqState(state string) string { return "qq:state:" + k.name(state) }

// qqStatesAddr counts the states one address bucket minted in the last StateTTL.
func (k keys) qqStatesAddr(bucket string) string { return "qq:states:" + k.name(bucket) }

// qqPending is a first-time QQ identity waiting to be bound or registered.
func (k keys) qqPending(handle string) string { return "qq:pending:" + k.name(handle) }

// smsCode is the code sent to mobile for purpose.
func (k keys) smsCode(purpose, mobile string) string {
	return "sms:code:" + purpose + ":" + k.name(mobile)
}

// smsTries counts the guesses at one sent code (its nonce), so a resend starts afresh.
func (k keys) smsTries(nonce string) string { return "sms:tries:" + k.name(nonce) }

// smsInterval is held for SMSResendAfter after a code is sent to mobile.
func (k keys) smsInterval(mobile string) string { return "sms:interval:" + k.name(mobile) }

// smsMobileDay counts the codes sent to mobile in a day.
func (k keys) smsMobileDay(mobile string) string { return "sms:day:" + k.name(mobile) }

// noticeDay counts the security notices sent to mobile by SMS in a day.
func (k keys) noticeDay(mobile string) string { return "notice:day:" + k.name(mobile) }

// smsAddrHour and smsAddrDay count the codes one address asked for.
func (k keys) smsAddrHour(ip string) string { return "sms:addr:h:" + k.name(ip) }
func (k keys) smsAddrDay(ip string) string  { return "sms:addr:d:" + k.name(ip) }

// loginFailAccount counts failed logins against one login identifier.
func (k keys) loginFailAccount(kind LoginKind, value string) string {
	return "login:fail:acct:" + strconv.Itoa(int(kind)) + ":" + k.name(value)
}

// loginFailSite counts failed logins across the site in a one-minute window.
func (k keys) loginFailSite() string { return "login:fail:site" }

// smsSiteHour and smsSiteDay count the codes the whole site sent in an hour and a day.
func (k keys) smsSiteHour() string { return "sms:site:h" }
func (k keys) smsSiteDay() string  { return "sms:site:d" }

// smsMobileHour counts the codes sent to mobile in an hour.
func (k keys) smsMobileHour(mobile string) string { return "sms:hour:" + k.name(mobile) }

// loginFailAddr counts failed logins from one address bucket (AddrBucket).
func (k keys) loginFailAddr(ip string) string { return "login:fail:addr:" + k.name(ip) }

// emailConfirm is a pending e-mail change, named by its confirmation token.
func (k keys) emailConfirm(token string) string { return "mail:confirm:" + k.name(token) }

// resetToken is a password-reset token; resetUser names the user's newest one, so that
// issuing another supersedes it.
func (k keys) resetToken(token string) string { return "reset:token:" + k.name(token) }
func (k keys) resetUser(userID int64) string {
	return "reset:user:" + strconv.FormatInt(userID, 10)
}

// forgotAddr and forgotEmail count recovery requests per address bucket and per e-mail.
func (k keys) forgotAddr(bucket string) string { return "forgot:addr:" + k.name(bucket) }
func (k keys) forgotEmail(email string) string { return "forgot:email:" + k.name(email) }
