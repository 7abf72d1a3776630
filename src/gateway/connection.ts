/**
 * One classic board connection (docs/classic-board.md, "Connections"): requests are answered
 * one at a time, in order. Without KEEP% the server answers the requests that arrived with the
 * first complete one and closes, as the original did (its sample client reads until the server
 * closes); KEEP% makes the connection persistent until the client closes or stays idle.
 *
 * Timeouts: an unterminated request (or, before the first request, silence) is waited for up to
 * requestTimeoutMs, then ERRTimeout!% and close; a kept-alive connection idle for idleTimeoutMs
 * is closed; a client that stops reading our answers for idleTimeoutMs is dropped.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ClassicSplitter, answer, parseRequest, trimLeadingNewlines, type AnswerName, type ClassicRequest } from '../protocol/classic.js';
import type { Board } from './board.js';
import type { ClassicOptions } from './config.js';
import type { BoardTraceSink, BoardTraced } from './trace.js';
import { CLASSIC_PREFIX } from '../auth/names.js';

/** Timeouts run on the monotonic clock; the injected clock only stamps stored messages. */
const mono = (): number => performance.now();

type Item = ClassicRequest | { type: 'overload' } | { type: 'timeout' };

export interface ConnectionDeps {
  board: Board;
  opts: Readonly<ClassicOptions>;
  log: Logger;
  /** The peer's address (IPv4-mapped IPv6 unwrapped), for the `classic@` username. */
  address: string;
  /** Takes one request token from the peer address's rate limit. */
  take: () => boolean;
  onClose: () => void;
  /** `b1`, `b2`…: this connection in the trace. */
  id?: string;
  /** Frame tracing (`--trace`); null or absent when off. */
  trace?: BoardTraceSink | null;
}

