import { providerName, spaced, api, fallbackAvatar, sendLogin, saveUser, goAfterLogin, $, setBusy, clearErrors, fieldError, showApiError, focusFirstError, wireSMSForm, toast, withCaptcha } from './common.js';

// QQ's code and state arrive in a short-lived cookie set by the server's redirect to this
// clean URL (or, if a proxy skipped that, in the query: then they leave the address bar
// at once).
function takeCallback() {
  let q = new URLSearchParams(location.search);
  if (location.search) history.replaceState(null, '', location.pathname);
  const c = document.cookie.split('; ').find((x) => x.startsWith('qq_callback='));
  if (c) {
    // The value is already a query string (the server encoded it once).
    q = new URLSearchParams(c.slice('qq_callback='.length));
    document.cookie = `qq_callback=; Max-Age=0; Path=${location.pathname}; SameSite=Lax`;
  }
  return { code: q.get('code') || '', state: q.get('state') || '', error: q.get('error') || '' };
}

// The provider this callback page is for (qq, weibo), and how a sentence names it.
const P = document.body.dataset.provider || 'qq';
const NAME = providerName(P);
const SP = spaced(NAME); // 用 QQ 登录, 用微博登录

function show(id) {
  for (const s of ['cb-loading', 'cb-error', 'cb-bind']) $('#' + s).hidden = s !== id;
}

let next = '/';
let remember = false;

// PENDING keeps a first-time login's handle in this tab, so that a reload (or a phone
// bringing the tab back) resumes 已有账号 / 没有账号 while the server still holds it (10
// minutes). The handle alone is useless: the server also wants this browser's HttpOnly
// pending cookie.
const PENDING = P + '_pending';

const TITLES = {
  oauth_state_invalid: `${SP}登录链接已失效`.trim(),
  [`${P}_user_expired`]: `${SP}登录信息已过期`.trim(),
  [`${P}_login_cancelled`]: `${SP}登录已取消`.trim(),
  [`${P}_timeout`]: `${SP}暂时没有响应`.trim(),
  [`${P}_unavailable`]: `暂时无法连接${SP}`.trimEnd(),
  [`${P}_already_bound`]: `这个${SP}已关联其他账号`,
  [`account_has_${P}`]: `你的账号已关联了${SP}`.trimEnd(),
};

function fail(code, message) {
  sessionStorage.removeItem(PENDING);
  $('#cb-error-title').textContent = TITLES[code] || `${SP}登录没有完成`.trim();
  $('#cb-error-message').textContent = message;
  show('cb-error');
  $('#cb-restart').focus();
}

function loggedIn(data) {
  sessionStorage.removeItem(PENDING);
  saveUser(data, !!data.remember);
  show('cb-loading');
  $('#cb-loading-text').textContent = `${data.nickname}，欢迎回到荏苒，正在跳转…`;
  goAfterLogin(data.next);
}

$('#cb-restart').addEventListener('click', async () => {
  const btn = $('#cb-restart');
  setBusy(btn, true, `正在前往${SP}…`.replace(' …', '…'));
  const res = await api('GET', `/oauth/${P}/url/?next=` + encodeURIComponent(next) + (remember ? '&remember=1' : ''));
  if (res.ok && res.data.url) { location.href = res.data.url; return; }
  setBusy(btn, false);
  toast(res.data.message || `${SP}登录暂时不可用，请稍后重试`.trim());
});

// Tabs: 已有账号 · 没有账号, with arrow keys as a tablist should.
const tabs = [$('#tab-existing'), $('#tab-new')];
const panels = [$('#bind-form'), $('#qqreg-form')];
function select(i, focus) {
  tabs.forEach((t, j) => {
    t.classList.toggle('active', i === j);
    t.setAttribute('aria-selected', String(i === j));
    t.tabIndex = i === j ? 0 : -1;
    panels[j].hidden = i !== j;
  });
  if (focus) tabs[i].focus();
  const first = panels[i].querySelector('input:not([type=hidden])');
  if (first && !focus) first.focus();
}
tabs.forEach((t, i) => {
  t.addEventListener('click', () => select(i, false));
  t.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') { ev.preventDefault(); select(1 - i, true); }
  });
});

