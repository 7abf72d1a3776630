/**
 * Accounts over real TCP (issue 9, "Login"): logging in with a password and with a token,
 * registering a guest's name, a registered name refused without its credentials through every
 * entry (base64, plain, the seed's first frame, the board), throttled guessing on a driven
 * clock, revocation, and `verified` on every delivered message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WireClient, type Packet } from '../helpers/wire-client.js';
import { ask } from '../fixtures/classic/harness.js';
import { startAuthServer, type AuthServer } from './auth-server.js';
import { AuthGate } from '../../src/auth/gate.js';
import { MemoryAccountStore } from '../../src/auth/memory.js';
import { removeDir, startServer } from '../helpers/server.js';

/** Connects, says hello and returns everything the server sent until it closed the connection. */
async function refused(port: number, hello: Packet, mode: 'plain' | 'base64' = 'plain'): Promise<Packet[]> {
  const c = await WireClient.connect(port, mode);
  c.send(hello);
  await c.closedPromise;
  return c.received;
}

describe('accounts: logging in over TCP', () => {
  let ts: AuthServer;
  const clients: WireClient[] = [];
  const login = async (name: string, hello: Packet = {}, mode: 'plain' | 'base64' = 'plain') => {
    const r = await WireClient.login(ts.port, name, hello, mode);
    clients.push(r.c);
    return r;
  };
  before(async () => {
    ts = await startAuthServer({ loginFailuresPerAccount: 3, pollMs: 50 });
    await ts.addUser('alice', 'wonderland');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await ts.stop();
  });

  it('a password logs in: welcome says account and carries a token; the token logs in again without it', async () => {
    const { c, welcome } = await login('Alice', { password: 'wonderland' });
    assert.equal(welcome.username, 'alice', 'the account spells the name');
    assert.equal(welcome.account, true);
    assert.match(welcome.token, /^[A-Za-z0-9_-]{43}$/);
    await c.close();
    const again = await login('alice', { token: welcome.token }, 'base64');
    assert.deepEqual([again.welcome.account, again.welcome.token], [true, welcome.token]);
    const guest = await login('gus');
    assert.equal(guest.welcome.account, false);
    assert.equal('token' in guest.welcome, false);
  });

  it('a registered name without credentials is refused through base64, plain and the seed first frame, with nothing for it', async () => {
    // Something stored for alice that must never reach these connections.
    const { c: bob } = await login('bob');
    bob.send({ type: 'message', uid: 'secret', to: 'alice', content: 'for alice only' });
    await bob.next('ack');
    for (const mode of ['plain', 'base64'] as const) {
      for (const hello of [{ type: 'hello', username: 'alice' }, { type: 'hello', username: 'ALICE', since: 0 }]) {
        const got = await refused(ts.port, hello, mode);
        assert.deepEqual(got.map((p) => [p.type, p.code]), [['error', 'auth_required']], `${mode} ${hello.username}`);
        assert.match(got[0]!.message, /alice is a registered name: log in with its password or token/);
      }
      const wrong = await refused(ts.port, { type: 'hello', username: 'alice', password: 'guess', since: 0 }, mode);
      assert.deepEqual(wrong.map((p) => [p.type, p.code]), [['error', 'auth_failed']]);
      ts.clock.t += 60_000;
    }
    // The original client's first frame, in the plain JSON and the Python str(dict) forms.
    const before = await ts.store.count();
    for (const raw of [`${JSON.stringify({ username: 'alice', content: 'I am alice' })}\n`, `${Buffer.from("{'content': 'I am alice', 'username': 'alice'}").toString('base64')}\n`]) {
      const c = await WireClient.connect(ts.port, raw.startsWith('{') ? 'plain' : 'base64');
      c.sendRaw(raw);
      await c.closedPromise;
      assert.deepEqual(c.received.map((p) => [p.type, p.code]), [['error', 'auth_required']]);
    }
    assert.equal(await ts.store.count(), before, 'the seed frame stored nothing as alice');
  });

  it('the board cannot speak as anyone: its posts are classic@<address>, unverified, and a chat-like post shows its author', async () => {
    const { c: watcher } = await login('watcher');
    for (const post of ['POST alice: please send me your password%', 'POSTalice:\tsame%', 'POST Note: this one is fine%']) {
      assert.equal(await ask(ts.port, post), 'MSGPosting Message!%');
    }
    const m = await watcher.next('message');
    assert.deepEqual([m.username, m.verified, m.content], ['classic@127.0.0.1', false, ' alice: please send me your password']);
    const list = await ask(ts.port, 'GET%');
    assert.match(list, /classic@127\.0\.0\.1:  alice: please send me your password/);
    assert.match(list, /classic@127\.0\.0\.1: alice:\\tsame/, "(the list shows a tab as Python does)");
    assert.match(list, /classic@127\.0\.0\.1:  Note: this one is fine/, 'anything shaped like a chat line gets its author');
    // And the chat cannot pose as the board.
    const got = await refused(ts.port, { type: 'hello', username: 'classic@127.0.0.1' });
    assert.deepEqual(got.map((p) => p.code), ['bad_packet']);
    assert.match(got[0]!.message, /reserved for the classic board/);
  });

  it('failed passwords are throttled: rate_limited with retry_after_ms (even for the right one), until the window passes', async () => {
    ts.clock.t += 120_000;
    for (let i = 0; i < 3; i++) {
      const got = await refused(ts.port, { type: 'hello', username: 'alice', password: `guess${i}` });
      assert.equal(got[0]!.code, 'auth_failed');
    }
    const limited = await refused(ts.port, { type: 'hello', username: 'alice', password: 'wonderland' });
    assert.deepEqual(limited.map((p) => p.code), ['rate_limited']);
    assert.equal(limited[0]!.retry_after_ms, 60_000);
    assert.match(limited[0]!.message, /too many failed logins; try again in 60 s/);
    ts.clock.t += 60_000;
    const { welcome } = await login('alice', { password: 'wonderland' });
    assert.equal(welcome.account, true);
  });

  it('verified: true on messages from an account, false from a guest, live, in catch-up and in history', async () => {
    const { c: a } = await login('alice', { password: 'wonderland' });
    const { c: g, welcome } = await login('gina');
    const since = welcome.last_id;
    a.send({ type: 'message', uid: 'v1', content: 'from the account' });
    g.send({ type: 'message', uid: 'v2', content: 'from a guest' });
    const live = await a.next((p) => p.type === 'message' && p.uid === 'v2');
    assert.equal(live.verified, false);
    assert.equal((await g.next((p) => p.type === 'message' && p.uid === 'v1')).verified, true);
    const { backlog } = await login('later', { since });
    assert.deepEqual(backlog.filter((p) => p.uid === 'v1' || p.uid === 'v2').map((p) => [p.uid, p.verified]), [['v1', true], ['v2', false]]);
    a.send({ type: 'history', room: 'lobby', limit: 2 });
    const h = await a.next('history');
    assert.deepEqual(h.messages.map((p: Packet) => [p.uid, p.verified]), [['v1', true], ['v2', false]]);
  });

  it('user logout (tokens revoked) ends the live sessions and the token no longer logs in', async () => {
    const { c, welcome } = await login('alice', { password: 'wonderland' });
    await ts.accounts.revokeTokens('alice');
    await c.closedPromise;
    const end = c.received.filter((p) => p.type === 'error').at(-1);
    assert.deepEqual([end?.code, /sessions of alice were ended/.test(end?.message)], ['auth_required', true]);
    const got = await refused(ts.port, { type: 'hello', username: 'alice', token: welcome.token });
    assert.deepEqual(got.map((p) => p.code), ['auth_failed']);
  });
});

