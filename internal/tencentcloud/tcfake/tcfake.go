// Package tcfake is what Tencent Cloud's side of a call checks, for the local twins of its
// services (the captcha emulator, the SMS fake in tests). It recomputes the TC3 signature
// with its own code, not tencentcloud's, so that a twin checks the client rather than
// agreeing with it. Standard library only.
package tcfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CheckSignature recomputes the TC3-HMAC-SHA256 signature of a request to service as
// Tencent Cloud does and says what is wrong, in Tencent's error codes ("" when nothing).
func CheckSignature(r *http.Request, body []byte, service, secretID, secretKey string, now time.Time) (code, msg string) {
	auth := r.Header.Get("Authorization")
	const prefix = "TC3-HMAC-SHA256 "
	if !strings.HasPrefix(auth, prefix) {
		return "AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, prefix), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 4 || cred[3] != "tc3_request" {
		return "AuthFailure.InvalidAuthorization", "Credential is not SecretId/date/service/tc3_request"
	}
	if cred[0] != secretID {
		return "AuthFailure.SecretIdNotFound", "the SecretId does not exist"
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return "MissingParameter", "X-TC-Timestamp is required"
	}
	if d := now.Unix() - ts; d > 300 || d < -300 {
		return "AuthFailure.SignatureExpire", "the signature expired: the timestamp is more than 5 minutes off"
	}
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	if cred[1] != date || cred[2] != service {
		return "AuthFailure.SignatureFailure", "the credential scope does not match the date or the service"
	}
	signed := fields["SignedHeaders"]
	var canonHeaders strings.Builder
	for _, h := range strings.Split(signed, ";") {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canonHeaders.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	bodyHash := sha256.Sum256(body)
	canon := strings.Join([]string{"POST", "/", "", canonHeaders.String(), signed, hex.EncodeToString(bodyHash[:])}, "\n")
	canonHash := sha256.Sum256([]byte(canon))
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + strings.Join(cred[1:], "/") + "\n" + hex.EncodeToString(canonHash[:])
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	key := mac(mac(mac([]byte("TC3"+secretKey), date), service), "tc3_request")
	want := hex.EncodeToString(mac(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "AuthFailure.SignatureFailure", "the signature does not match"
	}
	return "", ""
}
