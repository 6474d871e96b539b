package wechatprovider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/wechat"
)

// TestErrorTable: each kind of WeChat failure becomes the answer docs/wechat.md §4 gives.
func TestErrorTable(t *testing.T) {
	for _, c := range []struct {
		err    error
		want   *account.Error
		config bool
	}{
		{&wechat.Error{Code: 40029}, account.ErrQQCodeInvalid, false},
		{&wechat.Error{Code: 40163}, account.ErrQQCodeInvalid, false},
		{&wechat.Error{Code: 42003}, account.ErrQQCodeInvalid, false},
		{&wechat.Error{Code: 40125}, account.ErrQQConfig, true},
		{&wechat.Error{Code: 40013}, account.ErrQQConfig, true},
		{&wechat.Error{Code: 48001}, account.ErrQQConfig, true},
		{&wechat.Error{Code: 40001}, account.ErrQQToken, false},
		{&wechat.Error{Code: 40030}, account.ErrQQToken, false},
		{&wechat.Error{Code: -1}, account.ErrQQUnavailable, false},
		{&wechat.Error{Code: 45011}, account.ErrQQUnavailable, false},
		{&wechat.Error{Code: 40226}, account.ErrQQError, false},
		{wechat.ErrTimeout, account.ErrQQTimeout, false},
		{fmt.Errorf("%w \"wxnope\"", wechat.ErrUnknownApp), account.ErrQQConfig, true},
		{fmt.Errorf("%w: HTTP 500", wechat.ErrUnavailable), account.ErrQQUnavailable, false},
	} {
		var pe *account.ProviderError
		if err := mapErr("op", c.err); !errors.As(err, &pe) || pe.Err != c.want || pe.Config != c.config {
			t.Errorf("mapErr(%v) = %+v; want %s (config %v)", c.err, pe, c.want.Code, c.config)
		}
	}
}
