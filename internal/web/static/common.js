// Shared by the pages: the JSON API, token storage (as the seed: localStorage when
// "记住我", else sessionStorage), silent renewal of the access token, form feedback and
// small UI helpers.
//
// Sessions: a login gives a short access token (token, expires_in) and a refresh token.
// With 记住我 both live in localStorage (the server keeps the session 30 days from the last
// renewal); without, in sessionStorage, which the browser forgets with the tab (the server
// forgets the session after 12 hours without a renewal). The token is renewed a minute
// before it expires and on a 401, once; tabs renew one at a time (Web Locks), and a tab
// that renewed tells the others holding the same refresh token (BroadcastChannel), so two
// tabs never spend one refresh token twice.

export async function api(method, path, body, { auth = false } = {}) {
  if (auth) await freshToken();
  let res = await send(method, path, body, auth);
  if (auth && res.status === 401 && res.data.error === 'not_authenticated' && getRefresh()) {
    const renewed = await refresh(getToken());
    if (renewed) res = await send(method, path, body, auth);
  }
  return res;
}

async function send(method, path, body, auth) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const tok = getToken();
    if (tok) headers.Authorization = 'Bearer ' + tok;
  }
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, status: 0, data: { error: 'network', message: '网络连接失败，请检查网络后重试' } };
  }
  let data = {};
  if (resp.status !== 204) {
    try { data = await resp.json(); } catch (e) {
      data = { error: 'bad_response', message: '服务器暂时无法响应，请稍后重试' };
    }
  }
  return { ok: resp.ok, status: resp.status, data, retryAfter: Number(resp.headers.get('Retry-After')) || 0 };
}

const KEYS = [['user_token', 'token'], ['user_refresh', 'refresh_token'], ['user_name', 'username'], ['user_id', 'id'], ['user_nickname', 'nickname'], ['user_avatar', 'avatar']];

export function saveUser(data, remember) {
  const keep = remember ? localStorage : sessionStorage;
  const drop = remember ? sessionStorage : localStorage;
  for (const [k, f] of KEYS) {
    keep.setItem(k, data[f] == null ? '' : String(data[f]));
    drop.removeItem(k);
  }
  const ttl = (Number(data.expires_in) || 900) * 1000;
  keep.setItem('user_token_exp', String(Date.now() + ttl));
  keep.setItem('user_token_ttl', String(ttl));
  drop.removeItem('user_token_exp');
  drop.removeItem('user_token_ttl');
  scheduleRefresh();
}

function store() { return localStorage.getItem('user_token') ? localStorage : sessionStorage; }

export function getToken() {
  return localStorage.getItem('user_token') || sessionStorage.getItem('user_token') || '';
}

function getRefresh() { return store().getItem('user_refresh') || ''; }

export function clearUser() {
  for (const [k] of KEYS) { localStorage.removeItem(k); sessionStorage.removeItem(k); }
  for (const k of ['user_token_exp', 'user_token_ttl']) { localStorage.removeItem(k); sessionStorage.removeItem(k); }
  clearTimeout(refreshTimer);
}

// sessionEnded forgets the login and sends the person to log in, with a message the login
// page shows (the first reason given wins: a failed renewal says why before the page that
// then gets a 401 does).
export function sessionEnded(msg) {
  clearUser();
  if (!sessionStorage.getItem('login_notice')) sessionStorage.setItem('login_notice', msg || '登录已失效，请重新登录');
  const here = location.pathname + location.search;
  location.replace(location.pathname === '/login' ? '/login' : '/login?next=' + encodeURIComponent(here));
}

const channel = 'BroadcastChannel' in window ? new BroadcastChannel('renran-auth') : null;
if (channel) {
  channel.onmessage = (ev) => {
    const m = ev.data || {};
    // Another tab spent the refresh token this tab holds too (a copied sessionStorage).
    if (m.old && m.old === getRefresh() && m.data) saveUser(m.data, store() === localStorage);
  };
}

