// The Lab-93 web client (docs/web.md). One WebSocket text message is one protocol packet
// (docs/protocol.md). Everything that comes from the network is put on the page with
// textContent, never as HTML. Unacknowledged messages are kept in localStorage with their uid
// and sent again after every reconnect: the server answers a repeated uid with the first ack,
// so nothing is lost and nothing doubled.

const $ = (id) => document.getElementById(id);
const store = {
  get(k, d) { try { const v = localStorage.getItem('lab93.' + k); return v === null ? d : JSON.parse(v); } catch { return d; } },
  set(k, v) { localStorage.setItem('lab93.' + k, JSON.stringify(v)); },
  del(k) { localStorage.removeItem('lab93.' + k); },
};

const state = {
  me: null,          // name as the server spells it
  ws: null,
  ready: false,      // after `synced`
  syncing: false,
  retry: 0,
  current: null,     // conversation key: '#room' or '@user'
  convs: new Map(),  // key -> { messages: [], unread: 0 }
  seen: new Set(),   // message ids shown
  people: new Map(), // room -> Set(users)
  rooms: [],
  signedOut: true,
  password: null,
};

// ---- sign in ---------------------------------------------------------------------------------
function showSignin(message) {
  state.signedOut = true;
  $('chat').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('name').value = store.get('name', '');
  $('name').focus();
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  if (!name) return;
  if (store.get('name', '') !== name) {
    // Another person on this browser: nothing of the previous one carries over.
    for (const k of ['since', 'outbox', 'rooms', 'token']) store.del(k);
  }
  store.set('name', name);
  state.password = $('password').value || null;
  $('password').value = '';
  startChat();
});

$('signout').addEventListener('click', () => {
  for (const k of ['since', 'outbox', 'rooms', 'token', 'name']) store.del(k);
  state.signedOut = true;
  if (state.ws) state.ws.close();
  location.reload();
});

function startChat() {
  state.signedOut = false;
  $('signin').hidden = true;
  $('chat').hidden = false;
  state.rooms = store.get('rooms', ['lobby']);
  for (const r of state.rooms) conv('#' + r);
  if (!state.current) state.current = '#' + state.rooms[0];
  for (const m of store.get('outbox', [])) addMessage(pendingView(m), false);
  renderConvs();
  renderLog();
  connect();
  $('input').focus();
}

// ---- connection --------------------------------------------------------------------------------
function setStatus(text, offline) {
  $('status').textContent = text;
  $('status').classList.toggle('offline', !!offline);
}

function connect() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  const ws = new WebSocket(url);
  state.ws = ws;
  state.ready = false;
  setStatus('connecting…', true);
  ws.onopen = () => {
    const hello = { type: 'hello', username: store.get('name', ''), rooms: state.rooms, since: store.get('since', null) };
    const token = store.get('token', null);
    if (state.password) hello.password = state.password;
    else if (token) hello.token = token;
    send(hello);
  };
  ws.onmessage = (ev) => {
    let p;
    try { p = JSON.parse(ev.data); } catch { return; }
    if (p && typeof p === 'object') onPacket(p);
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ready = false;
    if (state.signedOut) return;
    const wait = Math.min(10000, 500 * 2 ** state.retry++);
    setStatus(`offline — reconnecting in ${Math.round(wait / 1000)} s`, true);
    setTimeout(() => { if (!state.signedOut && state.ws === ws) connect(); }, wait);
  };
}

function send(p) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(p));
}

