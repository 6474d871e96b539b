import { PROVIDER_NAMES as PROVIDERS, spaced, api, fallbackAvatar, getToken, clearUser, saveUser, sessionEnded, scheduleRefresh, $, setBusy, toast, clearErrors, fieldError, focusFirstError, showApiError } from './common.js';

// toLogin sends the person to log in: with a message when a login here has ended.
function toLogin() {
  sessionEnded(getToken() ? '登录已失效，请重新登录' : '请先登录');
}

async function load() {
  if (!getToken()) { toLogin(); return; }
  $('#user-loading').hidden = false;
  $('#user-error').hidden = true;
  const res = await api('GET', '/users/me/', undefined, { auth: true });
  $('#user-loading').hidden = true;
  if (res.status === 401) { toLogin(); return; }
  if (!res.ok) {
    $('#user-error-message').textContent = res.data.message || '加载失败，请重试';
    $('#user-error').hidden = false;
    return;
  }
  const u = res.data;
  hasPassword = !!u.has_password;
  $('#user-nickname').textContent = u.nickname;
  $('#user-username').textContent = u.username;
  $('#user-mobile').textContent = u.mobile || '未绑定';
  $('#user-email').textContent = u.email || '未绑定';
  $('#email-summary').textContent = u.email ? '更换邮箱' : '添加邮箱';
  fallbackAvatar($('#user-avatar'));
  if (u.avatar) $('#user-avatar').src = u.avatar;
  const list = $('#user-identities');
  list.textContent = '';
  // One row per provider: the ones this site offers can be linked and unlinked.
  const on = (document.body.dataset.providers || 'qq').split(' ').filter(Boolean);
  for (const p of ['qq', 'wechat', 'weibo']) {
    const name = PROVIDERS[p];
    if (!on.includes(p)) {
      const o = document.createElement('li');
      o.className = 'muted';
      o.textContent = `${name}：暂未开放`;
      list.append(o);
      continue;
    }
    const id = (u.identities || []).find((i) => i.provider === p);
    const li = document.createElement('li');
    const img = document.createElement('img');
    img.alt = '';
    fallbackAvatar(img);
    img.src = (id && id.avatar) || '/static/avatar.svg';
    const text = document.createElement('span');
    const action = document.createElement('button');
    action.type = 'button';
    action.className = 'btn btn-link';
    if (id) {
      text.textContent = `${name}：${id.nickname || name + '用户'}（${new Date(id.bound_at).toLocaleDateString('zh-CN')} 关联）`;
      action.textContent = '解除绑定';
      action.id = `${p}-unlink`;
      action.addEventListener('click', () => openUnlink(p));
    } else {
      text.textContent = `${name}：未关联`;
      action.textContent = `绑定${spaced(name)}`.trimEnd();
      action.id = `${p}-link`;
      action.addEventListener('click', () => link(p, action));
    }
    li.append(img, text, action);
    list.append(li);
  }
  $('#user-profile').hidden = false;
  scheduleRefresh();
  loadSessions();
  loadEvents();
}

const METHODS = { password: '密码登录', register: '注册', qq: 'QQ 登录', wechat: '微信登录', weibo: '微博登录' };

// loadList fills the list sel with the items field of GET path, or says there are none
// (or that they could not be loaded: failed); it returns the items.
// The list is aria-busy until its caller has rendered it (done), so that assistive
// technology, and a test about to click below it, know when it has settled.
async function loadList(sel, path, field, failed) {
  const list = $(sel);
  list.setAttribute('aria-busy', 'true');
  const res = await api('GET', path, undefined, { auth: true });
  list.textContent = '';
  const items = (res.ok && res.data[field]) || [];
  if (!items.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = res.ok ? '暂无记录' : failed;
    list.append(li);
  }
  return items;
}

// loadSessions lists where the account is logged in, each with 退出此设备.
async function loadSessions() {
  const list = $('#user-sessions');
  for (const x of await loadList('#user-sessions', '/users/me/sessions/', 'sessions', '登录设备暂时无法加载')) {
    const li = document.createElement('li');
    li.dataset.session = x.id;
    const what = document.createElement('strong');
    what.textContent = x.device + (x.current ? '（当前设备）' : '');
    const seen = new Date(x.last_seen_at).toLocaleString('zh-CN', { hour12: false });
    const meta = document.createElement('span');
    meta.className = 'muted small';
    meta.textContent = ` ${METHODS[x.method] || x.method}${x.remember ? ' · 记住我' : ''} · 最近活动 ${seen}${x.ip ? ' · ' + x.ip : ''}`;
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'btn btn-link';
    end.textContent = x.current ? '退出登录' : '退出此设备';
    end.setAttribute('aria-label', `${end.textContent}：${x.device}`);
    end.addEventListener('click', () => (x.current ? logout(false) : endSession(end, x.id)));
    li.append(what, meta, end);
    list.append(li);
  }
  list.setAttribute('aria-busy', 'false');
}

async function endSession(btn, id) {
  setBusy(btn, true, '正在退出…');
  const res = await api('DELETE', '/users/me/sessions/' + encodeURIComponent(id), undefined, { auth: true });
  if (res.ok || res.status === 404) {
    toast('该设备已退出登录');
    loadSessions();
    loadEvents();
    return;
  }
  setBusy(btn, false);
  if (res.status === 401) { toLogin(); return; }
  toast(res.data.message || '操作失败，请重试');
}

