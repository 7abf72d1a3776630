/**
 * `lab93 trace [FILE|-]`: shows a trace written by `lab93 server --trace` readably, filtered by
 * address, user or connection; `--follow` keeps reading as the file grows (a projector view).
 * Also builds the server's trace sink from `--trace [FILE]` and `--trace-content`.
 */
import { createReadStream, createWriteStream, openSync, readSync, statSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { TraceSink } from '../server/context.js';
import type { BoardTraceSink } from '../gateway/trace.js';
import { createTraceSink, formatTraceLine, type TraceFilter } from '../teach/trace.js';

/** `--trace` alone writes to stdout; `--trace FILE` appends to FILE. Undefined when off. */
export function traceFromFlags(f: { trace?: string | boolean; traceContent?: boolean }): (TraceSink & BoardTraceSink) | undefined {
  if (f.trace === undefined || f.trace === false) return undefined;
  const out = f.trace === true || f.trace === '-' ? process.stdout : createWriteStream(f.trace, { flags: 'a', mode: 0o600 });
  return createTraceSink((line) => out.write(line), { content: f.traceContent === true });
}

function follow(file: string, onLine: (l: string) => void): void {
  let pos = 0;
  let rest = '';
  const buf = Buffer.alloc(1 << 16);
  const poll = (): void => {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size < pos) pos = 0; // truncated: start again
    if (size === pos) return;
    const fd = openSync(file, 'r');
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) rest += buf.toString('utf8', 0, n);
    } finally {
      closeSync(fd);
    }
    const lines = rest.split('\n');
    rest = lines.pop()!;
    lines.forEach(onLine);
  };
  poll();
  setInterval(poll, 200);
}

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description('show a trace written by lab93 server --trace, readably (docs/teaching.md)')
    .argument('[file]', 'the trace file, or - for standard input', '-')
    .option('-f, --follow', 'keep reading as the file grows')
    .option('--address <a>', 'only connections from this address (a prefix: 10.0.0.7)')
    .option('--user <u>', 'only this username')
    .option('--conn <c>', 'only this connection id')
    .action(async (file: string, o: { follow?: boolean } & TraceFilter) => {
      const filter: TraceFilter = { ...(o.address ? { address: o.address } : {}), ...(o.user ? { user: o.user } : {}), ...(o.conn ? { conn: o.conn } : {}) };
      const show = (l: string): void => {
        const t = formatTraceLine(l, filter);
        if (t !== null) process.stdout.write(t + '\n');
      };
      if (o.follow && file !== '-') return follow(file, show);
      const rl = createInterface({ input: file === '-' ? process.stdin : createReadStream(file) });
      for await (const l of rl) show(l);
    });
}