function onPacket(p) {
  switch (p.type) {
    case 'welcome':
      state.me = String(p.username);
      state.syncing = true;
      state.password = null;
      if (typeof p.token === 'string') store.set('token', p.token);
      $('me').textContent = state.me + (p.account ? ' ✓' : '');
      if (Array.isArray(p.rooms)) { state.rooms = p.rooms.map(String); store.set('rooms', state.rooms); for (const r of state.rooms) conv('#' + r); }
      setStatus('catching up…');
      break;
    case 'message': onMessage(p, state.syncing); break;
    case 'synced':
      state.syncing = false;
      state.ready = true;
      state.retry = 0;
      setStatus(p.missed > 0 ? `online — ${p.missed} missed while away` : 'online');
      for (const r of state.rooms) { send({ type: 'who', room: r }); send({ type: 'history', room: r, limit: 50 }); }
      for (const m of store.get('outbox', [])) send(m);
      break;
    case 'history':
      if (Array.isArray(p.messages)) for (const m of p.messages) onMessage(m, false, true);
      break;
    case 'ack': onAck(p); break;
    case 'ping': send({ type: 'pong' }); break;
    case 'who': case 'joined':
      state.people.set(String(p.room), new Set((p.users || []).map(String)));
      if (p.type === 'joined') {
        const r = String(p.room);
        if (!state.rooms.includes(r)) { state.rooms.push(r); store.set('rooms', state.rooms); }
        conv('#' + r);
        switchTo('#' + r);
        send({ type: 'history', room: r, limit: 50 });
      }
      renderPeople();
      break;
    case 'left': {
      const r = String(p.room);
      state.rooms = state.rooms.filter((x) => x !== r);
      store.set('rooms', state.rooms);
      state.convs.delete('#' + r);
      if (state.current === '#' + r) switchTo('#' + (state.rooms[0] || 'lobby'));
      renderConvs();
      break;
    }
    case 'presence': {
      const set = state.people.get(String(p.room)) || new Set();
      if (p.status === 'online') set.add(String(p.username)); else set.delete(String(p.username));
      state.people.set(String(p.room), set);
      renderPeople();
      break;
    }
    case 'registered': if (typeof p.token === 'string') store.set('token', p.token); system(`${p.username} is now a registered name`); break;
    case 'rooms': {
      const list = Array.isArray(p.rooms) ? p.rooms : [];
      if (list.length === 0) { system('no room has people in it now'); break; }
      system(`${list.length} room(s) with people in them:`);
      for (const r of list) system(`#${String(r.room)} — ${Number(r.users)} ${Number(r.users) === 1 ? 'person' : 'people'}${state.rooms.includes(String(r.room)) ? ' (you are here)' : ''}`);
      if (Number(p.more) > 0) system(`and ${Number(p.more)} more`);
      break;
    }
    case 'error': onError(p); break;
    case 'bye': system('the server said goodbye: ' + String(p.reason || '')); break;
  }
}

function onError(p) {
  const code = String(p.code);
  if (code === 'auth_required' || code === 'auth_failed' || code === 'name_taken' || (code === 'bad_packet' && !state.ready && !state.syncing)) {
    store.del('token');
    state.signedOut = true;
    showSignin(String(p.message || code));
    return;
  }
  if (p.uid) {
    // Not stored: it leaves the outbox, marked as failed, unless it may be tried again later.
    if (code !== 'rate_limited' && code !== 'shutting_down') {
      store.set('outbox', store.get('outbox', []).filter((m) => m.uid !== p.uid));
      for (const c of state.convs.values()) for (const m of c.messages) if (m.uid === p.uid && m.pending) { m.pending = false; m.failed = code; }
      renderLog();
    }
  }
  system(`${code}: ${String(p.message || '')}`, true);
}

// ---- messages -------------------------------------------------------------------------------------
function conv(key) {
  let c = state.convs.get(key);
  if (!c) { c = { messages: [], unread: 0 }; state.convs.set(key, c); }
  return c;
}

function keyOf(m) {
  if (m.to === null || m.to === undefined) return '#' + m.room;
  return '@' + (m.username === state.me ? m.to : m.username);
}

function onMessage(p, missed, fromHistory) {
  const id = Number(p.id);
  if (state.seen.has(id)) return;
  state.seen.add(id);
  if (id > store.get('since', 0)) store.set('since', id);
  const m = { id, uid: p.uid ?? null, username: String(p.username), subject: p.subject ?? null, content: String(p.content), room: String(p.room), to: p.to ?? null, timestamp: Number(p.timestamp), verified: p.verified === true, action: p.action === true, missed: !!missed };
  // Our own message from another tab or device: the outbox copy here (same uid) becomes it.
  dropPending(m.uid);
  addMessage(m, !fromHistory);
}

function addMessage(m, countUnread) {
  const key = keyOf(m);
  const c = conv(key);
  const i = c.messages.findIndex((x) => (x.id ?? Infinity) > (m.id ?? Infinity));
  if (i === -1) c.messages.push(m); else c.messages.splice(i, 0, m);
  if (key === state.current) renderLog();
  else if (countUnread && m.username !== state.me) c.unread++;
  renderConvs();
}

