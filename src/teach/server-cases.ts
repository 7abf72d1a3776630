/**
 * What `lab93 check server HOST:PORT` checks of a protocol v1 server (docs/protocol.md): one
 * case per promise, each connecting afresh with names unique to the run.
 */
import { fail, NotAttempted, show, type Case, type CaseEnv } from './case.js';
import { byType, Probe, type Packet } from './probe.js';

export interface ServerEnv extends CaseEnv {
  host: string;
  port: number;
  /** How long to wait for an answer, in ms. */
  wait: number;
}

const P = 'docs/protocol.md';

/** Connects and says hello; a case that cannot get this far is "not attempted". */
async function login(env: ServerEnv, conn: string, user: string, extra: Packet = {}, mode: 'base64' | 'plain' = 'base64'): Promise<{ probe: Probe; welcome: Packet; backlog: Packet[]; synced: Packet }> {
  let probe: Probe;
  try {
    probe = await Probe.open(env.host, env.port, conn, env.t, mode);
  } catch (err) {
    throw new NotAttempted(`cannot connect: ${(err as Error).message}`);
  }
  probe.send({ type: 'hello', username: user, ...extra });
  const welcome = await probe.next(byType('welcome'), env.wait);
  if (welcome === null) throw new NotAttempted('no welcome after hello (see the case hello-welcome-synced)');
  const backlog: Packet[] = [];
  for (;;) {
    const p = await probe.next((x) => x.type === 'message' || x.type === 'synced', env.wait);
    if (p === null) throw new NotAttempted('no synced after welcome (see the case hello-welcome-synced)');
    if (p.type === 'synced') return { probe, welcome, backlog, synced: p };
    backlog.push(p);
  }
}

/** Sends a message and waits for its ack. */
async function post(env: ServerEnv, probe: Probe, content: string, uid: string): Promise<Packet> {
  probe.send({ type: 'message', uid, content });
  const ack = await probe.next((p) => (p.type === 'ack' || p.type === 'error') && p.uid === uid, env.wait);
  if (ack === null || ack.type !== 'ack') fail(`no ack for uid ${uid}: got ${show(ack)}`);
  if (typeof ack.id !== 'number') fail(`the ack has no numeric id: ${show(ack)}`);
  return ack;
}

