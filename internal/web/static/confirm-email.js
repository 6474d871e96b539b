import { api, $ } from './common.js';

const q = new URLSearchParams(location.search);
const token = q.get('token') || '';
if (location.search) history.replaceState(null, '', location.pathname);

async function main() {
  let msg = '确认链接不完整，请打开邮件中的链接。';
  if (token) {
    const res = await api('POST', '/users/email/confirm/', { token });
    msg = res.ok ? '邮箱已确认，现在可以用它登录和找回密码。' : (res.data.message || '确认失败，请稍后重试');
  }
  $('#confirm-loading').hidden = true;
  $('#confirm-message').textContent = msg;
  $('#confirm-done').hidden = false;
}
main();