let handle = '';

function expiredOrError(form, res) {
  if (res.status === 410) { fail(res.data.error, res.data.message); return; }
  showApiError(form, res);
}

const bindForm = $('#bind-form');
bindForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(bindForm);
  const account = bindForm.elements.account.value.trim();
  const password = bindForm.elements.password.value;
  if (!account) fieldError(bindForm, 'account', '请输入手机号、邮箱或用户名');
  if (!password) fieldError(bindForm, 'password', '请输入密码');
  if (focusFirstError(bindForm)) return;
  const res = await sendLogin($('#bind-submit'), '正在关联…', () => withCaptcha('bind', (c) => api('PUT', `/oauth/${P}/info/`, { qq_user: handle, account, password, ...c })), remember);
  if (!res) { sessionStorage.removeItem(PENDING); return; }
  expiredOrError(bindForm, res);
  if (res.status === 401) {
    bindForm.elements.password.value = '';
    bindForm.elements.password.focus();
  }
});

const regForm = $('#qqreg-form');
wireSMSForm(regForm, async (v) => {
  const res = await sendLogin($('#qqreg-submit'), '注册中…', () => api('POST', `/oauth/${P}/info/`, { qq_user: handle, ...v }), remember);
  if (!res) { sessionStorage.removeItem(PENDING); return; }
  expiredOrError(regForm, res);
});

// showPending shows the first-time choice for the pending identity in data.
function showPending(data) {
  handle = data.qq_user;
  next = data.next || '/';
  remember = !!data.remember;
  sessionStorage.setItem(PENDING, handle);
  $('#cb-nickname').textContent = data.nickname || `${NAME}用户`;
  fallbackAvatar($('#cb-avatar'));
  if (data.avatar) $('#cb-avatar').src = data.avatar;
  if (!regForm.elements.nickname.value) regForm.elements.nickname.value = data.nickname || '';
  show('cb-bind');
  select(0, false);
}

async function main() {
  const cb = takeCallback();
  const kept = sessionStorage.getItem(PENDING);
  if (!cb.code && !cb.error && kept) {
    // A reload in the middle of 已有账号 / 没有账号: ask whether it is still there.
    const res = await api('GET', `/oauth/${P}/info/?qq_user=` + encodeURIComponent(kept));
    if (res.ok && res.data.qq_user) { showPending(res.data); return; }
    fail(res.data.error || `${P}_user_expired`, res.data.message || `${SP}登录信息已过期，请重新用${SP}登录`.trim());
    return;
  }
  if (cb.error || !cb.code) {
    if (cb.error && cb.error !== 'no_code') { fail(`${P}_login_cancelled`, `${SP}登录已取消或没有完成授权。`.trim()); return; }
    fail('oauth_state_invalid', `这个${SP}登录链接已经用过或已失效（比如刷新了页面）。请重新发起${SP}登录。`);
    return;
  }
  // The session goes along: a link started in the user centre is finished only by it.
  const res = await api('GET', `/oauth/${P}/info/?code=${encodeURIComponent(cb.code)}&state=${encodeURIComponent(cb.state)}`, undefined, { auth: true });
  if (!res.ok) { fail(res.data.error, res.data.message); return; }
  next = res.data.next || '/';
  if (res.data.linked) {
    show('cb-loading');
    $('#cb-loading-text').textContent = `已关联${SP}：${res.data.linked.nickname || NAME + '用户'}，正在返回个人中心…`.replace(' ：', '：');
    location.replace(next && next !== '/' ? next : '/user');
    return;
  }
  if (res.data.token) { loggedIn(res.data); return; }
  showPending(res.data);
}

main();
