// Package weiboprovider adapts the Weibo client (internal/weibo) to account.Provider: the
// steps of a Weibo login and Weibo's error-code table (docs/weibo.md) live here.
package weiboprovider

import (
	"context"
	"errors"
	"fmt"

	"github.com/renran/accounts/internal/account"
	"github.com/renran/accounts/internal/weibo"
)

// Provider is Weibo login.
type Provider struct{ c *weibo.Client }

// New adapts c.
func New(c *weibo.Client) *Provider { return &Provider{c: c} }

var _ account.Provider = (*Provider)(nil)

// Name implements account.Provider.
func (p *Provider) Name() string { return account.ProviderWeibo }

// AppID implements account.Provider. Weibo uids are global, but identities still record
// the app they came through.
func (p *Provider) AppID() string { return p.c.AppKey() }

// AuthorizeURL implements account.Provider; phones get display=mobile.
func (p *Provider) AuthorizeURL(state string, b account.Browser) (string, string) {
	return p.c.AuthorizeURL(state, b.Mobile), p.c.AppKey()
}

// Identify exchanges the code, then asks get_token_info whose token it is: Weibo's doc
// warns against trusting the uid of the token answer alone, and the app key must be ours.
func (p *Provider) Identify(ctx context.Context, _, code string) (account.External, error) {
	tok, err := p.c.Exchange(ctx, code)
	if err != nil {
		return account.External{}, mapErr("access_token", err)
	}
	info, err := p.c.TokenInfo(ctx, tok.AccessToken)
	if err != nil {
		return account.External{}, mapErr("get_token_info", err)
	}
	if info.AppKey != p.c.AppKey() || info.UID != tok.UID {
		return account.External{}, &account.ProviderError{Err: account.ErrQQError,
			Detail: fmt.Sprintf("get_token_info: the token is for app %s, user %s; the exchange said app %s, user %s", info.AppKey, info.UID, p.c.AppKey(), tok.UID)}
	}
	return account.External{Subject: tok.UID, AccessToken: tok.AccessToken, ExpiresIn: tok.ExpiresIn}, nil
}

// Profile implements account.Provider with users/show.
func (p *Provider) Profile(ctx context.Context, ext account.External) (string, string, error) {
	u, err := p.c.UserShow(ctx, ext.AccessToken, ext.Subject)
	if err != nil {
		return "", "", mapErr("users/show", err)
	}
	return u.ScreenName, u.Avatar, nil
}

// mapErr is Weibo's error table (docs/weibo.md §14): what each failure means to the visitor.
// The account errors are QQ's; the web layer answers them under Weibo's codes.
func mapErr(op string, err error) error {
	var we *weibo.Error
	switch {
	case errors.Is(err, weibo.ErrTimeout):
		return &account.ProviderError{Err: account.ErrQQTimeout, Step: account.StepTimeout, Detail: op + ": timed out"}
	case errors.As(err, &we):
		pe := &account.ProviderError{Err: account.ErrQQError, Code: we.Code, Detail: op + ": " + we.Name}
		switch we.Code {
		case 21325: // the code is unknown, used, expired, or for another redirect_uri
			pe.Err = account.ErrQQCodeInvalid
		case 21322, 21323, 21324, 21326, 21328, 21337, 10006:
			pe.Err, pe.Config = account.ErrQQConfig, true
		case 21327, 21332, 21301:
			pe.Err = account.ErrQQToken
		case 21330:
			pe.Err = account.ErrQQCancelled
		case 10001, 10022, 10023, 10024:
			pe.Err, pe.Step = account.ErrQQUnavailable, account.StepUnavailable
		}
		return pe
	default:
		return &account.ProviderError{Err: account.ErrQQUnavailable, Step: account.StepUnavailable, Detail: op + ": " + err.Error()}
	}
}
