/**
 * Pipe mode, when standard input is not a terminal: each input line is a message to the room,
 * each message received is printed as one line (formatPipeLine), status goes to stderr. When the
 * input ends we wait until every queued message is acknowledged, then return.
 */
import readline from 'node:readline';
import type { ChatBackend, ChatMessage } from '../backend.js';
import { formatPipeLine } from '../format.js';
import { sanitizeLine } from '../sanitize.js';
import { describeNetError } from '../wrong-server.js';
import type { ChatUiOptions } from './options.js';

/**
 * Writes to `out`, and stops the backend reading while `out` is full: a backlog of any size
 * printed to a slow reader waits in the kernel's socket buffer, not in our memory.
 */
export function pacedWriter(out: NodeJS.WritableStream, backend: Pick<ChatBackend, 'pauseInbound' | 'resumeInbound'>): (text: string) => void {
  let paused = false;
  return (text) => {
    if (out.write(text) || paused || !backend.pauseInbound) return;
    paused = true;
    backend.pauseInbound();
    out.once('drain', () => {
      paused = false;
      backend.resumeInbound?.();
    });
  };
}

/** Events after which the end condition may have become true. */
const WAKE = ['acked', 'failed', 'synced', 'state'];

/** Unsent lines named in the closing message at most; the rest are counted. */
const UNSENT_LISTED = 10;

export async function runPipe(backend: ChatBackend, opts: ChatUiOptions): Promise<number> {
  const input = opts.input ?? process.stdin;
  const out = opts.output ?? process.stdout;
  const err = opts.errorOutput ?? process.stderr;
  const room = opts.room ?? 'lobby';
  let failed = 0;
  // Whether the first connection attempt has played out (backlog received, or no server): only
  // then may an input with nothing to send end the run, so `< /dev/null` prints the backlog.
  // A broadcast peer has no single server sync to wait for.
  let settled = backend.kind !== 'repeater';
  let fatal: string | null = null;
  let lastProblem = '';
  // Since when the server has been out of reach (from the start until the first connection).
  let unreachableSince: number | null = Date.now();
  const print = pacedWriter(out, backend);
  const rl = readline.createInterface({ input, terminal: false, crlfDelay: Infinity });
  const handlers: Array<[string, (...a: any[]) => void]> = [
    ['message', (m: ChatMessage) => print(formatPipeLine(m, opts.timeZone) + '\n')],
    ['notice', (t: string) => err.write(`lab93: ${sanitizeLine(String(t))}\n`)],
    ['failed', () => failed++],
    ['synced', () => (settled = true)],
    ['fatal', (reason: string) => {
      fatal = reason;
      err.write(`lab93: ${sanitizeLine(reason)}\n`);
      rl.close(); // nothing more is read: it could not be sent anyway
    }],
    ['state', (s: string, detail?: string) => {
      if (s === 'online') unreachableSince = null;
      else if (unreachableSince === null) unreachableSince = Date.now();
      if (s !== 'offline' || fatal !== null) return;
      settled = true;
      if (detail) lastProblem = detail;
      err.write(`lab93: offline${detail ? ` (${sanitizeLine(describeNetError(detail))})` : ''}; reconnecting\n`);
    }],
  ];
  for (const [e, fn] of handlers) backend.on(e, fn);
  await backend.start();

  for await (const line of rl) {
    if (line.trim() === '') continue;
    backend.send({ content: line, room });
  }

  const limit = opts.unreachableTimeoutMs;
  const outcome = await new Promise<'done' | 'fatal' | 'unreachable'>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const check = (): void => {
      if (fatal !== null) return finish('fatal');
      if (limit !== undefined) {
        if (timer) clearTimeout(timer);
        timer = undefined;
        // Counted from when the server went out of reach, not from the end of the input.
        if (unreachableSince !== null && backend.pendingCount() > 0) timer = setTimeout(() => finish('unreachable'), Math.max(0, unreachableSince + limit - Date.now()));
      }
      if (backend.pendingCount() > 0 || !settled) return;
      finish('done');
    };
    const finish = (how: 'done' | 'fatal' | 'unreachable'): void => {
      if (timer) clearTimeout(timer);
      for (const e of [...WAKE, 'fatal']) backend.off(e, check);
      resolve(how);
    };
    for (const e of [...WAKE, 'fatal']) backend.on(e, check);
    check();
  });
  const unsent = backend.queued ? backend.queued() : [];
  const left = backend.pendingCount();
  for (const [e, fn] of handlers) backend.off(e, fn);
  await backend.close();
  if (outcome === 'unreachable') {
    const where = opts.address ?? 'the server';
    err.write(`lab93: ${where} stayed unreachable for ${Math.round(limit! / 1000)} s${lastProblem ? ` (${sanitizeLine(describeNetError(lastProblem))})` : ''}; giving up\n`);
  }
  if (outcome !== 'done' && left > 0) {
    err.write(`lab93: ${left} message(s) not sent; they stay queued and are sent the next time this runs against that server${unsent.length > 0 ? ':' : ''}\n`);
    for (const q of unsent.slice(0, UNSENT_LISTED)) err.write(`lab93:   ${sanitizeLine(q.content.replace(/\r?\n/g, ' '))}\n`);
    if (unsent.length > UNSENT_LISTED) err.write(`lab93:   … and ${unsent.length - UNSENT_LISTED} more\n`);
  }
  return outcome === 'done' && failed === 0 ? 0 : 1;
}
