package account

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Provider is an OAuth login provider (QQ today; WeChat and Weibo next), as the account
// flows need it. An adapter package wraps each provider's client and error table
// (internal/provider/qq) and is registered in app.Build.
type Provider interface {
	Name() string  // "qq": stored with each identity
	AppID() string // the app the subjects belong to (an openid is per app)
	AuthorizeURL(state string, mobile bool) string
	// Identify exchanges a callback's code for the external identity and its tokens.
	Identify(ctx context.Context, code string) (External, error)
	// Profile fetches nickname and avatar; a failure only means an empty form to fill.
	Profile(ctx context.Context, ext External) (nickname, avatar string, err error)
}

// External is an identity at a provider, as Identify returns it.
type External struct {
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
