package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/renran/accounts/internal/app/apptest"
)

// TestVerifyAgainstTheService runs the README's example against the real program: a token
// from a registration verifies with the published keys; a tampered one does not.
func TestVerifyAgainstTheService(t *testing.T) {
	site := apptest.Start(t, map[string]string{"RENRAN_CAPTCHA": "off"}).URL
	post := func(path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(site+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s = %d %v", path, resp.StatusCode, m)
		}
		return m
	}
	post("/users/sms/", map[string]any{"mobile": "13700001234", "purpose": "register"})
	resp, err := http.Get(site + "/_dev/outbox?to=13700001234")
	if err != nil {
		t.Fatal(err)
	}
	var box []struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&box)
	resp.Body.Close()
	login := post("/users/", map[string]any{"nickname": "验证示例", "mobile": "13700001234", "sms_code": box[0].Code, "password": "correct horse battery"})
	tok, _ := login["token"].(string)

	keys, err := Keys(site)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys = %v, %v", keys, err)
	}
	user, session, err := Verify(keys, tok)
	if err != nil || user == "" || session == "" {
		t.Fatalf("Verify = %q, %q, %v", user, session, err)
	}
	if _, _, err := Verify(keys, tok[:len(tok)-2]+"xx"); err == nil {
		t.Error("a token with a broken signature verified")
	}
	if _, _, err := Verify(keys, login["refresh_token"].(string)); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("a refresh token as an access token: %v", err)
	}
}
