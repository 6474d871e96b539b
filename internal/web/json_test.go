package web

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/renran/accounts/internal/account"
)

type sample struct {
	Account  string `json:"account"`
	Remember bool   `json:"remember"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		want              error
		field             string
	}{
		{"ok", "application/json", `{"account":"a","remember":true}`, nil, ""},
		{"charset", "application/json; charset=utf-8", `{"account":"a"}`, nil, ""},
		{"text/plain", "text/plain", `{"account":"a"}`, account.ErrUnsupportedMedia, ""},
		{"form", "application/x-www-form-urlencoded", `account=a`, account.ErrUnsupportedMedia, ""},
		{"no type", "", `{}`, account.ErrUnsupportedMedia, ""},
		{"not json", "application/json", `account=a`, account.ErrInvalidJSON, ""},
		{"array", "application/json", `[{"account":"a"}]`, account.ErrInvalidJSON, ""},
		{"second value", "application/json", `{"account":"a"}{"account":"b"}`, account.ErrInvalidJSON, ""},
		{"duplicate key", "application/json", `{"account":"a","account":"b"}`, account.ErrInvalidJSON, ""},
		{"duplicate nested key", "application/json", `{"account":"a","x":{"k":1,"k":2}}`, account.ErrInvalidJSON, ""},
		{"unknown field", "application/json", `{"account":"a","is_staff":true}`, account.UnknownField("is_staff", []string{"account", "remember"}), "is_staff"},
		{"wrong type", "application/json", `{"account":1}`, account.WrongType("account", "字符串"), "account"},
		{"deep", "application/json", `{"a":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`, account.ErrInvalidJSON, ""},
		{"too large", "application/json", `{"account":"` + strings.Repeat("a", maxBody) + `"}`, account.ErrBodyTooLarge, ""},
		{"truncated", "application/json", `{"account":"a"`, account.ErrInvalidJSON, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/users/login/", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			var v sample
			err := decode(r, &v)
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Fatalf("decode(%s) = %v, want %v", tt.name, err, tt.want)
			}
			if e := account.ErrorOf(err); e != nil && e.Field != tt.field {
				t.Errorf("decode(%s) field = %q, want %q", tt.name, e.Field, tt.field)
			}
		})
	}
}

// TestDecodeSaysWhatWasExpected: an unknown field is named with the fields the endpoint
// takes; a wrong type says the right one.
func TestDecodeSaysWhatWasExpected(t *testing.T) {
	for _, tt := range []struct{ body, field, msg string }{
		{`{"username":"x"}`, "username", "不支持字段 username；这个接口接受的字段是：account、remember"},
		{`{"account":1}`, "account", "字段 account 应为字符串"},
		{`{"remember":"yes"}`, "remember", "字段 remember 应为布尔值（true 或 false）"},
	} {
		var v sample
		e := account.ErrorOf(decodeBytes([]byte(tt.body), &v))
		if e == nil || e.Code != "invalid_field" || e.Field != tt.field || e.Message != tt.msg {
			t.Errorf("decode(%s) = %+v; want field %q and message %q", tt.body, e, tt.field, tt.msg)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"account":"a"}`, `{"a":{"b":[1,{"c":2}]}}`, `{"account":"a","account":"b"}`, `[]`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v sample
		err := decodeBytes([]byte(body), &v)
		if err != nil && account.ErrorOf(err) == nil {
			t.Fatalf("decodeBytes(%q) = %v: not an API error", body, err)
		}
	})
}