// refresh renews the access token unless another tab already did (the token is no
// longer staleToken); it resolves to whether there is a fresh token now. A refresh token
// the server refuses ends the login here.
async function refresh(staleToken) {
  const run = async () => {
    if (getToken() !== staleToken) return !!getToken(); // renewed meanwhile
    const old = getRefresh();
    if (!old) return false;
    const res = await send('POST', '/users/token/refresh/', { refresh_token: old }, false);
    if (res.ok) {
      saveUser(res.data, store() === localStorage);
      if (channel) channel.postMessage({ old, data: res.data });
      return true;
    }
    if (res.status === 401) sessionEnded(res.data.message);
    return false;
  };
  if (navigator.locks) return navigator.locks.request('renran-refresh', run);
  return run();
}

// freshToken renews the access token first when it expires within 30 seconds (or a
// third of a shorter lifetime).
async function freshToken() {
  const exp = Number(store().getItem('user_token_exp')) || 0;
  const ttl = Number(store().getItem('user_token_ttl')) || 900000;
  if (getToken() && getRefresh() && exp && exp - Date.now() < Math.min(30000, ttl / 3)) await refresh(getToken());
}

// scheduleRefresh renews the token silently a minute before it expires (or at two thirds
// of a shorter lifetime), so a page left open stays logged in without a visible step.
let refreshTimer;
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const exp = Number(store().getItem('user_token_exp')) || 0;
  if (!getToken() || !getRefresh() || !exp) return;
  const left = exp - Date.now();
  const wait = left > 180000 ? left - 60000 : Math.max(1000, left * 2 / 3);
  refreshTimer = setTimeout(() => refresh(getToken()), wait);
}

// localNext keeps only a path on this site, as the server does.
export function localNext(s) {
  if (!s || typeof s !== 'string' || s[0] !== '/' || s[1] === '/' || s.includes('\\') || /[\u0000-\u0020\u007f]/.test(s)) return '';
  try {
    const u = new URL(s, location.origin);
    return u.origin === location.origin ? u.pathname + u.search + u.hash : '';
  } catch (e) { return ''; }
}

export function pageNext() {
  return localNext(new URLSearchParams(location.search).get('next') || '');
}

// goAfterLogin sends a logged-in person on: to next, or to the user centre.
export function goAfterLogin(next) {
  const n = localNext(next);
  location.replace(n && n !== '/' ? n : '/user');
}

// sendLogin runs a request that logs someone in, with the button busy meanwhile. On
// success it stores the token (see saveUser) and goes on to next; on failure it returns
// the response for the caller to show.
export async function sendLogin(btn, busyLabel, request, remember = false) {
  setBusy(btn, true, busyLabel);
  const res = await request();
  if (res.ok) {
    saveUser(res.data, remember);
    btn.textContent = '登录成功，正在跳转…';
    goAfterLogin(res.data.next);
    return null;
  }
  setBusy(btn, false);
  return res;
}

export function $(sel, root = document) { return root.querySelector(sel); }

export function setBusy(btn, busy, label) {
  if (busy) {
    btn.dataset.label = btn.textContent;
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    btn.textContent = '';
    const sp = document.createElement('span');
    sp.className = 'spin';
    sp.setAttribute('aria-hidden', 'true');
    btn.append(sp, label || '请稍候…');
  } else {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
    btn.textContent = btn.dataset.label || btn.textContent;
  }
}

export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) { p.hidden = true; p.textContent = ''; }
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  const fe = form.querySelector('.form-error');
  if (fe) { fe.hidden = true; fe.textContent = ''; }
}

// liveErrors clears an input's error as soon as the person changes it, and the form's
// banner with it: a message about the old value must not stay under a corrected one.
function liveErrors(form) {
  form.addEventListener('input', (ev) => {
    const input = ev.target;
    if (input.getAttribute('aria-invalid') === 'true') {
      input.removeAttribute('aria-invalid');
      const p = document.getElementById(input.getAttribute('aria-describedby'));
      if (p) { p.hidden = true; p.textContent = ''; }
    }
    const fe = form.querySelector('.form-error');
    if (fe && !fe.hidden) { fe.hidden = true; fe.textContent = ''; }
  });
}
for (const f of document.querySelectorAll('form')) liveErrors(f);