function dropPending(uid) {
  if (!uid) return;
  for (const c of state.convs.values()) c.messages = c.messages.filter((x) => !(x.pending && x.uid === uid));
}

function onAck(p) {
  const outbox = store.get('outbox', []);
  const m = outbox.find((x) => x.uid === p.uid);
  store.set('outbox', outbox.filter((x) => x.uid !== p.uid));
  if (!m || state.seen.has(Number(p.id))) { dropPending(p.uid); renderLog(); return; }
  dropPending(p.uid);
  state.seen.add(Number(p.id));
  if (Number(p.id) > store.get('since', 0)) store.set('since', Number(p.id));
  addMessage({ id: Number(p.id), uid: p.uid, username: state.me, subject: m.subject ?? null, content: m.content, room: m.room, to: m.to ?? null, timestamp: Number(p.timestamp), verified: false, action: m.action === true, missed: false }, false);
}

function pendingView(m) {
  return { id: null, uid: m.uid, username: store.get('name', ''), subject: m.subject ?? null, content: m.content, room: m.room, to: m.to ?? null, timestamp: Date.now() / 1000, action: m.action === true, pending: true };
}

function newUid() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return 'w' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function say(content, opts = {}) {
  const cur = state.current;
  const m = { type: 'message', uid: newUid(), content };
  if (opts.to) { m.to = opts.to; m.room = state.rooms[0] || 'lobby'; }
  else if (cur.startsWith('@')) { m.to = cur.slice(1); m.room = state.rooms[0] || 'lobby'; }
  else m.room = cur.slice(1);
  if (opts.subject) m.subject = opts.subject;
  if (opts.action) m.action = true;
  store.set('outbox', [...store.get('outbox', []), m]);
  addMessage(pendingView(m), false);
  if (state.ready) send(m);
}

// ---- the input line -----------------------------------------------------------------------------
const HELP = ['/join <room> — join a room', '/leave — leave the current room', '/msg <user> <text> — a direct message', '/me <action> — say what you do (* alice waves)', '/who — who is in the room', '/rooms — the rooms with people in them', '/nick <name> — go on under another name', '/topic <subject> — subject for the next messages', '/history [n] — older messages', '/quit — sign out', '//text — send a line starting with /'];

/** /nick, as the terminal client does it: refused while messages wait; otherwise reconnects under
 * the new name with no token (a token belongs to one name), so a registered name asks for its
 * password on the sign-in form. */
