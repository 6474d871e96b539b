// The development tools page: the outbox, refreshed every two seconds.
const rows = document.getElementById('outbox-rows');

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function refresh() {
  let list;
  try {
    const r = await fetch('/_dev/outbox', { cache: 'no-store' });
    list = await r.json();
  } catch (e) { return; }
  rows.textContent = '';
  if (!list.length) {
    const tr = document.createElement('tr');
    const td = cell('还没有消息。在注册页点「发送验证码」后，验证码会出现在这里。', 'muted');
    td.colSpan = 5;
    tr.append(td);
    rows.append(tr);
    return;
  }
  for (const m of list) {
    const tr = document.createElement('tr');
    const link = document.createElement('td');
    if (m.code) { link.textContent = m.code; link.className = 'code'; }
    else if (m.link) { const a = document.createElement('a'); a.href = m.link; a.textContent = '打开链接'; link.append(a); }
    tr.append(cell(new Date(m.at).toLocaleTimeString('zh-CN')), cell(m.kind === 'sms' ? '短信' : '邮件'), cell(m.to), link, cell(m.subject ? `${m.subject}：${m.body}` : m.body));
    rows.append(tr);
  }
}

refresh();
setInterval(refresh, 2000);
