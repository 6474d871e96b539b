// Package qqprovider adapts the QQ Connect client (internal/qq) to account.Provider: the
// steps of a QQ login and QQ's error-code table (docs/qq-connect.md §6) live here, not in
// account.
package qqprovider

import (
	"context"
	"errors"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/qq"
)

// Provider is QQ login.
type Provider struct{ c *qq.Client }

// New adapts c.
func New(c *qq.Client) *Provider { return &Provider{c: c} }

var _ account.Provider = (*Provider)(nil)

// Name implements account.Provider.
func (p *Provider) Name() string { return account.ProviderQQ }

// AppID implements account.Provider.
func (p *Provider) AppID() string { return p.c.AppID() }

// AuthorizeURL implements account.Provider.
func (p *Provider) AuthorizeURL(state string, b account.Browser) (string, string) {
	return p.c.AuthorizeURL(state, b.Mobile), p.c.AppID()
}

// Identify exchanges the code and, when QQ left the openid out of the token answer or the
// unionid is wanted (only /me gives it), asks /me.
func (p *Provider) Identify(ctx context.Context, _, code string) (account.External, error) {
	tok, err := p.c.Exchange(ctx, code)
	if err != nil {
		return account.External{}, mapErr("exchange code", err)
	}
	me := qq.Me{OpenID: tok.OpenID}
	if me.OpenID == "" || p.c.WantsUnionID() {
		if me, err = p.c.Me(ctx, tok.AccessToken); err != nil {
			return account.External{}, mapErr("me", err)
		}
	}
	return account.External{Subject: me.OpenID, UnionID: me.UnionID, AccessToken: tok.AccessToken,
		RefreshToken: tok.RefreshToken, ExpiresIn: tok.ExpiresIn}, nil
}

// Profile implements account.Provider with get_user_info.
func (p *Provider) Profile(ctx context.Context, ext account.External) (string, string, error) {
	info, err := p.c.UserInfo(ctx, ext.AccessToken, ext.Subject)
	if err != nil {
		return "", "", mapErr("get_user_info", err)
	}
	return info.Nickname, info.Avatar, nil
}

// mapErr is QQ's error table: what each failure means to the visitor.
func mapErr(op string, err error) error {
	var qe *qq.Error
	switch {
	case errors.Is(err, qq.ErrTimeout):
		return &account.ProviderError{Err: account.ErrQQTimeout, Step: account.StepTimeout, Detail: op + ": timed out"}
	case errors.As(err, &qe):
		pe := &account.ProviderError{Err: account.ErrQQError, Code: qe.Code, Detail: op + ": " + qe.Msg}
		switch qe.Code {
		case 100005, 100018, 100019, 100020: // the code is used, expired or not this app's
			pe.Err = account.ErrQQCodeInvalid
		case 100000, 100001, 100002, 100003, 100004, 100008, 100009, 100010, 100011, 100012, 100031, 100048, 21006:
			pe.Err, pe.Config = account.ErrQQConfig, true
		case 100013, 100014, 100015, 100016, 100030:
			pe.Err = account.ErrQQToken
		}
		return pe
	default:
		return &account.ProviderError{Err: account.ErrQQUnavailable, Step: account.StepUnavailable, Detail: op + ": " + err.Error()}
	}
}