function nick(name) {
  const waiting = store.get('outbox', []).length;
  if (waiting > 0) return system(`/nick: ${waiting} message(s) still wait to be sent as ${state.me}; wait for them first`, true);
  if (!/^\S+$/.test(name)) return system('usage: /nick <name>  (one word)', true);
  if (name === state.me) return system(`you are already ${name}`);
  store.del('token');
  store.del('since');
  store.set('name', name);
  system(`going on as ${name}…`);
  const old = state.ws;
  state.ws = null;
  if (old) old.close();
  connect();
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const line = $('input').value;
  if (!line.trim()) return;
  $('input').value = '';
  const subject = $('subject').value.trim() || undefined;
  if (line.startsWith('//')) return say(line.slice(1), { subject });
  if (!line.startsWith('/')) return say(line, { subject });
  const [cmd, ...rest] = line.slice(1).split(/\s+/);
  const arg = rest.join(' ');
  const room = state.current.startsWith('#') ? state.current.slice(1) : state.rooms[0];
  switch (cmd) {
    case 'join': case 'j': if (rest[0]) send({ type: 'join', room: rest[0].replace(/^#/, '') }); else system('/join <room>'); break;
    case 'leave': case 'part': send({ type: 'leave', room: rest[0] ? rest[0].replace(/^#/, '') : room }); break;
    case 'msg': case 'm': {
      const to = rest[0];
      const text = rest.slice(1).join(' ');
      if (!to || !text) { system('/msg <user> <text>'); break; }
      conv('@' + to);
      switchTo('@' + to);
      say(text, { to, subject });
      break;
    }
    case 'me': if (arg) say(arg, { subject, action: true }); else system('usage: /me <action>', true); break;
    case 'rooms': case 'list': send({ type: 'rooms' }); break;
    case 'nick': case 'name': if (rest.length === 1 && rest[0]) nick(rest[0]); else system('usage: /nick <name>  (one word)', true); break;
    case 'who': case 'w': send({ type: 'who', room }); system(`in ${room}: ${[...(state.people.get(room) || [])].join(', ')}`); break;
    case 'topic': $('subject').value = arg; break;
    case 'history': case 'hist': {
      const c = conv('#' + room);
      const first = c.messages.find((m) => m.id !== null);
      send({ type: 'history', room, limit: Math.min(1000, Number(rest[0]) || 20), ...(first ? { before: first.id } : {}) });
      break;
    }
    case 'quit': case 'q': $('signout').click(); break;
    case 'help': case 'h': case '?': for (const h of HELP) system(h); break;
    default: system(`unknown command /${cmd}: /help lists them`, true);
  }
});

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const r = $('join-room').value.trim().replace(/^#/, '');
  if (r) send({ type: 'join', room: r });
  $('join-room').value = '';
});

// ---- rendering (text only) -------------------------------------------------------------------------
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function switchTo(key) {
  state.current = key;
  conv(key).unread = 0;
  renderConvs();
  renderLog();
  renderPeople();
}

function renderConvs() {
  const rooms = $('rooms'), dms = $('dms');
  rooms.replaceChildren();
  dms.replaceChildren();
  for (const [key, c] of state.convs) {
    const li = el('li');
    const b = el('button');
    b.type = 'button';
    b.append(el('span', 'name', key.startsWith('#') ? key : key.slice(1)));
    if (c.unread > 0) { const badge = el('span', 'badge', String(c.unread)); badge.setAttribute('aria-label', `${c.unread} unread`); b.append(badge); }
    b.setAttribute('aria-current', key === state.current ? 'true' : 'false');
    b.addEventListener('click', () => { switchTo(key); $('input').focus(); });
    li.append(b);
    (key.startsWith('#') ? rooms : dms).append(li);
  }
}

function timeOf(ts) {
  const d = new Date(ts * 1000);
  const today = new Date();
  const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === today.toDateString() ? t : d.toLocaleDateString() + ' ' + t;
}

function renderLog() {
  const key = state.current;
  $('conv-title').textContent = key.startsWith('#') ? key : 'Direct messages with ' + key.slice(1);
  const log = $('log');
  log.replaceChildren();
  for (const m of conv(key).messages) {
    const own = m.username === state.me || m.username === store.get('name', '');
    const li = el('li', 'msg' + (own ? ' own' : '') + (m.missed ? ' missed' : '') + (m.pending ? ' pending' : ''));
    li.dataset.id = m.id === null ? '' : String(m.id);
    const meta = el('div', 'meta');
    const time = el('time', 'time', timeOf(m.timestamp));
    time.dateTime = new Date(m.timestamp * 1000).toISOString();
    meta.append(el('span', 'who', (m.action ? '* ' : '') + m.username + (m.verified ? ' ✓' : '')), time);
    if (own) meta.append(el('span', 'tag', 'you'));
    if (m.missed) meta.append(el('span', 'tag missed-tag', 'missed'));
    if (m.pending) meta.append(el('span', 'tag', 'sending…'));
    if (m.failed) meta.append(el('span', 'tag', 'not sent: ' + m.failed));
    li.append(meta);
    if (m.subject) li.append(el('div', 'subject', m.subject));
    li.append(el('div', m.action ? 'content action' : 'content', m.content));
    log.append(li);
  }
  log.scrollTop = log.scrollHeight;
}

function renderPeople() {
  const ul = $('people');
  ul.replaceChildren();
  const room = state.current.startsWith('#') ? state.current.slice(1) : null;
  const users = room ? [...(state.people.get(room) || [])].sort() : [state.me, state.current.slice(1)];
  for (const u of users) if (u) ul.append(el('li', null, u));
}

function system(text, isError) {
  const li = el('li', 'sys' + (isError ? ' err' : ''), text);
  $('log').append(li);
  $('log').scrollTop = $('log').scrollHeight;
}

if (store.get('name', '')) startChat();
else showSignin();
