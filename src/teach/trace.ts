/**
 * The decoded trace (`lab93 server --trace [FILE]`): one JSON line per frame in and out, with
 * time, connection, address, username, direction, the decoded packet, and for errors the hint
 * of the hints catalogue. Message content is left out unless asked for (`--trace-content`).
 * `formatTraceLine` shows such a line readably (`lab93 trace`).
 */
import { decodeFrame, type FrameMode } from '../protocol/frame.js';
import type { TraceSink } from '../server/context.js';
import { diagnoseBoard, diagnoseBoardEnd, diagnoseFrame, HINTS, nearMiss, type HintId } from '../protocol/hints.js';
import { ANSWERS, type ClassicRequest } from '../protocol/classic.js';
import type { BoardTraceSink, BoardTraced } from '../gateway/trace.js';
import { visibleText } from './probe.js';

export interface TraceRecord {
  time: string;
  conn: string;
  address: string;
  username: string | null;
  dir: 'in' | 'out' | 'error';
  packet?: unknown;
  /** An inbound line that is not a frame, as text. */
  raw?: string;
  code?: string;
  message?: string;
  hint?: string;
  /** Set on the classic board's records, which carry `request` (in) or `answer` (out) instead of `packet`. */
  proto?: 'board';
  request?: string;
  answer?: string;
}

interface Traced { id: string; username: string | null; mode: FrameMode; conn: { remote: string; partialIn?: number } }

function hide(p: unknown, content: boolean): unknown {
  if (content || p === null || typeof p !== 'object') return p;
  const o = p as Record<string, unknown>;
  if (typeof o.content === 'string') return { ...o, content: `(${Buffer.byteLength(o.content)} bytes)` };
  if (Array.isArray(o.messages)) return { ...o, messages: o.messages.map((m) => hide(m, false)) };
  return o;
}

/**
 * A hint for an error, from the error and the line that caused it; `pending` is the bytes of a
 * frame begun but not ended when the error was sent.
 */
export function hintFor(code: string, line: Buffer | null, mode: FrameMode, pending = 0): string | null {
  let id: HintId | null = null;
  if (line !== null && (code === 'bad_frame' || code === 'bad_packet')) {
    id = diagnoseFrame(line, mode);
    if (id === null && code === 'bad_packet') {
      const d = decodeFrame(line, mode);
      if (d.ok) {
        const miss = nearMiss(d.value, 'username') ?? nearMiss(d.value, 'content');
        if (miss !== null) return miss;
      }
    }
  }
  if (code === 'not_hello') id = 'message-before-hello';
  // No hello in time: bytes with no newline after them are a frame never ended; otherwise what
  // came (a ping, say) was not a hello. A hello still being checked (a slow login) gets none.
  if (code === 'hello_timeout') id = pending > 0 ? 'no-newline' : line === null || !isHello(line, mode) ? 'message-before-hello' : null;
  if (code === 'idle_timeout') id = pending > 0 ? 'no-newline' : 'no-pong';
  return id === null ? null : HINTS[id].hint;
}

/** A board request as the trace shows it; a POST's text only with `content`. */
function showRequest(body: Buffer, req: ClassicRequest, content: boolean): string {
  switch (req.type) {
    case 'post':
      return content ? `POST ${JSON.stringify(req.text)}` : `POST (${Buffer.byteLength(req.text)} bytes of text)`;
    case 'get':
      return req.newest === null ? 'GET' : `GET the newest ${req.newest}`;
    case 'keep':
      return 'KEEP';
    case 'invalid-utf8':
      return `POST (${body.length - 4} bytes, not UTF-8)`;
    case 'unknown': {
      if (content) return `unknown command ${JSON.stringify(body.toString('utf8'))}`;
      // Enough to see the mistake (a lower-case post, a line break in front), not what was posted.
      const lead = /^\s*/.exec(body.toString('latin1'))![0].length;
      return `unknown command ${JSON.stringify(body.subarray(0, lead + 4).toString('utf8'))}… (${body.length} bytes)`;
    }
  }
}

function isHello(line: Buffer, mode: FrameMode): boolean {
  const d = decodeFrame(line, mode);
  return d.ok && d.value.type === 'hello';
}

/**
 * A mistake the server forgives, so no error says it and only the trace can: Python's str(dict)
 * on a plain connection (read for the original client's sake), a message without uid (valid, but
 * a resend after a reconnect is stored twice).
 */
function forgiven(line: Buffer, mode: FrameMode, packet: Record<string, unknown>): HintId | null {
  if (diagnoseFrame(line, mode) === 'python-str-dict') return 'python-str-dict';
  if (packet.type === 'message' && (packet.uid === undefined || packet.uid === null || packet.uid === '')) return 'no-uid';
  return null;
}

