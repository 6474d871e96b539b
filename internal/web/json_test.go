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
		{"unknown field", "application/json", `{"account":"a","is_staff":true}`, account.InvalidField("is_staff"), "is_staff"},
		{"wrong type", "application/json", `{"account":1}`, account.InvalidField("account"), "account"},
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
