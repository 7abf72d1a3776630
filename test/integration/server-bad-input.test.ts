import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, removeDir, type TestServer } from '../helpers/server.js';
import { WireClient } from '../helpers/wire-client.js';

const b64 = (s: string) => Buffer.from(s).toString('base64') + '\n';

describe('repeater server: bad input gets a clear error and harms nobody else', () => {
  let ts: TestServer;
  let alice: WireClient;
  let bob: WireClient;
  let n = 0;

  before(async () => {
    // Short timeouts keep the timeout cases quick, long enough that a loaded machine (a CI box running
    // two test files at once) does not take the well-behaved bystanders for silent ones.
    ts = await startServer({ helloTimeoutMs: 1000, idleTimeoutMs: 1500, receiptPingMs: 60_000, maxErrors: 5 });
    alice = (await WireClient.login(ts.port, 'alice')).c;
    bob = (await WireClient.login(ts.port, 'bob')).c;
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await ts.stop();
    removeDir(ts.dir);
  });

  /** After each bad client: the bystanders still chat, and the store holds only their messages. */
  async function bystandersUnharmed(): Promise<void> {
    const before = await ts.store.count();
    const uid = `ok-${++n}`;
    alice.send({ type: 'message', uid, content: 'still fine?' });
    await alice.next((p) => p.type === 'ack' && p.uid === uid);
    await bob.next((p) => p.type === 'message' && p.uid === uid);
    assert.equal(await ts.store.count(), before + 1);
  }

  async function badClient(mode: 'plain' | 'base64', hello = true): Promise<WireClient> {
    if (hello) return (await WireClient.login(ts.port, `bad${++n}`, {}, mode)).c;
    return WireClient.connect(ts.port, mode);
  }

  const nonFatal: Array<[string, 'plain' | 'base64', string | Buffer, string]> = [
    ['not base64', 'base64', 'this is not base64!\n', 'bad_frame'],
    ['base64 of something that is not JSON', 'base64', b64('{nope'), 'bad_frame'],
    ['base64 of invalid UTF-8', 'base64', Buffer.from([0xff, 0xfe, 0x7b]).toString('base64') + '\n', 'bad_frame'],
    ['JSON that is not an object', 'plain', '[1,2,3]\n', 'bad_packet'],
    ['an unknown type', 'plain', '{"type":"teleport"}\n', 'unknown_type'],
    ['content of the wrong type', 'plain', '{"type":"message","uid":"w1","content":42}\n', 'bad_packet'],
    ['a room with an escape sequence', 'plain', '{"type":"join","room":"\\u001b[31mred"}\n', 'bad_packet'],
    ['content over 4 KiB', 'plain', JSON.stringify({ type: 'message', uid: 'big1', content: 'x'.repeat(4097) }) + '\n', 'too_large'],
    ['a second hello', 'plain', '{"type":"hello","username":"again"}\n', 'already_hello'],
  ];
  for (const [what, mode, data, code] of nonFatal) {
    it(`${what}: error ${code}, the connection stays usable`, async () => {
      const c = await badClient(mode);
      c.sendRaw(data);
      const err = await c.next('error');
      assert.equal(err.code, code);
      assert.equal(typeof err.message, 'string');
      c.send({ type: 'ping', data: 'alive' });
      assert.deepEqual(await c.next('pong'), { type: 'pong', data: 'alive' });
      await c.close();
      await bystandersUnharmed();
    });
  }

  it('an oversized message keeps its uid in the error, so a client knows which one failed', async () => {
    const c = await badClient('plain');
    c.send({ type: 'message', uid: 'too-big', content: 'é'.repeat(2049) });
    const err = await c.next('error');
    assert.deepEqual([err.code, err.uid], ['too_large', 'too-big']);
    await c.close();
  });

  const fatal: Array<[string, 'plain' | 'base64', string | Buffer, string]> = [
    ['a message before hello', 'plain', '{"type":"message","content":"hi"}\n', 'not_hello'],
    ['a username with a terminal escape', 'plain', '{"type":"hello","username":"\\u001b]0;pwned\\u0007x"}\n', 'bad_packet'],
    ['a username over 32 characters', 'plain', JSON.stringify({ type: 'hello', username: 'u'.repeat(33) }) + '\n', 'bad_packet'],
    ['a username with a bidi override', 'plain', JSON.stringify({ type: 'hello', username: 'evil\u202Eexe' }) + '\n', 'bad_packet'],
    ['garbage as the first frame', 'base64', 'eyJ!!!garbage\n', 'bad_frame'],
  ];
  for (const [what, mode, data, code] of fatal) {
    it(`${what}: error ${code}, then the server closes`, async () => {
      const c = await badClient(mode, false);
      c.sendRaw(data);
      assert.equal((await c.next('error')).code, code);
      await c.closedPromise;
      await bystandersUnharmed();
    });
  }

  it('a frame over 64 KiB without a newline: too_large, then close', async () => {
    const c = await badClient('plain');
    c.sendRaw('{"type":"message","content":"' + 'a'.repeat(70 * 1024));
    assert.equal((await c.next('error')).code, 'too_large');
    await c.closedPromise;
    await bystandersUnharmed();
  });

  it('binary garbage after hello: errors, then a close once the error budget is spent', async () => {
    const c = await badClient('base64');
    for (let i = 0; i < 10; i++) c.sendRaw(Buffer.concat([randomBytes(200).map((b) => (b === 10 ? 11 : b)), Buffer.from('\n')]));
    await c.closedPromise;
    assert.ok(c.all('error').length >= 1 && c.all('error').length <= 5, `got ${c.all('error').length} errors`);
    assert.ok(c.all('error').every((e) => e.code === 'bad_frame'));
    await bystandersUnharmed();
  });

  it('no hello in time: hello_timeout, then close', async () => {
    const c = await WireClient.connect(ts.port);
    c.sendRaw('{"type":');
    assert.equal((await c.next('error', 10_000)).code, 'hello_timeout');
    await c.closedPromise;
  });

  it('a connection that sends nothing at all is closed', async () => {
    const c = await WireClient.connect(ts.port);
    await c.closedPromise;
    assert.equal(c.received.length, 0);
  });

  it('a silent client is pinged, then closed with idle_timeout', async () => {
    const c = await badClient('plain');
    c.autoPong = false;
    assert.equal((await c.next('ping', 10_000)).type, 'ping');
    assert.equal((await c.next('error', 10_000)).code, 'idle_timeout');
    await c.closedPromise;
    await bystandersUnharmed();
  });
});
