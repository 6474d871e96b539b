import { providerName, spaced, api, sendLogin, pageNext, getToken, clearUser, localNext, $, clearErrors, fieldError, showApiError, focusFirstError, toast, withCaptcha } from './common.js';

const form = $('#login-form');
form.elements.account.focus();

// Already logged in here: say as whom, with the way on and a way to switch accounts,
// instead of a login form that would quietly open a second session.
async function signedIn() {
  if (!getToken()) return;
  const social = document.querySelector('.more-sign');
  form.hidden = social.hidden = true;
  const res = await api('GET', '/users/me/', undefined, { auth: true });
  if (!res.ok) { form.hidden = social.hidden = false; return; }
  $('#login-signed-nick').textContent = res.data.nickname;
  const n = localNext(pageNext());
  $('#login-continue').href = n && n !== '/' && n !== '/login' ? n : '/user';
  $('#login-signed-in').hidden = false;
  $('#login-continue').focus();
}
$('#login-switch').addEventListener('click', async () => {
  await api('POST', '/users/logout/', undefined, { auth: true }); // this session ends; the next login is the other account's
  clearUser();
  $('#login-signed-in').hidden = true;
  form.hidden = document.querySelector('.more-sign').hidden = false;
  form.elements.account.focus();
});
signedIn();
// Sent here because a login ended (another device ended it, it expired): say so.
const notice = sessionStorage.getItem('login_notice');
if (notice) {
  sessionStorage.removeItem('login_notice');
  const n = $('#login-notice');
  n.textContent = notice;
  n.hidden = false;
}
const next = pageNext();
if (next) $('#tab-register').href = '/register?next=' + encodeURIComponent(next);

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const account = form.elements.account.value.trim();
  const password = form.elements.password.value;
  if (!account) fieldError(form, 'account', '请输入手机号、邮箱或用户名');
  if (!password) fieldError(form, 'password', '请输入密码');
  if (focusFirstError(form)) return;
  const remember = form.elements.remember.checked;
  const res = await sendLogin($('#login-submit'), '登录中…',
    () => withCaptcha('login', (c) => api('POST', '/users/login/', { account, password, remember, next: next || undefined, ...c })), remember);
  if (!res) return;
  showApiError(form, res);
  if (res.status === 401) {
    // The banner says what went wrong; the cursor goes where the fix is typed.
    form.elements.password.value = '';
    form.elements.password.focus();
  }
});

// The social buttons (QQ, and 微博 where the site has it) start that provider's login.
for (const b of document.querySelectorAll('.social[data-provider]')) {
  const p = b.dataset.provider;
  const name = spaced(providerName(p)).trimStart();
  b.addEventListener('click', async () => {
    if (b.getAttribute('aria-busy') === 'true') return;
    b.setAttribute('aria-busy', 'true');
    // 记住我 counts here too: the server keeps it with the login and gives the session 30 days.
    const remember = form.elements.remember.checked ? '&remember=1' : '';
    const res = await api('GET', `/oauth/${p}/url/?next=` + encodeURIComponent(next || '/') + remember);
    if (res.ok && res.data.url) {
      location.href = res.data.url;
      return;
    }
    b.removeAttribute('aria-busy');
    toast(res.data.message || `${name}登录暂时不可用，请稍后重试`);
  });
}

for (const b of document.querySelectorAll('[data-unavailable]')) {
  b.addEventListener('click', () => toast(`${b.dataset.unavailable}登录暂未开放，请使用其他方式登录`));
}
