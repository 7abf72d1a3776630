/**
 * One Lab-93 connection: awaiting hello, syncing (catch-up streaming, live messages held back),
 * ready, closed. Frames are handled strictly in order; a handler that returns a promise pauses
 * reading until it settles, so a fast client cannot overtake its own hello.
 */
import type { Logger } from 'pino';
import { ProtocolError, type ErrorCode } from '../protocol/errors.js';
import { decodeFrame, encodeFrame, type EncodedPacket, type FrameMode } from '../protocol/frame.js';
import { decodeClientPacket, type ServerPacket } from '../protocol/packets.js';
import { diagnoseFrame, HINTS, nearMiss } from '../protocol/hints.js';
import type { MessageConn } from '../net/frame-conn.js';
import { TokenBucket } from './rate-limit.js';
import type { ServerContext } from './context.js';
import { HANDLERS } from './handlers/index.js';

/** What to do about a frame that could not be read, when no commoner mistake explains it. */
const FRAMING: Record<FrameMode, string> = {
  base64: 'send each packet as the base64 of its JSON, ended by \\n (docs/protocol.md, "Framing")',
  plain: 'send each packet as one line of JSON, ended by \\n (docs/protocol.md, "Framing")',
};

export type SessionState = 'hello' | 'syncing' | 'ready' | 'closed';

export class Session {
  readonly id: string;
  username: string | null = null;
  quiet = false;
  readonly rooms = new Set<string>();
  state: SessionState = 'hello';
  /** Live messages that arrive while catch-up is streaming; sent after `synced`. */
  held: Array<{ enc: EncodedPacket; id: number }> = [];
  /** Highest id sent by catch-up: live messages at or below it were already delivered. */
  syncedUpTo = 0;
  inflight = 0;
  errors = 0;
  /** Highest message id written to this connection. */
  deliveredId = 0;
  /** deliveredId when our outstanding ping left; its pong proves the client has all up to it. */
  pingMark: number | null = null;
  lastPingAt = 0;
  /** Highest id this connection's client has confirmed (by a pong). */
  confirmedId = 0;
  lastSeen: number;
  pinged = false;
  readonly openedAt: number;
  readonly bucket: TokenBucket;
  private inbox: Buffer[] = [];
  private busy = false;
  private pausedForInflight = false;
  /** An unexpected exception ended this session (logged once). */
  private faulted = false;
  closeReason = '';
  /** The latest protocol errors sent (newest last, at most 5), for the teacher's page. */
  readonly recentErrors: Array<{ code: ErrorCode; message: string; at: number }> = [];

  constructor(
    readonly ctx: ServerContext,
    readonly conn: MessageConn,
    readonly mode: FrameMode,
  ) {
    this.id = conn.id;
    this.lastSeen = this.openedAt = ctx.now();
    this.bucket = new TokenBucket(ctx.opts.ratePerSecond, ctx.opts.rateBurst, ctx.now);
  }

  /**
   * This connection's logger, made when a line is logged rather than kept: a retained pino child
   * per session cost kilobytes per idle connection (docs/performance.md, memory).
   */
  get log(): Logger {
    return this.ctx.log.child(this.username === null ? { conn: this.id, remote: this.conn.remote } : { conn: this.id, remote: this.conn.remote, user: this.username });
  }

  // ---- inbound ----------------------------------------------------------------------------
  /**
   * One line from the connection. Called from the socket's 'data' event: whatever happens while
   * handling it stays in this session (see `fault`), it never escapes into the event loop.
   */
  onFrame(line: Buffer): void {
    this.guard(() => {
      this.lastSeen = this.ctx.now();
      this.pinged = false;
      if (this.busy) {
        this.inbox.push(line);
        return;
      }
      this.handleLine(line);
      this.drainInbox();
    });
  }

  private drainInbox(): void {
    while (!this.busy && this.inbox.length > 0 && this.state !== 'closed') this.handleLine(this.inbox.shift()!);
  }

