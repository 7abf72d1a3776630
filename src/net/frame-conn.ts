/**
 * A message-oriented connection over a byte stream (TCP now, WebSocket later): frames in, frames
 * out, never a raw socket in the server core.
 *
 * Outbound: frames queued in one tick are written with one write (batching), the queue honours
 * `write() === false` by waiting for 'drain', and when the bytes pending (our queue plus the
 * socket's own buffer) pass `maxSendQueue` while the socket is not draining, the connection is
 * reported as overflowing, so a slow reader is cut off instead of making the server buffer
 * without bound. Memory per connection is thus bounded by the limit plus one tick's fan-out.
 */
import type { Socket } from 'node:net';
import { LineSplitter } from '../protocol/line-splitter.js';

export interface FrameConnOptions {
  maxFrameBytes: number;
  maxSendQueue: number;
}

export interface FrameConnEvents {
  frame(line: Buffer): void;
  /** A line passed the frame limit; nothing more will be read. */
  oversize(): void;
  /** Pending output passed the limit; the owner should close the connection. */
  overflow(pending: number): void;
  close(hadError: boolean): void;
}

/**
 * What the server core needs from a connection, whatever carries it: a FrameConn over TCP, or a
 * WebSocket (src/web/ws-conn.ts) where one message is one frame. The session never sees more.
 */
export interface MessageConn {
  readonly id: string;
  readonly remote: string;
  /** How the frames travel, for the teacher's page: a byte stream or WebSocket messages. */
  readonly transport: 'tcp' | 'web';
  bytesIn: number;
  bytesOut: number;
  /** Frames read and written (the teacher's page shows messages in and out). */
  framesIn: number;
  framesOut: number;
  readonly pendingBytes: number;
  /** Bytes of a frame begun but not ended (no `\n` yet): a client that forgot the newline waits forever. */
  readonly partialIn: number;
  readonly isClosed: boolean;
  send(frame: Buffer): boolean;
  drained(): Promise<void>;
  pause(): void;
  resume(): void;
  stopReading(): void;
  end(graceMs?: number): void;
  destroy(): void;
}

let nextId = 1;

/** A connection id unique in the process, whatever the transport. */
export function nextConnId(): string {
  return `c${nextId++}`;
}

/**
 * The last join of a tick, kept so that connections whose queues hold the very same frames (a
 * room's receivers after a fan-out: the same EncodedPacket buffers in the same order) share one
 * joined buffer instead of each copying the same bytes. Identity is checked frame by frame,
 * which costs far less than copying them; cleared after the tick's flushes so nothing is held.
 */
let lastParts: Buffer[] | null = null;
let lastJoined: Buffer | null = null;

function joinShared(parts: Buffer[], bytes: number): Buffer {
  if (lastParts !== null && lastParts.length === parts.length && lastJoined!.length === bytes) {
    let same = true;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] !== lastParts[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastJoined!;
  }
  if (lastParts === null) queueMicrotask(forgetShared);
  lastParts = parts;
  lastJoined = Buffer.concat(parts, bytes);
  return lastJoined;
}

function forgetShared(): void {
  lastParts = null;
  lastJoined = null;
}

export class FrameConn implements MessageConn {
  readonly id: string;
  readonly transport = 'tcp' as const;
  readonly remote: string;
  private readonly splitter: LineSplitter;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  private closed = false;
  private ending = false;
  private drainWaiters: Array<() => void> = [];
  private stopped = false;
  private overflowed = false;
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  framesOut = 0;

  constructor(
    readonly socket: Socket,
    private readonly opts: FrameConnOptions,
    private readonly on: FrameConnEvents,
  ) {
    this.id = nextConnId();
    this.remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown';
    this.splitter = new LineSplitter(opts.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {
      /* 'close' follows; errors such as ECONNRESET are a normal end for a chat connection */
    });
    socket.on('close', (hadError) => {
      this.closed = true;
      this.queue = [];
      this.queuedBytes = 0;
      this.releaseDrainWaiters();
      this.on.close(hadError);
    });
  }

  /** Feeds bytes that were read before this connection took over the socket (protocol sniffing). */
  feed(chunk: Buffer): void {
    this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.bytesIn += chunk.length;
    const res = this.splitter.push(chunk);
    for (const line of res.lines) {
      if (this.stopped) return;
      this.framesIn++;
      this.on.frame(line);
    }
    if (!res.ok) {
      this.stopped = true;
      this.socket.pause();
      this.on.oversize();
    }
  }

  /** Bytes waiting to reach the kernel: our queue plus the socket's buffer. */
  get pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  get partialIn(): number {
    return this.splitter.buffered;
  }

  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Queues one encoded frame (newline included). Returns false when the connection is closing. */
  send(frame: Buffer): boolean {
    if (this.closed || this.ending || this.overflowed) return false;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.framesOut++;
    // Only output piling up while the socket is not draining counts against the limit: one
    // commit's fan-out may exceed it in a single tick for a reader that keeps up perfectly well.
    const pending = this.queuedBytes + this.socket.writableLength;
    if (this.waitingDrain && pending > this.opts.maxSendQueue) {
      // Reported once: the owner destroys the socket, but 'close' comes later, and a fan-out
      // burst would otherwise report (and log) the same overflow for every further frame.
      this.overflowed = true;
      this.on.overflow(pending);
      return false;
    }
    if (!this.flushScheduled && !this.waitingDrain) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return true;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.queue.length === 0 || this.waitingDrain) return;
    const data = this.queue.length === 1 ? this.queue[0]! : joinShared(this.queue, this.queuedBytes);
    this.queue = [];
    this.queuedBytes = 0;
    this.bytesOut += data.length;
    if (!this.socket.write(data)) this.waitingDrain = true;
    else this.releaseDrainWaitersIfLow();
  }

  private onDrain(): void {
    this.waitingDrain = false;
    if (this.queue.length > 0) this.flush();
    this.releaseDrainWaitersIfLow();
  }

  private releaseDrainWaitersIfLow(): void {
    if (!this.waitingDrain && this.queue.length === 0) this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when everything queued has been handed to the kernel (or the connection closed). */
  drained(): Promise<void> {
    if (this.closed || (this.queue.length === 0 && !this.waitingDrain && !this.flushScheduled)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.stopped && !this.closed) this.socket.resume();
  }

  /** Stops reading; what is queued is still written. */
  stopReading(): void {
    this.stopped = true;
    this.socket.pause();
  }

  /** Writes what is queued, then half-closes; destroys after `graceMs` if the peer does not read. */
  end(graceMs = 2000): void {
    if (this.closed || this.ending) return;
    this.stopped = true;
    this.flush();
    this.ending = true;
    this.socket.end();
    // Keep reading (and discarding): the peer's FIN then closes the socket at once instead of
    // leaving it to the grace timer.
    this.socket.resume();
    const t = setTimeout(() => this.socket.destroy(), graceMs);
    t.unref();
  }

  destroy(): void {
    this.stopped = true;
    this.socket.destroy();
  }
}
