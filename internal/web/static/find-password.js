import { api, $, clearErrors, fieldError, showApiError, focusFirstError, setBusy } from './common.js';

const form = $('#forgot-form');
form.elements.email.focus();
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const email = form.elements.email.value.trim();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) fieldError(form, 'email', '请输入正确的邮箱地址');
  if (focusFirstError(form)) return;
  const btn = $('#forgot-submit');
  setBusy(btn, true, '发送中…');
  const res = await api('POST', '/users/password/forgot/', { email });
  setBusy(btn, false);
  if (!res.ok) { showApiError(form, res); return; }
  form.hidden = true;
  $('#forgot-done-message').textContent = res.data.message;
  if (document.body.dataset.dev) for (const h of document.querySelectorAll('#forgot-done .dev-hint')) h.hidden = false;
  $('#forgot-done').hidden = false;
});
