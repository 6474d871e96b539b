// Package account holds the product's rules: users, QQ identities, the flows of docs/requirements.md §1
// (password login, QQ login with its binding paths, registration, SMS codes) and the
// throttling policy. It has no HTTP and no SQL in it; it declares the seams it consumes
// (Store, KV, SMS, Captcha) and imports only the standard library and the leaves password,
// token, secret and qq.
//
// docs/requirements.md §7 is enforced here: every call to QQ happens before any transaction is opened, and
// no lock is held across one.
package account
