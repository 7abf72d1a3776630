/**
 * A WebSocket as a MessageConn: one text message is one protocol frame (plain JSON, no newline),
 * so the server core (src/server/session.ts) handles it exactly as a plain TCP line.
 *
 * The same limits hold as over TCP: a message over maxFrameBytes is `too_large` (and nothing more
 * is read), and output piling up past maxSendQueue (ws's bufferedAmount: its queue plus the
 * socket's) reports an overflow, so a slow browser is cut off instead of growing our memory.
 */
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import { nextConnId, type FrameConnEvents, type FrameConnOptions, type MessageConn } from '../net/frame-conn.js';

export class WsConn implements MessageConn {
  readonly id = nextConnId();
  readonly transport = 'web' as const;
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  framesOut = 0;
  /** One WebSocket message is one whole frame: nothing is ever half-read. */
  readonly partialIn = 0;
  private closed = false;
  private ending = false;
  private stopped = false;
  private overflowed = false;
  /** Frames of this tick, sent together under one cork: one write for a fan-out burst, as over TCP. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private drainWaiters: Array<() => void> = [];
  private drainHooked = false;

  constructor(
    private readonly ws: WebSocket,
    /** The upgraded socket under `ws`, corked around a tick's frames and watched for 'drain'. */
    private readonly raw: Socket,
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
      this.queue = [];
      this.queuedBytes = 0;
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
    return this.queuedBytes + this.ws.bufferedAmount;
  }

  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Queues one encoded frame; its trailing newline is TCP framing, not part of the message. */
  send(frame: Buffer): boolean {
    if (this.closed || this.ending || this.overflowed) return false;
    const body = frame.length > 0 && frame[frame.length - 1] === 0x0a ? frame.subarray(0, frame.length - 1) : frame;
    // As over TCP, only output piling up while the socket is not draining counts: one commit's
    // fan-out may pass the limit in a single tick for a reader that keeps up.
    const pending = this.queuedBytes + body.length + this.ws.bufferedAmount;
    if (this.raw.writableNeedDrain && pending > this.opts.maxSendQueue) {
      this.overflowed = true;
      this.on.overflow(pending);
      return false;
    }
    if (this.queue.length === 0) queueMicrotask(() => this.flush());
    this.queue.push(body);
    this.queuedBytes += body.length;
    this.framesOut++;
    this.bytesOut += body.length;
    return true;
  }

  private flush(): void {
    const q = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.closed || q.length === 0) return;
    this.raw.cork();
    for (const body of q) this.ws.send(body, { binary: false });
    this.raw.uncork();
    if (!this.raw.writableNeedDrain) this.releaseDrainWaiters();
    else if (!this.drainHooked) {
      this.drainHooked = true;
      this.raw.once('drain', () => {
        this.drainHooked = false;
        this.releaseDrainWaiters();
      });
    }
  }

  /** Resolves when everything queued has been handed to the kernel (or the connection closed). */
  drained(): Promise<void> {
    if (this.closed || (this.queue.length === 0 && !this.raw.writableNeedDrain)) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      if (this.queue.length === 0 && !this.drainHooked) {
        this.drainHooked = true;
        this.raw.once('drain', () => {
          this.drainHooked = false;
          this.releaseDrainWaiters();
        });
      }
    });
  }

  private releaseDrainWaiters(): void {
    if (this.queue.length > 0) return;
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
    this.flush();
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
