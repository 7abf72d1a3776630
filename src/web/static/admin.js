// The teacher's page: polls /admin/api and shows each connection as text (textContent only).
const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };

async function refresh() {
  const r = await fetch('/admin/api', { credentials: 'same-origin' });
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) { $('login').hidden = false; $('table').hidden = true; $('status').textContent = 'log in as an operator'; return; }
  if (r.status === 403) { $('status').textContent = String(body.message || 'not allowed'); return; }
  $('login').hidden = true;
  $('table').hidden = false;
  const rows = $('rows');
  rows.replaceChildren();
  for (const c of body.connections) {
    const tr = el('tr', undefined, c.errors.length ? 'has-errors' : '');
    tr.dataset.id = String(c.id);
    const errs = el('td');
    for (const e of c.errors.slice().reverse()) {
      const d = el('div', undefined, 'err-line');
      d.append(el('code', String(e.code)), document.createTextNode(' ' + String(e.message)));
      errs.append(d);
    }
    tr.append(el('td', String(c.address)), el('td', c.user === null ? '(no hello yet)' : String(c.user)), el('td', String(c.protocol)), el('td', String(c.state)), el('td', String(c.messagesIn)), el('td', String(c.messagesOut)), errs);
    rows.append(tr);
  }
  $('status').textContent = `${body.connections.length} connection(s), ${new Date(body.now).toLocaleTimeString()}`;
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/admin/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: $('name').value, password: $('password').value }) });
  $('password').value = '';
  if (!r.ok) { const b = await r.json().catch(() => ({})); $('login-error').textContent = String(b.message || 'login failed'); return; }
  refresh();
});

refresh();
setInterval(() => void refresh().catch(() => { $('status').textContent = 'server unreachable'; }), 2000);
