/**
 * A minimal protocol client for tests: real TCP, plain JSON lines or base64 frames,
 * and `next(type)` to await the next packet of a type (with a timeout, so a missing packet
 * fails the test instead of hanging it).
 */
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import { decodeFrame, encodeFrame, type FrameMode } from '../../src/protocol/frame.js';

export type Packet = Record<string, any>;

export class WireClient {
  readonly received: Packet[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closed = false;
  /** Answer the server's pings, as every real client must (tests of silence turn it off). */
  autoPong = true;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket, readonly mode: FrameMode) {
    const splitter = new LineSplitter(1 << 24);
    socket.on('data', (chunk: Buffer) => {
      const r = splitter.push(chunk);
      for (const line of r.lines) {
        const d = decodeFrame(line, mode);
        this.received.push(d.ok ? d.value : { type: '__undecodable__', raw: line.toString() });
        if (d.ok && d.value.type === 'ping' && this.autoPong && !socket.destroyed) socket.write(encodeFrame({ type: 'pong' }, mode));
      }
      this.wake();
    });
    socket.on('error', () => {});
    // Not events.once: that rejects when 'error' (say ECONNRESET) comes before 'close'.
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** `localAddress` picks the client's address, e.g. 127.0.0.2 to be another host on loopback. */
  static async connect(port: number, mode: FrameMode = 'plain', host = '127.0.0.1', localAddress?: string): Promise<WireClient> {
    const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    await once(socket, 'connect');
    return new WireClient(socket, mode);
  }

  /** The same over TLS (the server's certificate checked against `ca`, or not at all). */
  static async connectTls(port: number, mode: FrameMode = 'plain', opts: { ca?: string; host?: string } = {}): Promise<WireClient> {
    const socket = tls.connect({ port, host: opts.host ?? '127.0.0.1', ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }) });
    await once(socket, 'secureConnect');
    return new WireClient(socket, mode);
  }

  /** Connects and says hello; resolves after `synced` with the welcome and the backlog. */
  static async login(port: number, username: string, hello: Packet = {}, mode: FrameMode = 'plain'): Promise<{ c: WireClient; welcome: Packet; backlog: Packet[]; synced: Packet }> {
    const c = await WireClient.connect(port, mode);
    c.send({ type: 'hello', username, ...hello });
    const welcome = await c.next('welcome');
    const backlog: Packet[] = [];
    for (;;) {
      const p = await c.next((p) => p.type === 'message' || p.type === 'synced');
      if (p.type === 'synced') return { c, welcome, backlog, synced: p };
      backlog.push(p);
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(packet: Packet): void {
    this.socket.write(encodeFrame(packet, this.mode));
  }

  sendRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next packet (after the ones already taken) matching `what`; others before it are skipped. */
  async next(what: string | ((p: Packet) => boolean), timeoutMs = 3000): Promise<Packet> {
    const match = typeof what === 'string' ? (p: Packet) => p.type === what : what;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const p = this.received[this.cursor++]!;
        if (match(p)) return p;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${typeof what === 'string' ? what : 'a packet'}; got ${JSON.stringify(this.received.slice(-5))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : 'a packet'}; got ${JSON.stringify(this.received.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Every packet received so far of a type. */
  all(type: string): Packet[] {
    return this.received.filter((p) => p.type === type);
  }

  /** Waits until nothing new arrives for `quietMs`: for asserting that something did NOT come. */
  async settle(quietMs = 150): Promise<void> {
    let n = -1;
    while (n !== this.received.length) {
      n = this.received.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, 500))]);
    this.socket.destroy();
  }
}
