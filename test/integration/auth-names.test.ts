/**
 * Every look-alike of issue 9 refused over real TCP, while the real name is registered and
 * while it is merely online: `Alice`, `аlice` (Cyrillic а), `alice` + U+034F or U+FE0F, and the
 * blank-looking U+3164 and U+2800; the same rules for rooms and DM recipients.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WireClient, type Packet } from '../helpers/wire-client.js';
import { startAuthServer, type AuthServer } from './auth-server.js';

async function answer(port: number, hello: Packet, mode: 'plain' | 'base64'): Promise<Packet[]> {
  const c = await WireClient.connect(port, mode);
  c.send({ type: 'hello', ...hello });
  await c.closedPromise;
  return c.received;
}

describe('honest names over TCP', () => {
  let ts: AuthServer;
  let carol: WireClient;
  before(async () => {
    ts = await startAuthServer();
    await ts.addUser('alice', 'wonderland');
    // carol is not registered, just online.
    carol = (await WireClient.login(ts.port, 'carol')).c;
  });
  after(async () => {
    await carol.close();
    await ts.stop();
  });

  const cases = (real: string, ifSameKey: string): Array<[string, string, RegExp]> => [
    [real[0]!.toUpperCase() + real.slice(1), ifSameKey, /./],
    [real.toUpperCase(), ifSameKey, /./],
    // With a Cyrillic а: `аlice` for alice.
    [real.replace(/a/, '\u0430'), 'bad_packet', /mixes (Cyrillic and Latin|Latin and Cyrillic) letters/],
    [`${real}\u034f`, 'bad_packet', /invisible or blank character \(U\+034F\)/],
    [`${real}\ufe0f`, 'bad_packet', /invisible or blank character \(U\+FE0F\)/],
    ['\u3164', 'bad_packet', /invisible or blank character \(U\+3164\)/],
    ['\u2800', 'bad_packet', /invisible or blank character \(U\+2800\)/],
    [real.replace('l', '1'), 'name_taken', /looks like/],
  ];

  for (const mode of ['plain', 'base64'] as const) {
    it(`every look-alike of a registered name is refused (${mode})`, async () => {
      for (const [name, code, why] of cases('alice', 'auth_required')) {
        const got = await answer(ts.port, { username: name }, mode);
        assert.deepEqual(got.map((p) => p.code), [code], JSON.stringify(name));
        assert.match(got[0]!.message, why, JSON.stringify(name));
        assert.equal(got.some((p) => p.type === 'welcome'), false);
      }
    });

    it(`every look-alike of a name online is refused (${mode})`, async () => {
      for (const [name, code, why] of cases('carol', 'name_taken')) {
        if (name === 'carol'.replace('l', '1')) continue; // not a look-alike of carol
        const got = await answer(ts.port, { username: name }, mode);
        assert.deepEqual(got.map((p) => p.code), [code], JSON.stringify(name));
        assert.match(got[0]!.message, code === 'name_taken' ? /looks like carol, who is online/ : why, JSON.stringify(name));
      }
      // The same spelling is the same guest on another connection (a laptop and a phone).
      const twin = await WireClient.login(ts.port, 'carol');
      assert.equal(twin.welcome.username, 'carol');
      await twin.c.close();
    });
  }

  it('rooms: a look-alike of an open room is refused, an invisible mark too; NFKC spellings are the same room', async () => {
    const { c } = await WireClient.login(ts.port, 'dan');
    c.send({ type: 'join', room: 'Lobby' });
    const e1 = await c.next('error');
    assert.deepEqual([e1.code, /looks like the room lobby in use; join lobby/.test(e1.message)], ['name_taken', true]);
    c.send({ type: 'join', room: 'lab\u034f' });
    assert.equal((await c.next('error')).code, 'bad_packet');
    c.send({ type: 'message', uid: 'w', room: 'ｌobby', content: 'fullwidth l' });
    assert.equal((await c.next('ack')).uid, 'w');
    const [m] = await ts.store.history('lobby', null, 1);
    assert.equal(m?.room, 'lobby');
    const refused = await answer(ts.port, { username: 'eve', rooms: ['LOBBY'] }, 'plain');
    assert.deepEqual(refused.map((p) => p.code), ['name_taken']);
    await c.close();
  });

  it('DM recipients follow the same rules: a blank-looking `to` is refused for that message only', async () => {
    const { c } = await WireClient.login(ts.port, 'fay');
    c.send({ type: 'message', uid: 'x1', to: 'alice\u2800', content: 'hi' });
    const e = await c.next('error');
    assert.deepEqual([e.code, e.uid, /to: contains an invisible or blank character/.test(e.message)], ['bad_packet', 'x1', true]);
    c.send({ type: 'message', uid: 'x2', to: 'CAROL', content: 'to carol' });
    await c.next('ack');
    const m = await carol.next((p) => p.type === 'message' && p.uid === 'x2');
    assert.equal(m.to, 'carol', 'spelled as the user online');
    await c.close();
  });
});
