package account

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Provider is an OAuth login provider (QQ today; WeChat and Weibo next), as the account
// flows need it. An adapter package wraps each provider's client and error table
// (internal/provider/qq) and is registered in app.Build.
type Provider interface {
	Name() string  // "qq": stored with each identity
	AppID() string // the app the subjects belong to (an openid is per app), by default
	// AuthorizeURL is where to send the browser, and the app it logs in to: a provider with
	// several apps (WeChat: the website app, and the official account inside WeChat's own
	// browser) picks one from the browser. The app is kept with the state.
	AuthorizeURL(state string, b Browser) (url, app string)
	// Identify exchanges a callback's code, issued to app, for the external identity and
	// its tokens.
	Identify(ctx context.Context, app, code string) (External, error)
	// Profile fetches nickname and avatar; a failure only means an empty form to fill.
	Profile(ctx context.Context, ext External) (nickname, avatar string, err error)
}

// Browser is what a provider may consider of the browser starting a login.
type Browser struct {
	Mobile    bool   // a phone: the provider's mobile page
	UserAgent string // e.g. WeChat's own browser says MicroMessenger
}

// External is an identity at a provider, as Identify returns it.
type External struct {
	AppID        string // the app the subject belongs to; empty: the provider's AppID()
	Subject      string // the provider's user id for this app (QQ: the openid)
	UnionID      string // across the provider's apps, when granted
	AccessToken  string
	RefreshToken string
	ExpiresIn    int64 // seconds
}

// ProviderError is a provider failure, mapped by the adapter: what the visitor gets, and
// what the service logs and counts.
type ProviderError struct {
	Err    *Error // the answer (ErrQQTimeout, ErrQQConfig, …)
	Step   string // a funnel step to count (StepTimeout, StepUnavailable), or ""
	Code   int    // the provider's own error code, 0 when none
	Config bool   // our configuration is wrong: logged as an error
	Detail string // for the log; never a token or a code
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider: %s (code %d): %s", e.Err.Code, e.Code, e.Detail)
}

// providerErr logs and counts a provider failure and returns what the visitor gets.
func (s *Service) providerErr(p Provider, op string, err error) error {
	var pe *ProviderError
	if !errors.As(err, &pe) {
		s.log.Warn("provider unavailable", "provider", p.Name(), "op", op, "err", err)
		s.obs.QQStep(StepUnavailable)
		return ErrQQUnavailable
	}
	switch {
	case pe.Config:
		s.log.Error("login provider misconfigured: check its app id, key and redirect URL", "provider", p.Name(), "op", op, "code", pe.Code, "detail", pe.Detail)
	default:
		s.log.Warn("provider answered an error", "provider", p.Name(), "op", op, "code", pe.Code, "detail", pe.Detail)
	}
	if pe.Code != 0 {
		s.obs.QQError(pe.Code)
	}
	if pe.Step != "" {
		s.obs.QQStep(pe.Step)
	}
	return pe.Err
}

// Providers lists the registered providers' names, sorted.
func (s *Service) Providers() []string {
	names := make([]string, 0, len(s.providers))
	for n := range s.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ProviderWeibo names Weibo identities.
const ProviderWeibo = "weibo"

// providerNames are how messages and pages name each provider.
var providerNames = map[string]string{ProviderQQ: "QQ", ProviderWeibo: "微博", "wechat": "微信"}

// ProviderName is how people call provider: QQ, 微博, 微信.
func ProviderName(provider string) string {
	if n, ok := providerNames[provider]; ok {
		return n
	}
	return provider
}

// qqWorded are the errors of the login-provider flows, which are written for QQ: every
// other provider answers them under codes and words of its own.
var qqWorded = []*Error{ErrStateInvalid, ErrQQCancelled, ErrPendingGone, ErrQQBound, ErrAccountHasQQ, ErrQQCodeInvalid,
	ErrQQConfig, ErrQQToken, ErrQQError, ErrQQUnavailable, ErrQQTimeout, ErrQQNotLinked}

// providerErrs maps, for each provider but QQ, an error of qqWorded to its own:
// qq_already_bound → weibo_already_bound, "该 QQ 已绑定其他荏苒账号" → "该微博已绑定其他荏苒账号".
// oauth_state_invalid keeps its code (it names no provider) and changes its words.
var providerErrs = func() map[string]map[*Error]*Error {
	out := map[string]map[*Error]*Error{}
	for _, p := range []string{ProviderWeibo, "wechat"} {
		name := providerNames[p]
		words := strings.NewReplacer(" QQ ", name, "QQ ", name, " QQ", name, "QQ", name)
		m := map[*Error]*Error{}
		for _, e := range qqWorded {
			v := *e
			v.Code = strings.Replace(strings.Replace(e.Code, "qq_", p+"_", 1), "_qq", "_"+p, 1)
			v.Message = words.Replace(e.Message)
			m[e] = &v
		}
		out[p] = m
	}
	return out
}()

// ForProvider returns err as provider's routes answer it: an error written for QQ becomes
// that provider's own (see providerErrs); anything else is unchanged.
func ForProvider(err error, provider string) error {
	if e := ErrorOf(err); e != nil {
		if v, ok := providerErrs[provider][e]; ok {
			return v
		}
	}
	return err
}

// ProviderErrors are the errors ForProvider answers, sorted by code: for the error catalogue.
func ProviderErrors() []*Error {
	var out []*Error
	for _, m := range providerErrs {
		for _, v := range m {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// providerEvent names a login-provider audit event for provider: qq_bind for QQ (and for
// records from before providers), weibo_bind for Weibo.
func providerEvent(provider, event string) string {
	if p := orQQ(provider); p != ProviderQQ {
		return p + strings.TrimPrefix(event, ProviderQQ)
	}
	return event
}