async function loadEvents() {
  const list = $('#user-events');
  for (const e of await loadList('#user-events', '/users/me/events/', 'events', '记录暂时无法加载')) {
    const li = document.createElement('li');
    const when = new Date(e.at).toLocaleString('zh-CN', { hour12: false });
    const what = document.createElement('strong');
    what.textContent = e.title;
    const meta = document.createElement('span');
    meta.className = 'muted small';
    meta.textContent = ` ${when} · ${e.device}${e.ip ? ' · ' + e.ip : ''}`;
    li.append(what, meta);
    list.append(li);
  }
  list.setAttribute('aria-busy', 'false');
}

async function logout(all) {
  const btn = all ? $('#logout-all-yes') : $('#logout');
  setBusy(btn, true, '正在退出…');
  const res = await api('POST', '/users/logout/', all ? { all: true } : undefined, { auth: true });
  if (res.ok || res.status === 401) {
    clearUser();
    sessionStorage.setItem('login_notice', all ? '已在所有设备上退出登录' : '已退出登录');
    location.replace('/login');
    return;
  }
  setBusy(btn, false);
  toast(res.data.message || '退出失败，请重试');
}

const emailForm = $('#email-form');
emailForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(emailForm);
  const email = emailForm.elements.email.value.trim();
  const password = emailForm.elements.password.value;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) fieldError(emailForm, 'email', '请输入正确的邮箱地址');
  if (!password) fieldError(emailForm, 'password', '请输入当前密码');
  if (focusFirstError(emailForm)) return;
  const btn = $('#email-submit');
  setBusy(btn, true, '发送中…');
  const res = await api('PUT', '/users/email/', { email, password }, { auth: true });
  setBusy(btn, false);
  if (res.status === 401 && res.data.error === 'not_authenticated') { toLogin(); return; }
  if (!res.ok) { showApiError(emailForm, res); return; }
  emailForm.reset();
  $('#email-box').open = false;
  toast(res.data.message || '确认邮件已发送');
});

const pwForm = $('#password-form');
pwForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(pwForm);
  const oldPW = pwForm.elements.old_password.value;
  const newPW = pwForm.elements.new_password.value;
  if (!oldPW) fieldError(pwForm, 'old_password', '请输入当前密码');
  if ([...newPW].length < 8) fieldError(pwForm, 'new_password', '密码至少需要 8 个字符');
  if (focusFirstError(pwForm)) return;
  const btn = $('#password-submit');
  setBusy(btn, true, '保存中…');
  const res = await api('PUT', '/users/password/', { old_password: oldPW, new_password: newPW }, { auth: true });
  setBusy(btn, false);
  if (res.status === 401 && res.data.error === 'not_authenticated') { toLogin(); return; }
  if (!res.ok) { showApiError(pwForm, res); return; }
  saveUser(res.data, !!localStorage.getItem('user_token'));
  pwForm.reset();
  $('#password-box').open = false;
  toast('密码已修改，其他设备上的登录已退出');
});


async function link(p, btn) {
  const name = PROVIDERS[p];
  setBusy(btn, true, `正在前往${spaced(name)}…`.replace(' …', '…'));
  const res = await api('GET', `/oauth/${p}/url/?intent=link&next=/user`, undefined, { auth: true });
  if (res.ok && res.data.url) { location.href = res.data.url; return; }
  setBusy(btn, false);
  if (res.status === 401) { toLogin(); return; }
  toast(res.data.message || `${spaced(name)}暂时不可用，请稍后重试`.trim());
}

// unlinking is the provider whose 解除绑定 opened the form. An account without a password
// (made by QQ, or brought over from the old site) confirms without one: the server allows
// it while another login method remains.
let unlinking = 'qq';
let hasPassword = true;
function openUnlink(p) {
  unlinking = p;
  const name = spaced(PROVIDERS[p]);
  $('#unlink-label').textContent = hasPassword ? `输入密码以解除${name}关联` : `解除后将不能再用${name}登录这个账号`;
  $('#unlink-password').hidden = !hasPassword;
  $('#unlink-form').hidden = false;
  (hasPassword ? $('#unlink-password') : $('#unlink-submit')).focus();
}

const unlinkForm = $('#unlink-form');
$('#unlink-cancel').addEventListener('click', () => { unlinkForm.hidden = true; clearErrors(unlinkForm); });
unlinkForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(unlinkForm);
  const password = hasPassword ? unlinkForm.elements.password.value : '';
  if (hasPassword && !password) { fieldError(unlinkForm, 'password', '请输入当前密码').focus(); return; }
  const btn = $('#unlink-submit');
  setBusy(btn, true, '解除中…');
  const res = await api('DELETE', `/oauth/${unlinking}/`, { password }, { auth: true });
  setBusy(btn, false);
  if (res.status === 401 && res.data.error === 'not_authenticated') { toLogin(); return; }
  if (!res.ok) { showApiError(unlinkForm, res); return; }
  unlinkForm.reset();
  unlinkForm.hidden = true;
  toast(`已解除${spaced(PROVIDERS[unlinking])}关联`);
  load();
});

$('#logout').addEventListener('click', () => logout(false));
// 在所有设备上退出 asks first: it ends the logins on every phone and computer.
function confirmAll(open) {
  $('#logout-all-confirm').hidden = !open;
  $('#logout-all').setAttribute('aria-expanded', String(open));
  (open ? $('#logout-all-yes') : $('#logout-all')).focus();
}
$('#logout-all').addEventListener('click', () => confirmAll(true));
$('#logout-all-no').addEventListener('click', () => confirmAll(false));
$('#logout-all-yes').addEventListener('click', () => logout(true));
$('#user-retry').addEventListener('click', load);
load();
