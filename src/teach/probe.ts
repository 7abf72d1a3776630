/**
 * The checker's end of one TCP connection to a program under test: sends packets in either
 * framing, reads frames with deadlines, and writes every frame, decoded, to a shared transcript.
 */
import net from 'node:net';
import { LineSplitter } from '../protocol/line-splitter.js';
import type { WireLine } from './report.js';

export type Packet = Record<string, unknown>;

/** The transcript of one case: every connection's frames in order. */
export class Transcript {
  readonly lines: WireLine[] = [];
  /** Connections opened during the case, closed when it ends whatever happened. */
  readonly open = new Set<{ close(): void }>();
  closeAll(): void {
    for (const c of this.open) c.close();
    this.open.clear();
  }
  add(conn: string, dir: WireLine['dir'], text: string): void {
    this.lines.push({ conn, dir, text: text.length > 300 ? text.slice(0, 300) + '…' : text });
  }
  /** The last lines, which is where a failure shows. */
  tail(n = 14): WireLine[] {
    return this.lines.slice(-n);
  }
}

/**
 * Board bytes as a person reads them: the text as it is (a `\\` in a Python repr stays two
 * backslashes, quotes stay quotes), only control characters escaped, so a stray line break shows.
 */
export function visibleText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A line as a person reads it: base64 decoded when it is base64 of text, otherwise as sent. */
export function decodeLine(line: Buffer): string {
  const text = line.toString('latin1');
  if (/^[A-Za-z0-9+/]+=*$/.test(text) && text.length % 4 === 0) {
    const raw = Buffer.from(text, 'base64');
    if (raw.toString('base64') === text) return raw.toString('utf8');
  }
  return JSON.stringify(line.toString('utf8')).slice(1, -1);
}

function parseLine(line: Buffer, mode: 'base64' | 'plain'): Packet | null {
  try {
    const json = mode === 'base64' ? Buffer.from(line.toString('latin1').trim(), 'base64').toString('utf8') : line.toString('utf8');
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Packet) : null;
  } catch {
    return null;
  }
}

export class Probe {
  private readonly queue: Array<Packet | null> = [];
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(
    private readonly sock: net.Socket,
    readonly name: string,
    readonly mode: 'base64' | 'plain',
    private readonly t: Transcript,
  ) {
    const splitter = new LineSplitter(1 << 20);
    sock.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk).lines) {
        t.add(name, '<', mode === 'base64' ? decodeLine(line) : line.toString('utf8'));
        this.queue.push(parseLine(line, mode));
      }
      this.wake();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      t.add(name, '*', 'connection closed by the program');
      this.wake();
    });
  }

  static open(host: string, port: number, name: string, t: Transcript, mode: 'base64' | 'plain' = 'base64', timeoutMs = 3000): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`could not connect to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.setNoDelay(true);
        const probe = new Probe(sock, name, mode, t);
        t.open.add(probe);
        resolve(probe);
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Sends a packet as one frame in this connection's framing. */
  send(p: Packet): void {
    const json = JSON.stringify(p);
    this.t.add(this.name, '>', json);
    this.sock.write(this.mode === 'plain' ? json + '\n' : Buffer.from(json).toString('base64') + '\n');
  }

  /** Sends bytes as they are (broken frames, split frames); `shown` is what the transcript says. */
  async sendRaw(bytes: Buffer, shown: string, pieces = 1): Promise<void> {
    this.t.add(this.name, '>', shown);
    if (pieces <= 1) {
      this.sock.write(bytes);
      return;
    }
    // One byte per write, each after the previous one left: the program reads them apart.
    for (let i = 0; i < bytes.length; i++) {
      await new Promise<void>((r) => this.sock.write(bytes.subarray(i, i + 1), () => setImmediate(r)));
    }
  }

  /** The next packet matching `want` (others are skipped), or null at the deadline or close. */
  async next(want: (p: Packet) => boolean = () => true, timeoutMs = 2000): Promise<Packet | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const p = this.queue.shift()!;
        if (p !== null && want(p)) return p;
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Packets of a type that arrive within `ms` (to show that something did NOT arrive). */
  async collect(type: string, ms: number): Promise<Packet[]> {
    const got: Packet[] = [];
    const end = Date.now() + ms;
    for (;;) {
      const p = await this.next((x) => x.type === type, Math.max(0, end - Date.now()));
      if (p === null) return got;
      got.push(p);
    }
  }

  /** Waits until the program closes the connection, or the deadline. */
  async waitClose(timeoutMs = 2000): Promise<boolean> {
    await this.next(() => false, timeoutMs);
    return this.closed;
  }

  close(): void {
    this.sock.destroy();
  }
}

export const byType = (type: string) => (p: Packet): boolean => p.type === type;
