/**
 * A scriptable fake lab93 server for the client's protocol edge cases (rate limiting, a reset
 * store, a silent server, a hostile server): real TCP on port 0, base64 frames; the test reads
 * what the client sent and decides what to answer, or lets serve() answer like a small server.
 */
import net from 'node:net';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Clock } from '../../src/client/clock.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/frame.js';

export type Packet = Record<string, any>;

/** A clock whose timers run only when the test says so: the reconnect delays are read, not waited for. */
export class ManualClock implements Clock {
  t = 1_000_000;
  private seq = 0;
  readonly timers = new Map<number, { fn: () => void; ms: number; at: number }>();
  last = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(++this.seq, { fn, ms, at: this.t + ms });
    this.last = this.seq;
    return this.seq;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Runs every timer due by now + `ms`, in order. */
  advance(ms: number): void {
    this.t += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at > this.t || !this.timers.has(id)) continue;
      this.timers.delete(id);
      t.fn();
    }
  }

  /** Runs the newest timer (the reconnect, right after 'offline'); returns its delay. */
  runLast(): number {
    const t = this.timers.get(this.last);
    if (!t) throw new Error('no timer is pending');
    this.timers.delete(this.last);
    this.t += t.ms;
    t.fn();
    return t.ms;
  }
}

/** A message packet from bob as a server sends it. */
export function serverMessage(id: number, content: string, extra: Packet = {}): Packet {
  return { type: 'message', id, uid: `x${id}`, username: 'bob', subject: null, content, room: 'lobby', to: null, timestamp: 1000 + id, ...extra };
}

/** A terminal for the chat UI without a real one: what it prints, escape sequences removed. */
export function fakeTty(): { input: PassThrough & { isTTY: boolean }; output: PassThrough & { isTTY: boolean; columns: number }; text(): string } {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  let out = '';
  output.setEncoding('utf8');
  output.on('data', (c: string) => (out += c));
  return { input, output, text: () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

export class FakeConn {
  readonly received: Packet[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closed = false;
  /** Called with each packet as it arrives (serve() uses it). */
  onPacket: ((p: Packet) => void) | null = null;

  constructor(readonly socket: net.Socket) {
    const splitter = new LineSplitter(1 << 24);
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk).lines) {
        const d = decodeFrame(line, 'base64');
        const p = d.ok ? d.value : { type: '__bad__' };
        this.received.push(p);
        this.onPacket?.(p);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(p: Packet): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(p, 'base64'));
  }

  /** `count` messages with ids from `firstId` up, written in large chunks, as a server streams a backlog. */
  sendBacklog(firstId: number, count: number, content = (id: number) => `backlog message ${id}`): void {
    for (let start = 0; start < count; start += 1000) {
      const frames: Buffer[] = [];
      for (let i = start; i < Math.min(count, start + 1000); i++) frames.push(encodeFrame(serverMessage(firstId + i, content(firstId + i)), 'base64'));
      if (!this.socket.destroyed) this.socket.write(Buffer.concat(frames));
    }
  }

  /** Any bytes, as they are: a newline is added unless `text` ends with one. */
  sendRaw(text: string | Buffer): void {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
    if (!this.socket.destroyed) this.socket.write(b[b.length - 1] === 10 ? b : Buffer.concat([b, Buffer.from('\n')]));
  }

  /** The next packet (after those already taken) matching `type`; fails after `ms`. */
  async next(type: string | ((p: Packet) => boolean), ms = 5000): Promise<Packet> {
    const match = typeof type === 'string' ? (p: Packet) => p.type === type : type;
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.cursor < this.received.length) {
        const p = this.received[this.cursor++]!;
        if (match(p)) return p;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${String(type)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${String(type)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(ms = 5000): Promise<void> {
    if (this.closed) return;
    await Promise.race([once(this.socket, 'close'), new Promise((_r, rej) => setTimeout(() => rej(new Error('not closed')), ms))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** What serve() does after `welcome` and before `synced` on the n-th connection (0 first). */
export type AfterWelcome = (c: FakeConn, n: number, hello: Packet) => void;

export class FakeServer {
  readonly conns: FakeConn[] = [];
  private waiters: Array<(c: FakeConn) => void> = [];
  private taken = 0;
  private serving: AfterWelcome | null = null;
  private nextId = 1000;

  private constructor(readonly server: net.Server, readonly port: number) {}

  static async start(): Promise<FakeServer> {
    let fake: FakeServer | undefined;
    const pending: net.Socket[] = [];
    const server = net.createServer((s) => (fake ? fake.accept(s) : pending.push(s)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    fake = new FakeServer(server, (server.address() as net.AddressInfo).port);
    for (const s of pending) fake.accept(s);
    return fake;
  }

  private accept(s: net.Socket): void {
    const c = new FakeConn(s);
    this.conns.push(c);
    if (this.serving) this.answer(c, this.conns.length - 1, this.serving);
    const w = this.waiters.shift();
    if (w) {
      this.taken++;
      w(c);
    }
  }

  /** The next connection not handed out yet. */
  nextConn(ms = 5000): Promise<FakeConn> {
    if (this.taken < this.conns.length) return Promise.resolve(this.conns[this.taken++]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no connection came')), ms);
      this.waiters.push((c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
  }

  /** Answers a hello like the real server: welcome, the given backlog, synced. */
  static welcome(c: FakeConn, hello: Packet, lastId: number, backlog: Packet[] = []): void {
    c.send({ type: 'welcome', username: hello.username, last_id: lastId, users: [hello.username], rooms: hello.rooms, server: 'fake', protocol: 1 });
    for (const m of backlog) c.send(m);
    c.send({ type: 'synced', last_id: lastId, missed: backlog.length });
  }

  /**
   * From now on, answers every new connection like a small server: `welcome`, then `afterWelcome`
   * (the test's script: a backlog, a hostile frame…), then `synced`; an ack for each message
   * (ids from 1001 up; welcome's last_id is the highest so far); a pong for each ping.
   */
  serve(afterWelcome: AfterWelcome = () => {}): void {
    this.serving = afterWelcome;
  }

  private answer(c: FakeConn, n: number, afterWelcome: AfterWelcome): void {
    c.onPacket = (p) => {
      if (p.type === 'hello') {
        c.send({ type: 'welcome', username: p.username, last_id: this.nextId, users: [p.username], rooms: p.rooms, server: 'fake', protocol: 1 });
        afterWelcome(c, n, p);
        c.send({ type: 'synced', last_id: this.nextId, missed: 0 });
      } else if (p.type === 'message') {
        c.send({ type: 'ack', uid: p.uid, id: ++this.nextId, timestamp: Date.now() / 1000 });
      } else if (p.type === 'ping') {
        c.send({ type: 'pong' });
      }
    };
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
