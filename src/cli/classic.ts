/**
 * The classic board on the command line (docs/classic-board.md, "Running it"):
 * - `lab93 classic [--port 8080]` runs the board alone, like the original server;
 * - `lab93 server` serves it on the chat port (told apart by the first bytes) and, with
 *   `--classic-port`, on a port of its own; `--no-classic` turns it off;
 * - `lab93 log` shows the operator who posted what (see ./log.ts).
 * Precedence: defaults, then LAB93_CLASSIC_* environment variables, then flags.
 */
import { stopOnSignals } from './signals.js';
import { Command, Option } from 'commander';
import type { Level } from 'pino';
import { createBus } from '../bus/index.js';
import { serverDbPath } from '../config/paths.js';
import { createClassicGateway } from '../gateway/classic.js';
import type { ClassicOptions } from '../gateway/config.js';
import { createLogger } from '../log/index.js';
import { CLASSIC_DEFAULT_PORT } from '../protocol/classic.js';
import type { ClassicGateway } from '../server/server.js';
import { createStore } from '../store/index.js';
import { registerLogCommand } from './log.js';
import { claimDatabase } from './owner.js';
import { logFormatOption, type LogFormatFlag } from './log-format.js';
import type { ClassicDeps } from './server.js';
import { addLimitFlags, readLimitFlags } from './limit-flags.js';
import { UsageError, parsePort } from './usage.js';
import { traceFromFlags } from './trace.js';

/**
 * The board's limits from its flags, made from the limits table (src/config/limits.ts);
 * `command` says whether they carry the `classic-` prefix.
 */
function limitOptions(f: object, command: 'server' | 'classic'): Partial<ClassicOptions> {
  return {
    ...readLimitFlags(f, command, 'classic'),
    // Alone, the board has the process to itself: the open-file flags are its own.
    ...(command === 'classic' ? readLimitFlags(f, command, 'process') : {}),
  } as Partial<ClassicOptions>;
}

// ---- lab93 server ---------------------------------------------------------------------------
export interface ClassicServerFlags {
  classic?: boolean; classicPort?: string;
}

/** The board's flags on `lab93 server` (and `-r -s`), prefixed so they do not clash with the chat's. */
export function addClassicServerOptions(cmd: Command): Command {
  cmd
    .addOption(new Option('--classic-port <port>', 'also serve the classic board on this port (the original used 8080)').env('LAB93_CLASSIC_PORT'))
    .option('--no-classic', 'do not answer the classic board protocol on the chat port');
  return addLimitFlags(cmd, 'server', ['classic']);
}

/** The gateway factory runServer calls once the chat server (and its group commit) exists, or undefined with --no-classic. */
export function classicHook(f: ClassicServerFlags, host: string): ((deps: ClassicDeps) => Promise<ClassicGateway>) | undefined {
  if (f.classic === false) {
    if (f.classicPort !== undefined) throw new UsageError('--classic-port and --no-classic cannot be used together');
    return undefined;
  }
  const options = limitOptions(f, 'server');
  const port = f.classicPort === undefined ? undefined : parsePort(f.classicPort, '--classic-port');
  return async (deps) => {
    const gateway = await createClassicGateway({ ...deps, options });
    if (port !== undefined) {
      try {
        await gateway.listen(port, host);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        process.stderr.write(`lab93: cannot listen on ${host}:${port} for the classic board: ${e.code ?? e.message}\n`);
        process.exit(1);
      }
    }
    return gateway;
  };
}

// ---- lab93 classic --------------------------------------------------------------------------
interface ClassicFlags {
  address?: string; port?: string; db?: string; synchronous: string; verbose?: boolean; quiet?: boolean; logFormat?: LogFormatFlag;
  trace?: string | boolean; traceContent?: boolean;
}

async function runClassic(f: ClassicFlags): Promise<void> {
  const host = f.address ?? '0.0.0.0';
  const port = f.port === undefined ? CLASSIC_DEFAULT_PORT : parsePort(f.port);
  const options = limitOptions(f, 'classic');
  const envLevel = process.env.LAB93_LOG_LEVEL as Level | undefined;
  const log = createLogger({ level: f.verbose ? 'debug' : f.quiet ? 'warn' : envLevel ?? 'info', format: f.logFormat });
  const db = f.db ?? serverDbPath();
  claimDatabase(db, log, 'classic');
  const store = await createStore({ driver: 'sqlite', path: db, synchronous: f.synchronous as 'full' });
  const bus = await createBus({ driver: 'local' });
  const trace = traceFromFlags(f);
  const gateway = await createClassicGateway({ store, bus, log, options, ...(trace ? { trace } : {}) });
  let bound: number;
  try {
    bound = (await gateway.listen(port, host)).port;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`lab93: cannot listen on ${host}:${port}: ${e.code ?? e.message}\n`);
    await store.close();
    process.exit(1);
  }
  log.info({ db }, 'store open');
  stopOnSignals(log, async () => {
    await gateway.close();
    await bus.close();
    await store.close();
  });
  // Once Ctrl-C is handled: the start line says it stops.
  log.info({ role: 'classic', listen: `${host}:${bound}`, db }, 'ready');
}

/** Adds `lab93 classic` and `lab93 log`. */
export function registerClassicCommands(program: Command): void {
  const cmd = program
    .command('classic')
    .description(`run the classic teaching board alone (port ${CLASSIC_DEFAULT_PORT}, like the original)`)
    .addOption(new Option('-a, --address <host>', 'address to listen on (default 0.0.0.0)').env('LAB93_ADDRESS'))
    .addOption(new Option('-p, --port <port>', `TCP port (default ${CLASSIC_DEFAULT_PORT})`).env('LAB93_CLASSIC_PORT'))
    .addOption(new Option('--db <path>', 'SQLite database, shared with lab93 server (default $XDG_DATA_HOME/lab93/server.db)').env('LAB93_DB'))
    .addOption(new Option('--synchronous <mode>', 'SQLite synchronous: full means an answer is on disk').choices(['full', 'normal']).default('full'))
    .option('-v, --verbose', 'debug logging')
    .option('-q, --quiet', 'log warnings and errors only')
    .option('--trace [file]', 'write every request and answer, decoded, with hints, as JSON lines (stdout, or appended to FILE); read it with lab93 trace')
    .option('--trace-content', 'with --trace: include the posted text (left out by default)')
    .addOption(logFormatOption());
  addLimitFlags(cmd, 'classic', ['classic', 'process']).action((f: ClassicFlags) => runClassic(f));
  registerLogCommand(program);
}
