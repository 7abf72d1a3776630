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

export async function runPipe(backend: ChatBackend, opts: ChatUiOptions): Promise<number> {
  const input = opts.input ?? process.stdin;
  const out = opts.output ?? process.stdout;
  const err = opts.errorOutput ?? process.stderr;
  const room = opts.room ?? 'lobby';
  let failed = 0;
  const handlers: Array<[string, (...a: any[]) => void]> = [
    ['message', (m: ChatMessage) => out.write(formatPipeLine(m, opts.timeZone) + '\n')],
    ['notice', (t: string) => err.write(`lab93: ${sanitizeLine(String(t))}\n`)],
    ['failed', () => failed++],
    ['state', (s: string, detail?: string) => {
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
      if (backend.pendingCount() > 0) return;
      finish(true);
    };
    const finish = (ok: boolean): void => {
      if (timer) clearTimeout(timer);
      backend.off('acked', check);
      backend.off('failed', check);
      resolve(ok);
    };
    backend.on('acked', check);
    backend.on('failed', check);
    if (opts.drainTimeoutMs !== undefined) timer = setTimeout(() => finish(false), opts.drainTimeoutMs);
    check();
  });
  const left = backend.pendingCount();
  for (const [e, fn] of handlers) backend.off(e, fn);
  await backend.close();
  if (!drained) err.write(`lab93: ${left} message(s) not acknowledged in time; they stay queued for the next run\n`);
  return drained && failed === 0 ? 0 : 1;
}