  private handleLine(line: Buffer): void {
    if (this.state === 'closed') return;
    if (this.ctx.trace !== null) this.ctx.trace.frameIn(this, line);
    const decoded = decodeFrame(line, this.mode);
    if (!decoded.ok) {
      // The message says what to do (docs/teaching.md, "Hints"); the code stays what programs read.
      const hint = diagnoseFrame(line, this.mode);
      const todo = hint !== null ? HINTS[hint].hint : decoded.code === 'bad_frame' ? FRAMING[this.mode] : null;
      this.fail(new ProtocolError(decoded.code, todo === null ? decoded.message : `${decoded.message}: ${todo}`, { fatal: this.state === 'hello' }));
      return;
    }
    const parsed = decodeClientPacket(decoded.value, this.ctx.opts.limits);
    if (!parsed.ok) {
      const miss = nearMiss(decoded.value, 'username') ?? nearMiss(decoded.value, 'content');
      const pe = miss === null ? parsed.error : new ProtocolError(parsed.error.code, `${parsed.error.message}; ${miss}`, parsed.error.uid !== undefined ? { uid: parsed.error.uid } : {});
      const uid = typeof decoded.value.uid === 'string' ? decoded.value.uid.slice(0, 64) : undefined;
      this.fail(this.state === 'hello' ? new ProtocolError(pe.code, pe.message, { fatal: true }) : uid && !pe.uid ? new ProtocolError(pe.code, pe.message, { uid }) : pe);
      return;
    }
    const packet = parsed.packet;
    const handler = HANDLERS[packet.type];
    if (this.state === 'hello' && !handler.preHello) {
      this.fail(new ProtocolError('not_hello', `the first packet must be hello, not ${packet.type}: ${HINTS['message-before-hello'].hint}`, { fatal: true }));
      return;
    }
    if (this.state !== 'hello' && !handler.postHello) {
      this.fail(new ProtocolError('already_hello', 'hello was already sent on this connection: send it once, then join or leave rooms'));
      return;
    }
    let result: void | Promise<void>;
    try {
      result = handler.handle(this.ctx, this, packet as never);
    } catch (err) {
      this.handlerError(err);
      return;
    }
    if (result instanceof Promise) {
      this.busy = true;
      this.conn.pause();
      result
        .catch((err: unknown) => this.guard(() => this.handlerError(err)))
        .finally(() =>
          // A rejection from here would be unhandled, which ends the process: guarded too.
          this.guard(() => {
            this.busy = false;
            if (this.state === 'closed') return;
            if (!this.pausedForInflight) this.conn.resume();
            this.drainInbox();
          }),
        );
    }
  }

  private handlerError(err: unknown): void {
    if (err instanceof ProtocolError) this.fail(err);
    else this.fault(err);
  }

  /** Runs `fn`; an exception from it ends this session alone (see `fault`). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fault(err);
    }
  }

  /**
   * The session boundary (docs/architecture.md, "A fault stays in its session"): an exception
   * that is not a ProtocolError is a bug. It closes this connection with `internal`, is logged
   * once with its stack, and the process goes on serving everyone else. Never throws.
   */
  fault(err: unknown): void {
    if (this.faulted) return;
    this.faulted = true;
    try {
      this.log.error({ err }, 'unexpected error; closing this connection');
    } catch {
      /* a logger that throws must not turn one fault into a crash */
    }
    try {
      this.close('internal error: the server failed on what this connection sent; reconnect (the operator finds it in the server log)', { error: 'internal' });
    } catch {
      // Closing failed half-way (the fault may sit in the bookkeeping): drop the socket, and make
      // sure nothing more is handled for it.
      this.state = 'closed';
      try {
        this.conn.destroy();
      } catch {
        /* nothing more can be done for this connection */
      }
    }
  }

  /** Called around each message's commit: past maxInflight we stop reading this connection. */
  inflightChanged(delta: number): void {
    this.inflight += delta;
    if (!this.pausedForInflight && this.inflight >= this.ctx.opts.maxInflight) {
      this.pausedForInflight = true;
      this.conn.pause();
    } else if (this.pausedForInflight && this.inflight < this.ctx.opts.maxInflight / 2) {
      this.pausedForInflight = false;
      if (!this.busy) this.conn.resume();
    }
  }

  // ---- outbound ---------------------------------------------------------------------------
  // Every frame out goes through reply, sendShared or sendError, so the trace sees each one;
  // with tracing off that costs one null check.
  reply(packet: ServerPacket): void {
    if (this.ctx.trace !== null) this.ctx.trace.frameOut(this, packet);
    this.conn.send(encodeFrame(packet, this.mode));
  }

  /** Sends a packet encoded once for many connections (a fan-out, a presence change). */
  sendShared(enc: EncodedPacket): boolean {
    if (this.ctx.trace !== null) this.ctx.trace.frameOut(this, enc.packet);
    return this.conn.send(enc.frame(this.mode));
  }

  /** An error frame, traced as an error (with its hint) and as the frame it is. */
  private sendError(packet: ServerPacket & { type: 'error' }): void {
    if (this.ctx.trace !== null) this.ctx.trace.error(this, packet.code, packet.message);
    this.reply(packet);
  }