// fieldError shows msg under the form's input named field and returns the input.
export function fieldError(form, field, msg) {
  const input = form.querySelector(`[name="${field}"]`);
  if (!input) return null;
  input.setAttribute('aria-invalid', 'true');
  const p = document.getElementById(input.getAttribute('aria-describedby'));
  if (p) { p.textContent = msg; p.hidden = false; }
  return input;
}

export function formError(form, msg) {
  const fe = form.querySelector('.form-error');
  fe.textContent = msg;
  fe.hidden = false;
  return fe;
}

// showApiError puts an API error where it belongs: under its field when it names one the
// form has, else at the top of the form; focus goes to the first error.
export function showApiError(form, res) {
  let msg = (res.data && res.data.message) || '出错了，请稍后重试';
  if (res.status === 429 && res.retryAfter) msg += `（${waitText(res.retryAfter)}后可再试）`;
  const input = res.data && res.data.field ? fieldError(form, res.data.field, msg) : null;
  if (input) { input.focus(); return; }
  const fe = formError(form, msg);
  fe.tabIndex = -1;
  fe.focus();
}

export function waitText(sec) {
  if (sec < 60) return `${sec} 秒`;
  return `${Math.ceil(sec / 60)} 分钟`;
}

// focusFirstError focuses the first invalid input; returns whether there was one.
export function focusFirstError(form) {
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
  return !!first;
}

let toastTimer;
export function toast(msg) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3000);
}

// The login providers' names, and a name as it sits in a Chinese sentence: a Latin one
// keeps a space on each side (绑定 QQ 的账号), a Chinese one none (绑定微博的账号).
export const PROVIDER_NAMES = { qq: 'QQ', wechat: '微信', weibo: '微博' };
export function providerName(p) { return PROVIDER_NAMES[p] || p; }
export function spaced(name) { return /^[\x00-\x7f]/.test(name) ? ` ${name} ` : name; }

export const MOBILE_RE = /^(\+?86)?1[3-9]\d{9}$/;

// wireSMSForm adds the 发送验证码 button (with its countdown) and client-side checks to a
// form holding nickname, mobile, sms_code and password; onSubmit gets the values.
export function wireSMSForm(form, onSubmit) {
  const btn = form.querySelector('[data-send-code]');
  // The wait before another code belongs to the number it was sent to: a corrected number
  // does not wait out the countdown of a mistyped one.
  const until = new Map(); // mobile → when another code may be asked for (ms)
  let timer = null;
  const mobileNow = () => form.elements.mobile.value.replace(/[\s-]/g, '');
  const render = () => {
    const left = Math.ceil(((until.get(mobileNow()) || 0) - Date.now()) / 1000);
    if (left > 0) {
      btn.disabled = true;
      btn.textContent = `${left} 秒后重发`;
      return true;
    }
    btn.disabled = false;
    btn.textContent = until.has(mobileNow()) ? '重新发送' : '发送验证码';
    return false;
  };
  const countdown = (mobile, sec) => {
    until.set(mobile, Date.now() + sec * 1000);
    clearInterval(timer);
    render();
    timer = setInterval(() => { if (!render()) clearInterval(timer); }, 1000);
  };
  form.elements.mobile.addEventListener('input', () => {
    clearInterval(timer);
    if (render()) timer = setInterval(() => { if (!render()) clearInterval(timer); }, 1000);
  });
  if (document.body.dataset.dev) for (const h of form.querySelectorAll('.dev-hint')) h.hidden = false;
  btn.addEventListener('click', async () => {
    clearErrors(form);
    const mobile = mobileNow();
    if (!MOBILE_RE.test(mobile)) {
      fieldError(form, 'mobile', '请输入正确的 11 位手机号').focus();
      return;
    }
    btn.disabled = true;
    btn.textContent = '发送中…';
    const res = await withCaptcha('sms', (c) => api('POST', '/users/sms/', { mobile, purpose: 'register', ...c }));
    if (res.ok) {
      countdown(mobile, res.data.resend_after || 60);
      toast('验证码已发送，5 分钟内有效');
      form.elements.sms_code.focus();
      return;
    }
    if (res.status === 429 && res.retryAfter && res.retryAfter <= 300) countdown(mobile, res.retryAfter);
    else render();
    showApiError(form, res);
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = {
      nickname: form.elements.nickname.value.trim(),
      mobile: form.elements.mobile.value.replace(/[\s-]/g, ''),
      sms_code: form.elements.sms_code.value.trim(),
      password: form.elements.password.value,
    };
    if ([...v.nickname].length < 2 || [...v.nickname].length > 20) fieldError(form, 'nickname', '昵称需为 2–20 个字符');
    if (!MOBILE_RE.test(v.mobile)) fieldError(form, 'mobile', '请输入正确的 11 位手机号');
    if (!/^\d{6}$/.test(v.sms_code)) fieldError(form, 'sms_code', '请输入 6 位短信验证码');
    if ([...v.password].length < 8) fieldError(form, 'password', '密码至少需要 8 个字符');
    if (focusFirstError(form)) return;
    await onSubmit(v);
  });
}