/** A trace sink writing JSON lines through `write`: the chat's sessions and the board's connections. */
export function createTraceSink(write: (line: string) => void, o: { content?: boolean; now?: () => number } = {}): TraceSink & BoardTraceSink {
  const content = o.content === true;
  const now = o.now ?? Date.now;
  const lastIn = new WeakMap<object, Buffer>();
  const base = (s: Traced): Omit<TraceRecord, 'dir'> => ({ time: new Date(now()).toISOString(), conn: s.id, address: s.conn.remote, username: s.username });
  const emit = (r: TraceRecord): void => write(JSON.stringify(r) + '\n');
  const boardHints = new WeakMap<BoardTraced, Array<HintId | null>>();
  const boardBase = (c: BoardTraced): Omit<TraceRecord, 'dir'> => ({ time: new Date(now()).toISOString(), conn: c.id, address: c.remote, username: c.username, proto: 'board' });
  return {
    frameIn(s, line) {
      lastIn.set(s, Buffer.from(line));
      const d = decodeFrame(line, s.mode);
      if (!d.ok) {
        emit({ ...base(s), dir: 'in', raw: content ? line.toString('utf8').slice(0, 500) : `(${line.length} bytes)` });
        return;
      }
      const h = forgiven(line, s.mode, d.value);
      emit({ ...base(s), dir: 'in', packet: hide(d.value, content), ...(h !== null ? { hint: HINTS[h].hint } : {}) });
    },
    frameOut(s, packet) {
      emit({ ...base(s), dir: 'out', packet: hide(packet, content) });
    },
    error(s, code, message) {
      const h = hintFor(code, lastIn.get(s) ?? null, s.mode, s.conn.partialIn ?? 0);
      emit({ ...base(s), dir: 'error', code, message, ...(h !== null ? { hint: h } : {}) });
    },
    boardRequest(c, body, req) {
      // One answer per request, in order: the diagnosis waits for its answer.
      let q = boardHints.get(c);
      if (q === undefined) boardHints.set(c, (q = []));
      q.push(req.type === 'unknown' ? diagnoseBoard(body.toString('utf8')) : null);
      emit({ ...boardBase(c), dir: 'in', request: showRequest(body, req, content) });
    },
    boardAnswer(c, name, pending) {
      const text = ANSWERS[name];
      // Timeouts and overloads answer what never became a request; everything else answers one.
      const id = name === 'timeout' ? (pending === null ? null : diagnoseBoardEnd(pending)) : name === 'overloaded' ? 'board-missing-percent' : boardHints.get(c)?.shift() ?? null;
      if (!text.startsWith('ERR')) return emit({ ...boardBase(c), dir: 'out', answer: text });
      const came = name === 'timeout' && pending !== null && pending.length > 0 ? ` (${showPending(pending, content)} came without one)` : '';
      emit({ ...boardBase(c), dir: 'error', code: name, message: text, ...(id !== null ? { hint: HINTS[id].hint + came } : {}) });
    },
    boardList(c, answer) {
      boardHints.get(c)?.shift();
      emit({ ...boardBase(c), dir: 'out', answer: content ? visibleText(answer.toString('utf8').slice(0, 500)) : `MSG[…]% (${answer.length} bytes)` });
    },
    boardIgnored(c, bytes) {
      emit({ ...boardBase(c), dir: 'error', code: 'ignored', message: '(sent after the answer; the board never reads it)', hint: `${HINTS['board-one-exchange'].hint} (${showPending(bytes, content)} came after the answer)` });
    },
    boardClosed(c, pending) {
      const id = diagnoseBoardEnd(pending);
      emit({ ...boardBase(c), dir: 'error', code: 'unterminated', message: '(the client closed the connection; nothing was answered)', ...(id !== null ? { hint: `${HINTS[id].hint} (${showPending(pending, content)} came without one)` } : {}) });
    },
    refused(address, code, message) {
      // No session, so no connection id: the address is what the teacher filters by.
      emit({ time: new Date(now()).toISOString(), conn: '-', address, username: null, dir: 'error', code, message });
    },
  };
}

/** Bytes that never got their `%`: as text when content is traced, else their size and command word only. */
function showPending(pending: Buffer, content: boolean): string {
  return content ? JSON.stringify(pending.subarray(0, 80).toString('utf8')) : `${pending.length} bytes starting ${JSON.stringify(pending.subarray(0, 4).toString('utf8'))}`;
}

export interface TraceFilter { address?: string; user?: string; conn?: string }

/** One trace line, readable; null when the filter leaves it out or it is not a trace line. */
export function formatTraceLine(line: string, f: TraceFilter = {}): string | null {
  let r: TraceRecord;
  try {
    r = JSON.parse(line) as TraceRecord;
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null || typeof r.dir !== 'string') return null;
  if (f.address !== undefined && !String(r.address).startsWith(f.address)) return null;
  if (f.user !== undefined && r.username !== f.user) return null;
  if (f.conn !== undefined && r.conn !== f.conn) return null;
  const who = `${r.time.slice(11, 23)} ${r.conn} ${r.address}${r.username ? ` ${r.username}` : ''}`;
  // A hint on a frame in is a mistake the server forgave (no error was sent for it).
  const hintLine = r.hint ? `\n${' '.repeat(who.length)}    hint: ${r.hint}` : '';
  if (r.dir === 'error') return `${who} !! ${r.code}: ${r.message}${hintLine}`;
  const arrow = r.dir === 'in' ? '->' : '<-';
  if (r.proto === 'board') return `${who} ${arrow} ${r.dir === 'in' ? r.request ?? '' : r.answer ?? ''}`;
  return `${who} ${arrow} ${r.packet !== undefined ? JSON.stringify(r.packet) : `not a frame: ${r.raw ?? ''}`}${hintLine}`;
}
