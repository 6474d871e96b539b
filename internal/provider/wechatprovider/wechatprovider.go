// Package wechatprovider adapts the WeChat client (internal/wechat) to account.Provider:
// the website app's QR login, the official account inside WeChat's own browser, and
// WeChat's error table (docs/wechat.md §8).
package wechatprovider

import (
	"context"
	"errors"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/wechat"
)

// ProviderWeChat names WeChat identities.
const ProviderWeChat = "wechat"

// Provider is WeChat login.
type Provider struct{ c *wechat.Client }

// New adapts c.
func New(c *wechat.Client) *Provider { return &Provider{c: c} }

var _ account.Provider = (*Provider)(nil)

// Name implements account.Provider.
func (p *Provider) Name() string { return ProviderWeChat }

// AppID implements account.Provider: the website app, the default.
func (p *Provider) AppID() string { return p.c.WebAppID() }

// AuthorizeURL implements account.Provider: inside WeChat's browser (MicroMessenger) the
// official account's web authorization, elsewhere the website app's QR page.
func (p *Provider) AuthorizeURL(state string, b account.Browser) (string, string) {
	return p.c.AuthorizeURL(state, wechat.InWeChat(b.UserAgent))
}

// Identify exchanges the code with the app that issued it; the token answer carries the
// openid and, for apps on the open platform, the unionid (no second call, unlike QQ).
func (p *Provider) Identify(ctx context.Context, app, code string) (account.External, error) {
	tok, err := p.c.Exchange(ctx, app, code)
	if err != nil {
		return account.External{}, mapErr("access_token", err)
	}
	return account.External{Subject: tok.OpenID, UnionID: tok.UnionID, AccessToken: tok.AccessToken,
		RefreshToken: tok.RefreshToken, ExpiresIn: tok.ExpiresIn}, nil
}

// Profile implements account.Provider with sns/userinfo (nickname and avatar; sex and
// region are defaults since 2021).
func (p *Provider) Profile(ctx context.Context, ext account.External) (string, string, error) {
	u, err := p.c.UserInfo(ctx, ext.AccessToken, ext.Subject)
	if err != nil {
		return "", "", mapErr("userinfo", err)
	}
	return u.Nickname, u.Avatar, nil
}

// mapErr is WeChat's error table. The account errors are QQ's; the web layer answers them
// under WeChat's codes (wechat_code_invalid, …).
func mapErr(op string, err error) error {
	var we *wechat.Error
	switch {
	case errors.Is(err, wechat.ErrTimeout):
		return &account.ProviderError{Err: account.ErrQQTimeout, Step: account.StepTimeout, Detail: op + ": timed out"}
	case errors.Is(err, wechat.ErrUnknownApp):
		return &account.ProviderError{Err: account.ErrQQConfig, Config: true, Detail: op + ": " + err.Error()}
	case errors.As(err, &we):
		pe := &account.ProviderError{Err: account.ErrQQError, Code: we.Code, Detail: op + ": " + we.Msg}
		switch we.Code {
		case 40029, 40163, 42003: // the code is unknown, used, expired, or another app's
			pe.Err = account.ErrQQCodeInvalid
		case 40013, 40125, 40002, 41002, 41004, 48001, 10003, 10005, 10016:
			pe.Err, pe.Config = account.ErrQQConfig, true
		case 40001, 40003, 40030, 42001, 42002:
			pe.Err = account.ErrQQToken
		case -1, 45011:
			pe.Err, pe.Step = account.ErrQQUnavailable, account.StepUnavailable
		}
		return pe
	default:
		return &account.ProviderError{Err: account.ErrQQUnavailable, Step: account.StepUnavailable, Detail: op + ": " + err.Error()}
	}
}
