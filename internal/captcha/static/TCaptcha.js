// The development twin of Tencent's TCaptcha.js: the same front-end API
// (new TencentCaptcha(appId, callback, options), .show(), .destroy(); the callback gets
// {ret, ticket, randstr, appid, CaptchaAppId, bizState}, ret 2 when closed), with a small
// slider puzzle solved by mouse, touch or keyboard. Served by the service under
// /_dev/captcha/ in development only.
(function () {
  'use strict';
  var script = document.currentScript;
  var base = new URL('.', script ? script.src : location.href).href;

  function el(tag, cls, attrs) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  function post(path, body) {
    return fetch(base + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit', cache: 'no-store'
    }).then(function (r) { return r.json(); });
  }

  if (!document.querySelector('link[data-tcaptcha]')) {
    var css = el('link', '', { rel: 'stylesheet', href: base + 'tcaptcha.css', 'data-tcaptcha': '1' });
    document.head.appendChild(css);
  }

  var WIDTH = 280;   // the track, in CSS pixels
  var PIECE = 44;

  function TencentCaptcha(appId, callback, options) {
    if (!(this instanceof TencentCaptcha)) throw new TypeError('TencentCaptcha must be called with new');
    this.appId = String(appId);
    this.callback = typeof callback === 'function' ? callback : function () {};
    this.options = options || {};
    this.root = null;
  }

  TencentCaptcha.prototype.show = function () {
    if (this.root) return;
    var self = this;
    var opener = document.activeElement;
    var mask = el('div', 'tcaptcha-mask');
    var box = el('div', 'tcaptcha-box', { role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'tcaptcha-title' });
    var head = el('div', 'tcaptcha-head');
    var title = el('h2', '', { id: 'tcaptcha-title' });
    title.textContent = '安全验证';
    var close = el('button', 'tcaptcha-close', { type: 'button', 'aria-label': '关闭验证' });
    close.textContent = '×';
    head.append(title, close);
    var hint = el('p', 'tcaptcha-hint', { id: 'tcaptcha-hint' });
    hint.textContent = '拖动下方滑块，使拼图块对准缺口（也可用 ← → 键，回车确认）';
    var pic = el('div', 'tcaptcha-pic', { 'aria-hidden': 'true' });
    var gap = el('div', 'tcaptcha-gap');
    var piece = el('div', 'tcaptcha-piece');
    pic.append(gap, piece);
    var track = el('div', 'tcaptcha-track');
    var fill = el('div', 'tcaptcha-fill');
    var handle = el('div', 'tcaptcha-handle', {
      role: 'slider', tabindex: '0', 'aria-label': '拼图滑块', 'aria-describedby': 'tcaptcha-hint',
      'aria-valuemin': '0', 'aria-valuemax': String(WIDTH - PIECE), 'aria-valuenow': '0'
    });
    handle.textContent = '→';
    track.append(fill, handle);
    var status = el('p', 'tcaptcha-status', { role: 'status', 'aria-live': 'polite' });
    box.append(head, hint, pic, track, status);
    mask.append(box);
    document.body.appendChild(mask);
    this.root = mask;

    var challenge = null, x = 0, busy = false, dragging = false, startX = 0, startPos = 0;
    function place(v) {
      x = Math.max(0, Math.min(WIDTH - PIECE, Math.round(v)));
      handle.style.left = x + 'px';
      piece.style.left = x + 'px';
      fill.style.width = (x + PIECE / 2) + 'px';
      handle.setAttribute('aria-valuenow', String(x));
    }
    function load() {
      status.textContent = '加载中…';
      busy = true;
      post('challenge', { aid: self.appId }).then(function (c) {
        busy = false;
        if (!c.id) { status.textContent = c.message || '验证加载失败，请关闭后重试'; return; }
        challenge = c;
        gap.style.left = c.target + 'px';
        place(0);
        status.textContent = '';
      }, function () { busy = false; status.textContent = '网络错误，请关闭后重试'; });
    }
    function submit() {
      if (!challenge || busy) return;
      busy = true;
      status.textContent = '验证中…';
      post('answer', { id: challenge.id, x: x }).then(function (r) {
        busy = false;
        if (r.ticket) {
          status.textContent = '验证通过';
          box.classList.add('tcaptcha-ok');
          setTimeout(function () {
            self.destroy();
            if (opener && opener.focus) opener.focus();
            self.callback({ ret: 0, ticket: r.ticket, randstr: r.randstr, appid: self.appId, CaptchaAppId: self.appId, bizState: self.options.bizState });
          }, 300);
          return;
        }
        status.textContent = r.message || '未对准，请再试一次';
        setTimeout(load, 600);
      }, function () { busy = false; status.textContent = '网络错误，请重试'; });
    }
    function closeIt() {
      self.destroy();
      if (opener && opener.focus) opener.focus();
      self.callback({ ret: 2, ticket: null, appid: self.appId, CaptchaAppId: self.appId, bizState: self.options.bizState });
    }
    close.addEventListener('click', closeIt);
    mask.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { ev.preventDefault(); closeIt(); }
    });
    handle.addEventListener('keydown', function (ev) {
      var step = ev.shiftKey ? 1 : 4;
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowUp') { ev.preventDefault(); place(x + step); }
      else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowDown') { ev.preventDefault(); place(x - step); }
      else if (ev.key === 'Home') { ev.preventDefault(); place(0); }
      else if (ev.key === 'End') { ev.preventDefault(); place(WIDTH - PIECE); }
      else if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); submit(); }
    });
    handle.addEventListener('pointerdown', function (ev) {
      if (busy) return;
      dragging = true; startX = ev.clientX; startPos = x;
      handle.setPointerCapture(ev.pointerId);
      ev.preventDefault();
    });
    handle.addEventListener('pointermove', function (ev) {
      if (dragging) place(startPos + ev.clientX - startX);
    });
    function release(ev) {
      if (!dragging) return;
      dragging = false;
      submit();
    }
    handle.addEventListener('pointerup', release);
    handle.addEventListener('pointercancel', function () { dragging = false; });
    load();
    handle.focus();
  };

  TencentCaptcha.prototype.destroy = function () {
    if (this.root) { this.root.remove(); this.root = null; }
  };

  TencentCaptcha.prototype.getTicket = function () { return null; };

  window.TencentCaptcha = TencentCaptcha;
})();
