/**
 * Pipe mode, when standard input is not a terminal: each input line is a message to the room,
 * each message received is printed as one line (formatPipeLine), status goes to stderr. When the
 * input ends we wait until every queued message is acknowledged, then return.
 */
import readline from 'node:readline';
import type { ChatBackend, ChatMessage } from '../backend.js';
import { formatPipeLine } from '../format.js';
import { sanitizeLine } from '../sanitize.js';
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
  const print = pacedWriter(out, backend);
  const handlers: Array<[string, (...a: any[]) => void]> = [
    ['message', (m: ChatMessage) => print(formatPipeLine(m, opts.timeZone) + '\n')],
    ['notice', (t: string) => err.write(`lab93: ${sanitizeLine(String(t))}\n`)],
    ['failed', () => failed++],
    ['synced', () => (settled = true)],
    ['state', (s: string, detail?: string) => {
      if (s === 'offline') settled = true;
      if (s === 'offline') err.write(`lab93: offline${detail ? ` (${sanitizeLine(detail)})` : ''}; reconnecting\n`);
    }],
  ];
  for (const [e, fn] of handlers) backend.on(e, fn);
  await backend.start();

  const rl = readline.createInterface({ input, terminal: false, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    backend.send({ content: line, room });
  }

  const drained = await new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const check = (): void => {
      if (backend.pendingCount() > 0 || !settled) return;
      finish(true);
    };
    const finish = (ok: boolean): void => {
      if (timer) clearTimeout(timer);
      for (const e of WAKE) backend.off(e, check);
      resolve(ok);
    };
    for (const e of WAKE) backend.on(e, check);
    if (opts.drainTimeoutMs !== undefined) timer = setTimeout(() => finish(false), opts.drainTimeoutMs);
    check();
  });
  const left = backend.pendingCount();
  for (const [e, fn] of handlers) backend.off(e, fn);
  await backend.close();
  if (!drained) err.write(`lab93: ${left} message(s) not acknowledged in time; they stay queued for the next run\n`);
  return drained && failed === 0 ? 0 : 1;
}