export class ClassicConnection implements BoardTraced {
  private readonly splitter = new ClassicSplitter();
  private readonly queue: Item[] = [];
  readonly remote: string;
  readonly id: string;
  private readonly trace: BoardTraceSink | null;
  /** The unterminated request at the end has been traced (answered by a timeout, or the client left). */
  private pendingTraced = false;
  private ignoredTraced = false;
  /** A timeout was queued: what comes after it is not a second request. */
  private timedOut = false;
  /** KEEP% was asked for: answer everything until the client closes or idles. */
  private keep = false;
  /** A complete request has arrived (before that, silence counts against the request timeout). */
  private started = false;
  /** No more input is wanted: close once the queue is answered. */
  private finishing = false;
  private busy = false;
  private closed = false;
  private ended = false;
  /** When the request now waiting for its `%` began (or the connection, before any request). */
  private waitingSince: number;
  private lastActive: number;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  /** An unexpected exception ended this connection (logged once). */
  private faulted = false;
  /** Resolves once the socket is closed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly socket: Socket, private readonly d: ConnectionDeps, first: Buffer) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.remote = `${d.address}:${socket.remotePort ?? 0}`;
    this.id = d.id ?? 'b';
    this.trace = d.trace ?? null;
    this.waitingSince = this.lastActive = mono();
    // Answers may still be on their way (a POST waits for its commit) when the client half-closes.
    socket.allowHalfOpen = true;
    socket.setNoDelay(true);
    // Every way in (data, end, close, timers) goes through guard(): a fault stays in this connection.
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('end', () => this.guard(() => this.onEnd()));
    socket.on('error', () => {
      /* 'close' follows; a reset is a normal end for a board client */
    });
    socket.on('close', () => this.guard(() => this.onClose()));
    this.guard(() => {
      if (first.length > 0) this.onData(first);
      else this.arm();
    });
  }

  /** Runs `fn`; an exception from it ends this connection alone (see `fault`). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fault(err);
    }
  }

  /**
   * An exception that no rule of the board explains (a bug): answered the way the board answers
   * a failure it knows (ERRServer Error%), then this connection is closed; logged once with its
   * stack. Everyone else is served on. Never throws.
   */
  private fault(err: unknown): void {
    if (this.faulted) return;
    this.faulted = true;
    try {
      this.d.log.error({ err, remote: this.remote }, 'unexpected error; closing this classic connection');
    } catch {
      /* a logger that throws must not turn one fault into a crash */
    }
    try {
      this.queue.length = 0;
      this.clearTimer();
      if (!this.closed && !this.socket.destroyed && !this.socket.writableEnded) this.socket.write(answer('serverError'));
      this.finish();
    } catch {
      try {
        this.socket.destroy();
      } catch {
        /* nothing more can be done for this connection */
      }
    }
  }

  get username(): string {
    return CLASSIC_PREFIX + this.d.address;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    // After the last request it will answer, the server keeps reading only to discard: closing a
    // socket with unread input makes the kernel send a reset, which can destroy our answer.
    if (this.finishing || this.closed) {
      if (this.trace !== null) this.traceIgnored(chunk);
      return;
    }
    this.lastActive = mono();
    const hadPending = this.splitter.pending > 0;
    const r = this.splitter.push(chunk);
    if (r.requests.length === 0 && !r.overloaded) {
      if (!hadPending && this.started) this.waitingSince = this.lastActive;
      this.arm();
      return;
    }
    let reqs = r.requests.map((q) => parseRequest(this.keep ? trimLeadingNewlines(q) : q));
    if (!this.keep) {
      const k = reqs.findIndex((q) => q.type === 'keep');
      if (k !== -1) {
        this.keep = true;
        this.splitter.trimNewlines();
        // Requests after KEEP% in the same read get the kept connection's leniency too.
        reqs = [...reqs.slice(0, k + 1), ...r.requests.slice(k + 1).map((q) => parseRequest(trimLeadingNewlines(q)))];
      } else {
        if (this.trace !== null) this.traceRequests(r.requests, reqs);
        // As the original: what came with the first complete request is answered, the rest
        // (a partial request, an overflow behind it) is not read.
        this.finishing = true;
        this.queue.push(...reqs);
        if (reqs.length === 0) this.queue.push({ type: 'overload' });
        this.started = true;
        this.pump();
        return;
      }
    }
    this.started = true;
    if (this.trace !== null) this.traceRequests(r.requests, reqs);
    this.queue.push(...reqs);
    if (r.overloaded) {
      this.queue.push({ type: 'overload' });
      this.finishing = true;
    }
    this.waitingSince = this.lastActive;
    if (this.queue.length > this.d.opts.maxQueuedRequests && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.pump();
  }

  private onEnd(): void {
    this.ended = true;
    if (this.finishing || this.closed) return;
    // No more bytes will come: a request still cut off (or none at all yet) cannot complete.
    if (this.splitter.pending > 0 || !this.started) {
      this.timedOut = true;
      this.queue.push({ type: 'timeout' });
    }
    this.finishing = true;
    this.pump();
  }

  /**
   * A request sent after the one exchange of a connection that is not kept (a second request on
   * the same connection): the board never reads it, as the original; the trace says so, once.
   * Line breaks alone (after a `%`) are harmless and not traced; nor is what follows a timeout.
   */
  private traceIgnored(chunk: Buffer): void {
    if (this.ignoredTraced || this.keep || !this.started || this.timedOut || this.closed) return;
    if (!/[^\r\n\t ]/.test(chunk.toString('latin1'))) return;
    this.ignoredTraced = true;
    this.trace!.boardIgnored(this, chunk);
  }

  private traceRequests(bodies: Buffer[], reqs: ClassicRequest[]): void {
    for (let i = 0; i < reqs.length; i++) this.trace!.boardRequest(this, bodies[i]!, reqs[i]!);
  }

  private onClose(): void {
    if (this.trace !== null && !this.pendingTraced && this.splitter.pending > 0) {
      this.pendingTraced = true;
      this.trace.boardClosed(this, this.splitter.peek());
    }
    this.closed = true;
    this.clearTimer();
    this.queue.length = 0;
    this.d.onClose();
    this.resolveDone();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Arms the one timer that matters while waiting for input. */
  private arm(): void {
    this.clearTimer();
    if (this.closed || this.busy || this.finishing) return;
    const waitingForRequest = this.splitter.pending > 0 || !this.started;
    const deadline = waitingForRequest ? this.waitingSince + this.d.opts.requestTimeoutMs : this.lastActive + this.d.opts.idleTimeoutMs;
    this.timer = setTimeout(() => this.guard(() => this.onTimer(waitingForRequest)), Math.max(0, deadline - mono()));
    this.timer.unref();
  }

  private onTimer(waitingForRequest: boolean): void {
    this.timer = null;
    if (this.closed || this.busy || this.finishing) return;
    this.finishing = true;
    if (waitingForRequest) {
      this.d.log.debug({ remote: this.remote, pending: this.splitter.pending }, 'request timed out');
      this.timedOut = true;
      this.queue.push({ type: 'timeout' });
    } else {
      this.d.log.debug({ remote: this.remote }, 'idle connection closed');
    }
    this.pump();
  }

  /** Answers the queue in order, one request at a time. */
  private pump(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    this.clearTimer();
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.closed) {
        await this.handle(this.queue.shift()!);
        this.lastActive = mono();
        if (this.paused && !this.finishing && this.queue.length <= this.d.opts.maxQueuedRequests / 2) {
          this.paused = false;
          this.socket.resume();
        }
      }
    } catch (err) {
      this.fault(err);
    }
    this.busy = false;
    // Guarded: a throw here would reject run()'s promise, which nobody awaits (an unhandled
    // rejection ends the process).
    this.guard(() => {
      if (this.closed || this.faulted) return;
      if (this.finishing) this.finish();
      else this.arm();
    });
  }

  private async handle(item: Item): Promise<void> {
    switch (item.type) {
      case 'overload':
        return this.send('overloaded');
      case 'timeout':
        return this.send('timeout');
      case 'keep':
        return this.send('keepAlive');
    }
    if (!this.d.take()) return this.send('tooManyRequests');
    switch (item.type) {
      case 'post':
        return this.send(await this.d.board.post(item.text, this.d.address, this.remote));
      case 'get': {
        // Pieces are kept for the trace only when tracing.
        const traced: Buffer[] | null = this.trace !== null ? [] : null;
        for await (const piece of this.d.board.list(item.newest)) {
          if (this.closed) return;
          const b = Buffer.from(piece, 'utf8');
          traced?.push(b);
          await this.write(b);
        }
        if (traced !== null) this.trace!.boardList(this, Buffer.concat(traced));
        return;
      }
      case 'invalid-utf8':
        return this.send('invalidUtf8');
      case 'unknown':
        return this.send('unknown');
    }
  }

  private send(name: AnswerName): Promise<void> {
    if (this.trace !== null) {
      const pending = name === 'timeout' && !this.pendingTraced ? this.splitter.peek() : null;
      if (pending !== null) this.pendingTraced = true;
      this.trace.boardAnswer(this, name, pending);
    }
    return this.write(answer(name));
  }

  /** Writes, then waits for the socket to drain if its buffer is full; a reader stalled past idleTimeoutMs is dropped. */
  private write(buf: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    if (this.socket.write(buf)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(stall);
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      const stall = setTimeout(() => {
        this.d.log.info({ remote: this.remote }, 'client stopped reading; dropped');
        this.socket.destroy();
      }, this.d.opts.idleTimeoutMs);
      stall.unref();
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Ends our side; a client that does not close in turn is dropped after lingerMs. */
  private finish(): void {
    if (this.closed) return;
    this.finishing = true;
    this.clearTimer();
    if (this.paused) this.socket.resume();
    this.socket.end();
    if (this.ended) return;
    const t = setTimeout(() => this.socket.destroy(), this.d.opts.lingerMs);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Server shutdown: answers nothing more than the request in hand, then closes. */
  shutdown(): void {
    if (this.closed) return;
    this.queue.length = 0;
    this.finishing = true;
    if (!this.busy) this.finish();
  }
}