  /** Sends an error frame; fatal errors, and one error too many, close the connection. */
  fail(err: ProtocolError): void {
    if (this.state === 'closed') return;
    this.errors++;
    if (this.recentErrors.push({ code: err.code, message: err.message, at: this.ctx.now() }) > 5) this.recentErrors.shift();
    const packet: ServerPacket = err.uid !== undefined ? { type: 'error', code: err.code, message: err.message, uid: err.uid } : { type: 'error', code: err.code, message: err.message };
    if (err.retryAfterMs !== undefined) packet.retry_after_ms = err.retryAfterMs;
    this.sendError(packet);
    this.log.info({ code: err.code }, `rejected: ${err.message}`);
    if (err.fatal) this.close(err.code);
    else if (this.errors >= this.ctx.opts.maxErrors) this.close('too many errors');
  }

  /** Delivers a relayed message (encoded once for all receivers). */
  deliver(enc: EncodedPacket, id: number): void {
    if (this.state === 'syncing') {
      this.held.push({ enc, id });
      return;
    }
    // At or below syncedUpTo, catch-up sent it already: a live copy can arrive after `synced`
    // when its commit was visible to our last_id read before its fan-out reached us (a shared
    // store read over the network, or a message from another server of a cluster).
    if (this.state !== 'ready' || id <= this.syncedUpTo) return;
    if (this.sendShared(enc) && id > this.deliveredId) this.deliveredId = id;
  }

  /**
   * Sends a ping that doubles as a delivery receipt: TCP keeps order, so the client's pong
   * proves that everything written before the ping reached it (docs/protocol.md, "Cursors").
   */
  sendPing(): void {
    this.pingMark = this.deliveredId;
    this.lastPingAt = this.ctx.now();
    this.reply({ type: 'ping' });
  }

  /** A pong arrived: the cursor may advance to what was written before our ping. */
  onPong(): void {
    if (this.pingMark !== null && this.username !== null) {
      this.confirmedId = Math.max(this.confirmedId, this.pingMark);
      this.ctx.markDelivered(this.username, this.pingMark);
    }
    this.pingMark = null;
  }

  /** Ends catch-up: sends what was held back, skipping what catch-up already covered. */
  finishSync(): void {
    this.state = 'ready';
    if (this.syncedUpTo > this.deliveredId) this.deliveredId = this.syncedUpTo;
    this.sendPing();
    const held = this.held;
    this.held = [];
    for (const h of held) if (h.id > this.syncedUpTo) this.deliver(h.enc, h.id);
  }

  /** Closes once: sends `code` as an error first when it is a protocol error code. */
  close(reason: string, opts: { error?: ErrorCode; bye?: string } = {}): void {
    if (this.state === 'closed') return;
    if (opts.error) this.sendError({ type: 'error', code: opts.error, message: reason });
    if (opts.bye !== undefined) this.reply({ type: 'bye', reason: opts.bye });
    this.markClosed(reason);
    this.conn.end();
  }

  /**
   * No hello within the limit. Bytes of a frame begun and never ended mean the client forgot the
   * newline and the server is still waiting for it: the error says so (docs/teaching.md, "Hints").
   */
  helloTimedOut(limitMs: number): void {
    this.close(`no hello within ${limitMs} ms; ${this.unended() ?? HINTS['message-before-hello'].hint}`, { error: 'hello_timeout' });
  }

  /** Silent for twice the idle timeout, our ping unanswered (or its pong never ended). */
  idleTimedOut(silentMs: number): void {
    this.close(`silent for ${Math.round(silentMs / 1000)} s; ${this.unended() ?? HINTS['no-pong'].hint}`, { error: 'idle_timeout' });
  }

  /** What to say when a frame was begun and never ended: the server still waits for its newline. */
  private unended(): string | null {
    const pending = this.conn.partialIn;
    return pending > 0 ? `${pending} bytes arrived with no \\n after them, so no frame ended: ${HINTS['no-newline'].hint}` : null;
  }

  /** Drops the connection at once, nothing more written (a reader too slow to be written to). */
  abort(reason: string): void {
    if (this.state === 'closed') return;
    this.markClosed(reason);
    this.conn.destroy();
  }

  /** The socket is gone (peer closed, reset, or we destroyed it). Called from its 'close' event: never throws. */
  onConnClosed(): void {
    try {
      if (this.state !== 'closed') this.markClosed(this.closeReason || 'peer closed');
      this.log.info({ reason: this.closeReason, ms: this.ctx.now() - this.openedAt, bytesIn: this.conn.bytesIn, bytesOut: this.conn.bytesOut }, 'connection closed');
    } catch (err) {
      this.state = 'closed';
      if (!this.faulted) {
        this.faulted = true;
        try {
          this.log.error({ err }, 'unexpected error while closing the connection');
        } catch {
          /* see fault() */
        }
      }
    }
  }

  private markClosed(reason: string): void {
    this.closeReason = reason;
    this.ctx.detach(this);
    this.state = 'closed';
  }
}
