/**
 * The auth gate (src/auth/gate.ts) on an in-memory account store and a clock the test drives:
 * who a hello logs in as, the refusals and their codes, throttling, registration, revocation
 * and the rules for direct-message recipients and rooms. Over real TCP: test/integration/auth-*.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthGate, hostOf, type Admission } from '../../src/auth/gate.js';
import { MemoryAccountStore } from '../../src/auth/memory.js';
import { nameKeys } from '../../src/auth/names.js';
import { hashPassword } from '../../src/auth/password.js';
import type { AuthOptions } from '../../src/auth/config.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const FAST = { ln: 4, r: 8, p: 1 };

async function setup(options: Partial<AuthOptions> = {}) {
  const clock = { t: 1_000_000 };
  const accounts = new MemoryAccountStore();
  const add = async (name: string, password: string, operator = false) => {
    const n = nameKeys(name);
    await accounts.create({ ...n, passwordHash: await hashPassword(password, FAST), operator, createdAt: clock.t });
  };
  await add('alice', 'wonderland');
  const gate = new AuthGate<object>({ accounts, now: () => clock.t, options: { scrypt: FAST, ...options } });
  await gate.refresh();
  return { gate, accounts, clock, add };
}

const code = (c: string, also?: (e: ProtocolError) => boolean) => (err: unknown) => err instanceof ProtocolError && err.code === c && (also ? also(err) : true);
const admit = (gate: AuthGate<object>, username: string, more: { password?: string; token?: string; address?: string } = {}): Promise<Admission> =>
  gate.admit({ username, address: '10.0.0.1', ...more });

describe('auth gate: logging in', () => {
  it('a free name is a guest; a registered one needs its credentials (auth_required, fatal)', async () => {
    const { gate } = await setup();
    const bob = await admit(gate, 'bob');
    assert.deepEqual([bob.name.name, bob.login, bob.token], ['bob', null, null]);
    for (const n of ['alice', 'Alice', 'ALICE']) await assert.rejects(admit(gate, n), code('auth_required', (e) => e.fatal && /alice is a registered name/.test(e.message)), n);
  });

  it('the right password logs into the account as registered, with a token; a wrong one is auth_failed', async () => {
    const { gate } = await setup();
    const a = await admit(gate, 'ALICE', { password: 'wonderland' });
    assert.equal(a.name.name, 'alice', 'the account spells the name');
    assert.equal(a.login?.name, 'alice');
    assert.match(a.token ?? '', /^[A-Za-z0-9_-]{43}$/);
    await assert.rejects(admit(gate, 'alice', { password: 'Wonderland' }), code('auth_failed', (e) => e.fatal && !e.message.includes('Wonderland')));
    await assert.rejects(admit(gate, 'bob', { password: 'x' }), code('auth_failed', (e) => /no account named bob/.test(e.message)));
  });

  it('a token logs in again without the password, only for its own account', async () => {
    const { gate, add } = await setup();
    await add('carol', 'carolpass');
    const { token } = await admit(gate, 'alice', { password: 'wonderland' });
    const again = await admit(gate, 'alice', { token: token! });
    assert.equal(again.login?.name, 'alice');
    assert.equal(again.token, token, 'the same token comes back');
    await assert.rejects(admit(gate, 'carol', { token: token! }), code('auth_failed', (e) => /not valid for carol/.test(e.message)));
    await assert.rejects(admit(gate, 'alice', { token: 'forged' }), code('auth_failed'));
    const fallback = await admit(gate, 'alice', { token: 'forged', password: 'wonderland' });
    assert.equal(fallback.login?.name, 'alice', 'a bad token with the right password still logs in');
  });

  it('failed passwords are throttled per account: rate_limited with retry_after_ms, then free again', async () => {
    const { gate, clock } = await setup({ loginFailuresPerAccount: 3, loginFailuresPerAddress: 100 });
    for (let i = 0; i < 3; i++) {
      await assert.rejects(admit(gate, 'alice', { password: 'guess', address: `10.0.0.${i}` }), code('auth_failed'));
      clock.t += 1000;
    }
    // Even the right password is not checked while throttled: guessing cannot continue.
    await assert.rejects(admit(gate, 'alice', { password: 'wonderland', address: '10.9.9.9' }), code('rate_limited', (e) => e.fatal && e.retryAfterMs === 57_000));
    assert.equal((await admit(gate, 'bob')).login, null, 'guests are not affected');
    clock.t += 57_000;
    assert.equal((await admit(gate, 'alice', { password: 'wonderland' })).login?.name, 'alice');
  });

  it('per address too; a saved token is throttled by address only, so a stranger cannot lock the owner out', async () => {
    const { gate, clock, add } = await setup({ loginFailuresPerAccount: 2, loginFailuresPerAddress: 3 });
    await add('dave', 'davepass');
    const { token } = await admit(gate, 'alice', { password: 'wonderland', address: '10.0.0.2' });
    await assert.rejects(admit(gate, 'alice', { password: 'x', address: '10.0.0.66' }), code('auth_failed'));
    await assert.rejects(admit(gate, 'alice', { password: 'y', address: '10.0.0.66' }), code('auth_failed'));
    await assert.rejects(admit(gate, 'alice', { password: 'wonderland', address: '10.0.0.2' }), code('rate_limited'));
    assert.equal((await admit(gate, 'alice', { token: token!, address: '10.0.0.2' })).login?.name, 'alice', 'the token still works');
    await assert.rejects(admit(gate, 'dave', { password: 'z', address: '10.0.0.66' }), code('auth_failed'));
    await assert.rejects(admit(gate, 'dave', { password: 'davepass', address: '10.0.0.66' }), code('rate_limited', (e) => (e.retryAfterMs ?? 0) > 0), 'the address used up its failures');
    assert.equal((await admit(gate, 'dave', { password: 'davepass', address: '10.0.0.3' })).login?.name, 'dave');
    clock.t += 60_000;
    assert.equal((await admit(gate, 'dave', { password: 'davepass', address: '10.0.0.66' })).login?.name, 'dave');
  });

  it('--guests no: every unregistered name is auth_required', async () => {
    const { gate } = await setup({ guests: false });
    await assert.rejects(admit(gate, 'bob'), code('auth_required', (e) => /registered users only/.test(e.message)));
    assert.ok((await admit(gate, 'alice', { password: 'wonderland' })).login);
  });

  it('a look-alike of a registered name, or of a name online, is name_taken; the same guest name twice is fine', async () => {
    const { gate } = await setup();
    await assert.rejects(admit(gate, 'a1ice'), code('name_taken', (e) => e.fatal && /looks like the registered name alice/.test(e.message)));
    const s1 = {};
    gate.enter(s1, await admit(gate, 'bob'));
    gate.enter({}, await admit(gate, 'bob'));
    await assert.rejects(admit(gate, 'Bob'), code('name_taken', (e) => /looks like bob, who is online/.test(e.message)));
    await assert.rejects(admit(gate, 'b0b'), code('name_taken'));
    await assert.rejects(admit(gate, 'аlice'), code('bad_packet', (e) => /mixes/.test(e.message)));
    gate.leave(s1);
    await assert.rejects(admit(gate, 'BOB'), code('name_taken'), 'one bob is still online');
  });
});

describe('auth gate: registering, revoking, recipients, rooms', () => {
  it('registration is closed by default; open, a guest claims its name once', async () => {
    const closed = await setup();
    const g = {};
    closed.gate.enter(g, await admit(closed.gate, 'bob'));
    await assert.rejects(closed.gate.register(g, 'long enough', '10.0.0.1'), code('registration_closed'));

    const { gate, accounts } = await setup({ registration: 'open', registrationsPerAddress: 1 });
    const s = {};
    gate.enter(s, await admit(gate, 'bob'));
    await assert.rejects(gate.register(s, 'short', '10.0.0.1'), code('bad_packet', (e) => /at least 8/.test(e.message)));
    const r = await gate.register(s, 'bobsecret', '10.0.0.1');
    assert.equal(r.login.name, 'bob');
    assert.equal(gate.loginOf(s)?.name, 'bob');
    assert.equal((await accounts.get('bob'))?.name, 'bob');
    await assert.rejects(gate.register(s, 'bobsecret', '10.0.0.1'), code('name_taken', (e) => /logged into the account bob already/.test(e.message)));
    const c = {};
    gate.enter(c, await admit(gate, 'carol'));
    await assert.rejects(gate.register(c, 'carolsecret', '10.0.0.1'), code('rate_limited', (e) => (e.retryAfterMs ?? 0) > 0 && !e.fatal));
    assert.equal((await admit(gate, 'bob', { token: r.token })).login?.name, 'bob');
  });

  it('revoked: a deleted account, a logout, a new password, a guest name now registered', async () => {
    const { gate, accounts, add } = await setup();
    const a = {};
    gate.enter(a, await admit(gate, 'alice', { password: 'wonderland' }));
    const g = {};
    gate.enter(g, await admit(gate, 'erin'));
    assert.equal(gate.revoked(a), null);
    await accounts.revokeTokens('alice');
    await gate.refresh();
    assert.match(gate.revoked(a) ?? '', /sessions of alice were ended/);
    assert.equal(gate.revoked(g), null);
    await add('Erin', 'erinpass');
    await gate.refresh();
    assert.match(gate.revoked(g) ?? '', /erin is now a registered name/);
    await accounts.delete('alice');
    await gate.refresh();
    assert.match(gate.revoked(a) ?? '', /account alice was deleted/);
  });

  it('mayReceive: account-only mail reaches logged-in sessions only', async () => {
    const { gate } = await setup();
    const acc = {};
    const guest = {};
    gate.enter(acc, await admit(gate, 'alice', { password: 'wonderland' }));
    gate.enter(guest, await admit(gate, 'bob'));
    assert.deepEqual([gate.mayReceive(acc, true), gate.mayReceive(guest, true), gate.mayReceive(guest, false)], [true, false, true]);
  });

  it('a DM recipient is spelled as its account or the user online, and marked when it is an account', async () => {
    const { gate } = await setup();
    gate.enter({}, await admit(gate, 'Bob'));
    assert.deepEqual(gate.recipient('ALICE', 32), { name: 'alice', account: true });
    assert.deepEqual(gate.recipient('bob', 32), { name: 'Bob', account: false });
    assert.deepEqual(gate.recipient('ｚed', 32), { name: 'zed', account: false });
    assert.throws(() => gate.recipient('al\u3164ice', 32), /to: contains an invisible/);
  });

  it('a room that looks like an open room with another spelling is name_taken', () => {
    const gate = new AuthGate<object>({ accounts: new MemoryAccountStore() });
    assert.equal(gate.room('lab', 64, new Set(['lobby', 'lab'])), 'lab');
    assert.equal(gate.room('ｌab', 64, new Set(['lab'])), 'lab');
    assert.throws(() => gate.room('Lab', 64, new Set(['lobby', 'lab'])), code('name_taken', (e) => /looks like the room lab/.test(e.message)));
    assert.throws(() => gate.room('l\u034fab', 64, new Set()), code('bad_packet'));
  });

  it('hostOf: the address without the port, IPv4-mapped addresses unwrapped', () => {
    assert.deepEqual(['10.0.0.1:5000', '::ffff:10.0.0.1:5000', '::1:5000', 'unknown'].map(hostOf), ['10.0.0.1', '10.0.0.1', '::1', 'unknown']);
  });
});
