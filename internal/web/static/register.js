import { api, sendLogin, pageNext, $, showApiError, wireSMSForm } from './common.js';

const form = $('#register-form');
const next = pageNext();
if (next) $('#tab-login').href = '/login?next=' + encodeURIComponent(next);

wireSMSForm(form, async (v) => {
  const res = await sendLogin($('#register-submit'), '注册中…', () => api('POST', '/users/', { ...v, next: next || undefined }));
  if (res) showApiError(form, res);
});