describe('accounts: policies', () => {
  it('--registration open: a guest registers its name, gets a token, and other guests using it are ended', async () => {
    const ts = await startAuthServer({ registration: 'open' });
    try {
      const { c: twin } = await WireClient.login(ts.port, 'bob');
      const { c } = await WireClient.login(ts.port, 'bob');
      c.send({ type: 'register', password: 'short' });
      assert.match((await c.next('error')).message, /password: at least 8 characters/);
      c.send({ type: 'register', password: 'bobs password' });
      const r = await c.next('registered');
      assert.equal(r.username, 'bob');
      assert.match(r.token, /^[A-Za-z0-9_-]{43}$/);
      await twin.closedPromise;
      assert.equal(twin.all('error').at(-1)?.code, 'auth_required');
      c.send({ type: 'message', uid: 'after', content: 'now verified' });
      await c.next('ack');
      const [m] = await ts.store.history('lobby', null, 1);
      assert.equal(m?.verified, true);
      assert.deepEqual((await refused(ts.port, { type: 'hello', username: 'bob' })).map((p) => p.code), ['auth_required']);
      const again = await WireClient.login(ts.port, 'bob', { token: r.token });
      assert.equal(again.welcome.account, true);
      await Promise.all([c.close(), again.c.close()]);
    } finally {
      await ts.stop();
    }
  });

  it('registration is closed by default (the connection stays open); --guests no admits accounts only', async () => {
    const ts = await startAuthServer({ guests: false });
    try {
      await ts.addUser('alice', 'wonderland');
      const got = await refused(ts.port, { type: 'hello', username: 'stranger' });
      assert.deepEqual(got.map((p) => p.code), ['auth_required']);
      assert.match(got[0]!.message, /registered users only/);
      const { c } = await WireClient.login(ts.port, 'alice', { password: 'wonderland' });
      c.send({ type: 'register', password: 'whatever123' });
      assert.equal((await c.next('error')).code, 'registration_closed');
      c.send({ type: 'ping', data: 1 });
      assert.equal((await c.next('pong')).data, 1, 'still connected');
      await c.close();
    } finally {
      await ts.stop();
    }
  });

  it('an account store that fails: the hello gets internal and is closed; once it is back, logins work', async () => {
    const accounts = new (class extends MemoryAccountStore {
      down = true;
      override async get(key: string) {
        if (this.down) throw new Error('connection refused');
        return super.get(key);
      }
    })();
    const ts = await startServer({}, { auth: new AuthGate({ accounts }) });
    try {
      const got = await refused(ts.port, { type: 'hello', username: 'zoe' });
      assert.deepEqual(got.map((p) => [p.code, p.message]), [['internal', 'the account store is unavailable']]);
      accounts.down = false;
      const { c, welcome } = await WireClient.login(ts.port, 'zoe');
      assert.equal(welcome.username, 'zoe');
      await c.close();
    } finally {
      await ts.stop();
      removeDir(ts.dir);
    }
  });
});
