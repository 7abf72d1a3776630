/**
 * runChatUi against a fake backend: the UI is backend-agnostic (the broadcast peer uses it too),
 * so its contract with ChatBackend is tested without any network.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { BackendState, ChatBackend, ChatMessage, OutgoingMessage, ScanEntry } from '../../src/client/backend.js';
import { runChatUi } from '../../src/client/ui/index.js';
import { fakeTty } from '../helpers/client-fake-server.js';

class FakeBackend extends EventEmitter implements ChatBackend {
  state: BackendState = 'connecting';
  sent: OutgoingMessage[] = [];
  started = false;
  closed = false;
  private queue: string[] = [];
  constructor(readonly kind: 'repeater' | 'broadcast', readonly username = 'ada', withScan = false) {
    super();
    if (withScan) {
      this.scan = async (): Promise<ScanEntry[]> => [{ name: 'lab-pc', host: '10.93.0.2', port: 5190, mode: 'repeater', lastSeen: Date.now() - 12_000, connected: false }];
      this.peers = () => [{ name: 'bob-laptop', address: '10.93.0.3:5191', users: ['bob'] }];
    }
  }
  scan?: () => Promise<ScanEntry[]>;
  peers?: () => Array<{ name: string; address: string; users: string[] }>;
  async start(): Promise<void> {
    this.started = true;
    this.state = 'online';
    this.emit('state', 'online');
  }
  send(m: OutgoingMessage): string {
    this.sent.push(m);
    const uid = `u${this.sent.length}`;
    this.queue.push(uid);
    // Acknowledged on the next tick, as a real backend would after storing.
    setImmediate(() => {
      this.queue = this.queue.filter((u) => u !== uid);
      this.emit('acked', uid, { key: uid, id: null, uid, username: this.username, subject: m.subject ?? null, content: m.content, room: m.room, to: m.to ?? null, timestamp: 0 });
    });
    return uid;
  }
  pendingCount(): number {
    return this.queue.length;
  }
  async join(): Promise<void> {}
  async leave(): Promise<void> {}
  async who(): Promise<string[]> {
    return ['ada', 'bob'];
  }
  async history(): Promise<ChatMessage[]> {
    return [];
  }
  recent(): ChatMessage[] {
    return [{ key: 'k1', id: null, uid: null, username: 'bob', subject: null, content: 'from the local history', room: 'lobby', to: null, timestamp: 0 }];
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const tty = fakeTty;

describe('runChatUi with any backend', () => {
  it('interactive: shows the local history, starts the backend, sends, uses scan/peers when the backend has them, closes on /quit', async () => {
    const b = new FakeBackend('broadcast', 'ada', true);
    const t = tty();
    const done = runChatUi(b, { input: t.input, output: t.output, color: false, title: 'lab93 test' });
    t.input.write('hello everyone\r');
    t.input.write('/scan\r');
    t.input.write('/peers\r');
    t.input.write('/quit\r');
    assert.equal(await done, 0);
    assert.ok(b.started && b.closed);
    assert.deepEqual(b.sent.map((m) => [m.content, m.room]), [['hello everyone', 'lobby']]);
    const text = t.text();
    assert.match(text, /from the local history/);
    assert.match(text, /lab-pc {2}10\.93\.0\.2:5190 {2}repeater {2}seen 12 s ago {2}not connected/);
    assert.match(text, /bob-laptop {2}10\.93\.0\.3:5191 {2}bob/);
  });

  it('interactive, repeater backend without scan: /scan explains it belongs to broadcast mode', async () => {
    const b = new FakeBackend('repeater');
    const t = tty();
    const done = runChatUi(b, { input: t.input, output: t.output, color: false });
    t.input.write('/scan\r/quit\r');
    assert.equal(await done, 0);
    assert.match(t.text(), /\/scan belongs to broadcast mode: start `lab93 -b`/);
  });

  it('pipe mode: one message per line, one line per message, returns once everything is acknowledged', async () => {
    const b = new FakeBackend('broadcast');
    const input = Object.assign(new PassThrough(), { isTTY: false });
    const output = new PassThrough();
    const err = new PassThrough();
    let out = '';
    output.setEncoding('utf8');
    output.on('data', (c: string) => (out += c));
    const done = runChatUi(b, { input, output, errorOutput: err, room: 'physics', timeZone: 'UTC' });
    await new Promise((r) => setImmediate(r));
    b.emit('message', { key: 'x', id: 3, uid: null, username: 'bob', subject: null, content: 'hi\x1b[2J', room: 'physics', to: null, timestamp: 0 }, { missed: false });
    input.end('one\n\ntwo\n');
    assert.equal(await done, 0);
    assert.deepEqual(b.sent.map((m) => [m.content, m.room]), [['one', 'physics'], ['two', 'physics']]);
    assert.equal(b.pendingCount(), 0);
    assert.equal(out, '00:00:00 physics bob: hi\n');
    assert.ok(b.closed);
  });

  it('rings the bell for a direct message or a mention of your name, not for other lines; bell: false silences it', async () => {
    const bells = async (bell: boolean | undefined): Promise<number> => {
      const b = new FakeBackend('repeater');
      const t = tty();
      const done = runChatUi(b, { input: t.input, output: t.output, color: false, ...(bell === undefined ? {} : { bell }) });
      await new Promise((r) => setImmediate(r));
      const say = (content: string, to: string | null = null, username = 'bob'): void => {
        b.emit('message', { key: content, id: null, uid: null, username, subject: null, content, room: 'lobby', to, timestamp: 0 }, { missed: false });
      };
      say('lunch anyone?');
      say('about madam ada_b');
      say('ada says hi', null, 'ada'); // our own message from another connection
      assert.equal([...t.text()].filter((ch) => ch === '\x07').length, 0, 'no bell for ordinary lines');
      say('Ada: your turn');
      say('psst', 'ada');
      t.input.write('/quit\r');
      assert.equal(await done, 0);
      return [...t.text()].filter((ch) => ch === '\x07').length;
    };
    assert.equal(await bells(undefined), 1, 'the mention and the direct message, both within 2 s: one bell (a flood rings once)');
    assert.equal(await bells(false), 0);
  });

  it('/me sends an action line', async () => {
    const b = new FakeBackend('repeater');
    const t = tty();
    const done = runChatUi(b, { input: t.input, output: t.output, color: false });
    const acked = new Promise((r) => b.once('acked', r));
    t.input.write('/me waves\r');
    await acked;
    t.input.write('/quit\r');
    assert.equal(await done, 0);
    assert.deepEqual(b.sent.map((m) => [m.content, m.action]), [['waves', true]]);
    assert.match(t.text(), /\* ada waves/);
  });

  it('where the backend cannot (broadcast mode), /me, /nick, /rooms and /outbox drop say so instead of failing', async () => {
    const b = new FakeBackend('broadcast');
    const t = tty();
    const done = runChatUi(b, { input: t.input, output: t.output, color: false });
    t.input.write('/me waves\r/nick bea\r/rooms\r/outbox drop 1\r/outbox\r/quit\r');
    assert.equal(await done, 0);
    assert.deepEqual(b.sent, [], '/me sent nothing rather than a plain line');
    const text = t.text();
    assert.match(text, /\/me: broadcast mode does not carry action lines yet; nothing was sent/);
    assert.match(text, /\/nick: not available in broadcast mode/);
    assert.match(text, /\/rooms: not available in broadcast mode/);
    assert.match(text, /\/outbox drop: not available in broadcast mode/);
    assert.match(text, /the outbox is empty/);
  });
});
