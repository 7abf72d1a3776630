/**
 * A WebSocket as a MessageConn: one text message is one protocol frame (plain JSON, no newline),
 * so the server core (src/server/session.ts) handles it exactly as a plain TCP line.
 *
 * The same limits hold as over TCP: a message over maxFrameBytes is `too_large` (and nothing more
 * is read), and output piling up past maxSendQueue (ws's bufferedAmount: its queue plus the
 * socket's) reports an overflow, so a slow browser is cut off instead of growing our memory.
 */
import type { WebSocket, RawData } from 'ws';
import { nextConnId, type FrameConnEvents, type FrameConnOptions, type MessageConn } from '../net/frame-conn.js';

export class WsConn implements MessageConn {
  readonly id = nextConnId();
  readonly transport = 'web' as const;
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  framesOut = 0;
  private closed = false;
  private ending = false;
  private stopped = false;
  private overflowed = false;
  /** Sends handed to ws whose callback has not come yet (written to the socket or failed). */
  private unsent = 0;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    private readonly opts: FrameConnOptions,
    private readonly on: FrameConnEvents,
  ) {
    ws.on('message', (data: RawData) => this.onMessage(data));
    ws.on('error', () => {
      /* 'close' follows */
    });
    ws.on('close', (code: number) => {
      this.closed = true;
      this.releaseDrainWaiters();
      this.on.close(code !== 1000 && code !== 1001 && code !== 1005);
    });
  }

  private onMessage(data: RawData): void {
    if (this.stopped) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.bytesIn += buf.length;
    if (buf.length > this.opts.maxFrameBytes) {
      this.stopReading();
      this.on.oversize();
      return;
    }
    this.framesIn++;
    this.on.frame(buf);
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount;
  }

  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Sends one encoded frame; its trailing newline is TCP framing, not part of the message. */
  send(frame: Buffer): boolean {
    if (this.closed || this.ending || this.overflowed) return false;
    const body = frame.length > 0 && frame[frame.length - 1] === 0x0a ? frame.subarray(0, frame.length - 1) : frame;
    const pending = this.ws.bufferedAmount + body.length;
    if (pending > this.opts.maxSendQueue) {
      this.overflowed = true;
      this.on.overflow(pending);
      return false;
    }
    this.unsent++;
    this.framesOut++;
    this.bytesOut += body.length;
    this.ws.send(body, { binary: false }, () => {
      this.unsent--;
      if (this.unsent === 0 && this.ws.bufferedAmount === 0) this.releaseDrainWaiters();
    });
    return true;
  }

  drained(): Promise<void> {
    if (this.closed || this.unsent === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private releaseDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  pause(): void {
    if (!this.closed) this.ws.pause();
  }

  resume(): void {
    if (!this.stopped && !this.closed) this.ws.resume();
  }

  stopReading(): void {
    this.stopped = true;
    if (!this.closed) this.ws.pause();
  }

  /** Sends what is queued and a close frame; terminates after `graceMs` if the browser does not answer. */
  end(graceMs = 2000): void {
    if (this.closed || this.ending) return;
    this.stopped = true;
    this.ending = true;
    this.ws.resume();
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), graceMs).unref();
  }

  destroy(): void {
    this.stopped = true;
    this.ws.terminate();
  }
}
