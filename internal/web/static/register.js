import { api, saveUser, pageNext, goAfterLogin, $, setBusy, showApiError, wireSMSForm } from './common.js';

const form = $('#register-form');
const next = pageNext();
if (next) $('#tab-login').href = '/login?next=' + encodeURIComponent(next);

wireSMSForm(form, async (v) => {
  const btn = $('#register-submit');
  setBusy(btn, true, '注册中…');
  const res = await api('POST', '/users/', { ...v, next: next || undefined });
  if (res.ok) {
    saveUser(res.data, false);
    btn.textContent = '注册成功，正在跳转…';
    goAfterLogin(res.data.next);
    return;
  }
  setBusy(btn, false);
  showApiError(form, res);
});