export const SERVER_CASES: Case<ServerEnv>[] = [
  {
    name: 'hello-welcome-synced',
    level: 'required',
    expected: 'hello is answered by welcome (username, last_id, users, rooms), the missed messages, then synced (last_id, missed)',
    mistake: 'welcome or synced missing, a field missing, or the answer not base64 of JSON ended by a newline',
    section: `${P}#client-to-server`,
    async run(env) {
      const probe = await Probe.open(env.host, env.port, 'A', env.t);
      probe.send({ type: 'hello', username: `a${env.tag}` });
      const w = await probe.next(() => true, env.wait);
      if (w?.type !== 'welcome') fail(`the first answer should be welcome, got ${show(w)}`);
      for (const k of ['username', 'last_id', 'users', 'rooms']) if (!(k in w)) fail(`welcome has no ${k}: ${show(w)}`);
      const s = await probe.next((p) => p.type !== 'message', env.wait);
      if (s?.type !== 'synced' || typeof s.last_id !== 'number') fail(`after the backlog comes synced with last_id, got ${show(s)}`);
      probe.close();
    },
  },
  {
    name: 'plain-json-mode',
    level: 'required',
    expected: 'a first frame that is raw JSON makes the connection plain: the answers are raw JSON lines too',
    mistake: 'the server decodes base64 only, or answers a plain client in base64',
    section: `${P}#framing`,
    async run(env) {
      const { probe, welcome } = await login(env, 'A', `p${env.tag}`, {}, 'plain').catch((e) => fail(`no plain welcome: ${(e as Error).message}`));
      if (welcome.type !== 'welcome') fail(`got ${show(welcome)}`);
      probe.close();
    },
  },
  {
    name: 'relay-no-echo',
    level: 'required',
    expected: 'a message is acked to its sender, relayed to the other connections in the room, and not echoed to the sender',
    mistake: 'sending the message to every connection, the sender included, or not relaying it at all',
    section: `${P}#client-to-server`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      const b = await login(env, 'B', `b${env.tag}`);
      const content = `relay ${env.tag}`;
      await post(env, a.probe, content, `r${env.tag}`);
      const got = await b.probe.next((p) => p.type === 'message' && p.content === content, env.wait);
      if (got === null) fail('the other connection (B) never received the message');
      const echo = await a.probe.collect('message', 300);
      if (echo.some((p) => p.content === content)) fail('the sender (A) received its own message back: an echo');
      a.probe.close();
      b.probe.close();
    },
  },
  {
    name: 'ack-after-store',
    level: 'required',
    expected: 'once acked, a message is stored: a connection made right after the ack, with since just below its id, receives it',
    mistake: 'acking before the message is stored (a reconnect then misses it), or not storing at all',
    section: `${P}#server-to-client`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      const content = `stored ${env.tag}`;
      const ack = await post(env, a.probe, content, `s${env.tag}`);
      a.probe.close();
      const c = await login(env, 'C', `c${env.tag}`, { since: (ack.id as number) - 1 });
      if (!c.backlog.some((p) => p.content === content)) fail(`acked id ${String(ack.id)}, but a reconnect with since ${(ack.id as number) - 1} did not receive it (backlog: ${c.backlog.length} messages)`);
      c.probe.close();
    },
  },
  {
    name: 'uid-idempotent',
    level: 'required',
    expected: 'the same uid sent again gets the original ack (same id) and is neither stored nor relayed again',
    mistake: 'storing every message without looking its uid up first',
    section: `${P}#client-to-server`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      const b = await login(env, 'B', `b${env.tag}`);
      const uid = `u${env.tag}`;
      const first = await post(env, a.probe, `once ${env.tag}`, uid);
      const again = await post(env, a.probe, `once ${env.tag}`, uid);
      if (again.id !== first.id) fail(`the second ack has id ${String(again.id)}, the first ${String(first.id)}: stored twice`);
      const relayed = await b.probe.collect('message', 400);
      if (relayed.filter((p) => p.uid === uid).length > 1) fail('the other connection received the message twice');
      a.probe.close();
      b.probe.close();
    },
  },
  {
    name: 'catch-up-since',
    level: 'required',
    expected: 'hello with since N receives exactly the messages with id > N, oldest first, then synced with missed',
    mistake: 'ignoring since (sending nothing, or everything), or sending the backlog after synced',
    section: `${P}#client-to-server`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      const one = await post(env, a.probe, `first ${env.tag}`, `c1${env.tag}`);
      await post(env, a.probe, `second ${env.tag}`, `c2${env.tag}`);
      a.probe.close();
      const c = await login(env, 'C', `c${env.tag}`, { since: (one.id as number) - 1 });
      const mine = c.backlog.filter((p) => typeof p.content === 'string' && p.content.endsWith(env.tag)).map((p) => p.content);
      if (mine.join('|') !== `first ${env.tag}|second ${env.tag}`) fail(`since ${(one.id as number) - 1} should bring both messages in order; the backlog held ${JSON.stringify(mine)}`);
      if (c.backlog.some((p) => typeof p.id === 'number' && p.id < (one.id as number))) fail('the backlog holds messages at or below since');
      c.probe.close();
    },
  },
  {
    name: 'history-paging',
    level: 'required',
    expected: 'history with limit gives the newest messages oldest first; with before, the ones before that id',
    mistake: 'returning the oldest messages, ignoring before, or the page in the wrong order',
    section: `${P}#server-to-client`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) ids.push((await post(env, a.probe, `page${i} ${env.tag}`, `h${i}${env.tag}`)).id as number);
      a.probe.send({ type: 'history', room: 'lobby', limit: 2 });
      const h1 = await a.probe.next(byType('history'), env.wait);
      const got1 = Array.isArray(h1?.messages) ? (h1.messages as Packet[]).map((m) => m.id) : null;
      if (JSON.stringify(got1) !== JSON.stringify(ids.slice(1))) fail(`history limit 2 should give ids ${JSON.stringify(ids.slice(1))}, got ${show(h1)}`);
      a.probe.send({ type: 'history', room: 'lobby', limit: 1, before: ids[1] });
      const h2 = await a.probe.next(byType('history'), env.wait);
      const got2 = Array.isArray(h2?.messages) ? (h2.messages as Packet[]).map((m) => m.id) : null;
      if (JSON.stringify(got2) !== JSON.stringify([ids[0]])) fail(`history before ${ids[1]} limit 1 should give [${ids[0]}], got ${show(h2)}`);
      a.probe.close();
    },
  },
  {
    name: 'ping-pong',
    level: 'required',
    expected: 'ping is answered by pong with the same data',
    mistake: 'not answering ping, or answering without its data',
    section: `${P}#keeping-the-connection-alive`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      a.probe.send({ type: 'ping', data: env.tag });
      const pong = await a.probe.next(byType('pong'), env.wait);
      if (pong === null || pong.data !== env.tag) fail(`expected {"type":"pong","data":"${env.tag}"}, got ${show(pong)}`);
      a.probe.close();
    },
  },
  {
    name: 'error-codes',
    level: 'required',
    expected: 'each bad input gets an error with its code: bad_frame, bad_packet, unknown_type, already_hello, too_large, not_hello',
    mistake: 'closing silently, crashing, or one generic error for everything (programs read the code)',
    section: `${P}#errors`,
    async run(env) {
      const a = await login(env, 'A', `a${env.tag}`);
      const expect = async (code: string, send: () => Promise<void> | void): Promise<void> => {
        await send();
        const e = await a.probe.next(byType('error'), env.wait);
        if (e?.code !== code) fail(`expected an error with code ${code}, got ${show(e)}`);
      };
      await expect('bad_frame', () => a.probe.sendRaw(Buffer.from('!!not base64!!\n'), '!!not base64!!'));
      await expect('bad_packet', () => a.probe.send({ type: 'message', uid: `e${env.tag}` }));
      await expect('unknown_type', () => a.probe.send({ type: 'dance' }));
      await expect('already_hello', () => a.probe.send({ type: 'hello', username: `a${env.tag}` }));
      await expect('too_large', () => a.probe.send({ type: 'message', uid: `big${env.tag}`, content: 'x'.repeat(5000) }));
      a.probe.close();
      const b = await Probe.open(env.host, env.port, 'B', env.t);
      b.send({ type: 'message', content: 'before hello' });
      const e = await b.next(byType('error'), env.wait);
      if (e?.code !== 'not_hello') fail(`a message before hello should get not_hello, got ${show(e)}`);
      if (!(await b.waitClose(env.wait))) fail('after not_hello the connection should be closed');
    },
  },
  {
    name: 'split-every-byte',
    level: 'required',
    expected: 'frames that arrive one byte per read are put back together: hello and a message sent byte by byte work',
    mistake: 'treating each read (recv) as one frame instead of reading up to the newline',
    section: `${P}#framing`,
    async run(env) {
      const probe = await Probe.open(env.host, env.port, 'A', env.t);
      const frame = (p: Packet): Buffer => Buffer.from(Buffer.from(JSON.stringify(p)).toString('base64') + '\n');
      const hello = { type: 'hello', username: `s${env.tag}` };
      await probe.sendRaw(frame(hello), `${JSON.stringify(hello)}  (one byte per write)`, Infinity);
      if ((await probe.next(byType('synced'), env.wait * 2)) === null) fail('no welcome and synced after a hello sent one byte at a time');
      const msg = { type: 'message', uid: `b${env.tag}`, content: 'split' };
      const two = Buffer.concat([frame(msg), frame({ type: 'ping', data: 1 })]);
      await probe.sendRaw(two, `${JSON.stringify(msg)} and a ping in one write`);
      // The ack waits for the store, so the pong may come first: either order is right.
      const seen = new Set<unknown>();
      while (seen.size < 2) {
        const p = await probe.next((x) => x.type === 'ack' || x.type === 'pong', env.wait);
        if (p === null) fail(`two frames in one write should give an ack and a pong; got only ${[...seen].join(', ') || 'neither'}`);
        seen.add(p.type);
      }
      probe.close();
    },
  },
];
