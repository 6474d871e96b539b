package account

// Observer counts what the flows do, for /metrics. Options.Observer nil counts nothing.
// Every label is one of the constants below or a QQ error code, so the number of series
// stays small whatever clients send.
type Observer interface {
	QQStep(step string)
	QQError(code int)
	Refused(rule string) // a rate limit refused a request
	SMS(sent bool)
}

// The QQ funnel, in order.
const (
	StepAuthorize   = "authorize_url" // an authorize URL was issued
	StepCallback    = "callback"      // a callback came back with a valid state
	StepReturning   = "returning"     // a bound identity logged in
	StepPending     = "pending"       // a first-time identity waits for bind or register
	StepBindOK      = "bind_ok"
	StepBindFailed  = "bind_failed"
	StepRegisterOK  = "register_ok"
	StepTimeout     = "timeout"     // QQ did not answer in time
	StepUnavailable = "unavailable" // QQ answered nothing usable (network, 5xx, garbage)
)

// The rate-limit rules.
const (
	RuleLoginAccount  = "login_account"
	RuleLoginAddress  = "login_address"
	RuleLoginSite     = "login_site"
	RuleQQStates      = "qq_states_address"
	RuleForgotAddress = "forgot_address"
	RuleForgotEmail   = "forgot_email"
	RuleSMSMobileHr   = "sms_mobile_hour"
	RuleSMSSiteHour   = "sms_site_hour"
	RuleSMSSiteDay    = "sms_site_day"
	RuleSMSAddrHour   = "sms_address_hour"
	RuleSMSAddrDay    = "sms_address_day"
	RuleSMSInterval   = "sms_interval"
	RuleSMSMobileDay  = "sms_mobile_day"
)

type noObserver struct{}

func (noObserver) QQStep(string)  {}
func (noObserver) QQError(int)    {}
func (noObserver) Refused(string) {}
func (noObserver) SMS(bool)       {}
