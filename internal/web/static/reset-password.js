import { api, $, clearErrors, fieldError, showApiError, focusFirstError, setBusy, clearUser } from './common.js';

// The token leaves the address bar at once (and with it the history and any Referer);
// it is kept for this tab only, so that a reload still works.
const q = new URLSearchParams(location.search);
if (q.get('token')) {
  sessionStorage.setItem('reset_token', q.get('token'));
  history.replaceState(null, '', location.pathname);
}
const token = sessionStorage.getItem('reset_token') || '';
const form = $('#reset-form');

function done(msg) {
  form.hidden = true;
  $('#reset-done-message').textContent = msg;
  $('#reset-done').hidden = false;
  $('#reset-login').focus();
}

if (!token) {
  done('重置链接不完整，请打开邮件中的链接，或重新申请重置邮件。');
  $('#reset-login').hidden = true;
} else {
  form.elements.password.focus();
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const password = form.elements.password.value;
  if ([...password].length < 8) fieldError(form, 'password', '密码至少需要 8 个字符');
  else if (password !== form.elements.password2.value) fieldError(form, 'password2', '两次输入的密码不一致');
  if (focusFirstError(form)) return;
  const btn = $('#reset-submit');
  setBusy(btn, true, '保存中…');
  const res = await api('POST', '/users/password/reset/', { token, password });
  setBusy(btn, false);
  if (res.ok) {
    sessionStorage.removeItem('reset_token');
    clearUser(); // every earlier login ended with the reset
    done('新密码已生效，所有设备上的登录都已退出。请用新密码登录。');
    return;
  }
  if (res.status === 410) {
    sessionStorage.removeItem('reset_token');
    done(res.data.message);
    $('#reset-login').hidden = true;
    return;
  }
  showApiError(form, res);
});