// fallbackAvatar shows the default avatar when an avatar host does not answer (QQ's
// hosts can be slow or blocked); the page never shows a broken image.
export function fallbackAvatar(img) {
  img.addEventListener('error', () => {
    if (!img.src.endsWith('/static/avatar.svg')) img.src = '/static/avatar.svg';
  });
}

// ---- Tencent captcha (防水墙) ----
// The body carries the captcha's settings (data-captcha-*) when captcha is on. A protected
// request carries ticket and randstr inside it: withCaptcha asks for them first when the
// action always needs them, or when the server answers captcha_required.

let captchaScript;
function loadCaptcha() {
  if (window.TencentCaptcha) return Promise.resolve(true);
  if (!captchaScript) {
    captchaScript = new Promise((resolve) => {
      const s = document.createElement('script');
      s.src = document.body.dataset.captchaScript;
      s.onload = () => resolve(!!window.TencentCaptcha);
      s.onerror = () => { captchaScript = null; resolve(false); };
      setTimeout(() => resolve(!!window.TencentCaptcha), 10000);
      document.head.append(s);
    });
  }
  return captchaScript;
}

// solveCaptcha shows the captcha and resolves to {ticket, randstr}, or null when the
// person closes it. When the script cannot load, it resolves to Tencent's documented
// disaster-recovery ticket; the server decides what that is worth.
export async function solveCaptcha() {
  const appId = document.body.dataset.captchaApp;
  const disaster = () => ({
    ticket: `terror_1001_${appId}_${Math.floor(Date.now() / 1000)}`,
    randstr: '@' + Math.random().toString(36).slice(2, 11),
  });
  if (!(await loadCaptcha())) return disaster();
  return new Promise((resolve) => {
    try {
      const c = new window.TencentCaptcha(appId, (r) => {
        if (r && r.ret === 0 && r.ticket) resolve({ ticket: r.ticket, randstr: r.randstr });
        else resolve(null);
      }, {});
      c.show();
    } catch (e) {
      resolve(disaster());
    }
  });
}

const CLOSED = { ok: false, status: 0, data: { error: 'captcha_closed', message: '请完成安全验证后再继续' } };

// withCaptcha runs send(captcha) for action ('login', 'bind', 'sms'), with a captcha when
// the policy or the server asks for one; it returns the API response (or CLOSED).
export async function withCaptcha(action, send) {
  const d = document.body.dataset;
  if (!d.captchaApp) return send({});
  const policy = d['captcha' + action[0].toUpperCase() + action.slice(1)];
  let answer = {};
  if (policy === 'always') {
    answer = await solveCaptcha();
    if (!answer) return CLOSED;
  }
  const res = await send(answer);
  if (res.ok || !res.data || (res.data.error !== 'captcha_required' && !(res.data.error === 'captcha_invalid' && policy !== 'always'))) return res;
  const again = await solveCaptcha();
  if (!again) return CLOSED;
  return send(again);
}
