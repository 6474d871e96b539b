import { api, fallbackAvatar, getToken, clearUser, $, setBusy, toast } from './common.js';

function toLogin() {
  clearUser();
  location.replace('/login?next=' + encodeURIComponent('/user'));
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
  $('#user-nickname').textContent = u.nickname;
  $('#user-username').textContent = u.username;
  $('#user-mobile').textContent = u.mobile || '未绑定';
  $('#user-email').textContent = u.email || '未绑定';
  fallbackAvatar($('#user-avatar'));
  if (u.avatar) $('#user-avatar').src = u.avatar;
  const list = $('#user-identities');
  list.textContent = '';
  const qq = (u.identities || []).find((i) => i.provider === 'qq');
  const li = document.createElement('li');
  const img = document.createElement('img');
  img.alt = '';
  fallbackAvatar(img);
  img.src = (qq && qq.avatar) || '/static/avatar.svg';
  const text = document.createElement('span');
  if (qq) {
    text.textContent = `QQ：${qq.nickname || 'QQ 用户'}（${new Date(qq.bound_at).toLocaleDateString('zh-CN')} 关联）`;
  } else {
    text.textContent = 'QQ：未关联。退出后在登录页用 QQ 登录即可关联。';
  }
  li.append(img, text);
  list.append(li);
  $('#user-profile').hidden = false;
}

async function logout(all) {
  const btn = all ? $('#logout-all') : $('#logout');
  setBusy(btn, true, '正在退出…');
  const res = await api('POST', '/users/logout/', all ? { all: true } : undefined, { auth: true });
  if (res.ok || res.status === 401) {
    clearUser();
    location.replace('/login');
    return;
  }
  setBusy(btn, false);
  toast(res.data.message || '退出失败，请重试');
}

$('#logout').addEventListener('click', () => logout(false));
$('#logout-all').addEventListener('click', () => logout(true));
$('#user-retry').addEventListener('click', load);
load();
