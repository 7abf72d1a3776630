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
import { UsageError, parsePort, parsePositiveInt } from './usage.js';

/** The limits (and the GET window) both `lab93 classic` and `lab93 server` take; `prefix` is "" or "classic-". */
interface LimitFlags {
  requestTimeout?: string; idleTimeout?: string; maxConnections?: string; maxConnectionsPerAddress?: string;
  rate?: string; burst?: string; maxMessages?: string; window?: string; windowBytes?: string;
}

const LIMITS: Array<[keyof LimitFlags, string, string, string]> = [
  ['requestTimeout', 'request-timeout <seconds>', 'REQUEST_TIMEOUT', 'wait for the rest of a cut-off request, then ERRTimeout!% (default 5)'],
  ['idleTimeout', 'idle-timeout <seconds>', 'IDLE_TIMEOUT', 'close a KEEP% connection idle this long (default 60)'],
  ['maxConnections', 'max-connections <n>', 'MAX_CONNECTIONS', 'open board connections in all (default 10000)'],
  ['maxConnectionsPerAddress', 'max-connections-per-address <n>', 'MAX_CONNECTIONS_PER_ADDRESS', 'open board connections from one address (default 64)'],
  ['rate', 'rate <n>', 'RATE', 'board requests per second per address, 0 for no limit (default 50)'],
  ['burst', 'burst <n>', 'BURST', 'board requests allowed in a burst above the rate (default 200)'],
  ['maxMessages', 'max-messages <n>', 'MAX_MESSAGES', 'stored messages before POST answers ERRBoard Full%, 0 for no limit (default 1000000)'],
  ['window', 'window <n>', 'WINDOW', 'GET% lists the newest n messages, oldest first; 0 for the whole board (default 20)'],
  ['windowBytes', 'window-bytes <bytes>', 'WINDOW_BYTES', 'GET% keeps its answer within this many bytes (1024 fits the original client); 0 for no bound (default 0)'],
];

function addLimitOptions(cmd: Command, prefix: '' | 'classic-'): Command {
  for (const [, flag, env, help] of LIMITS) cmd.addOption(new Option(`--${prefix}${flag}`, help).env(`LAB93_CLASSIC_${env}`));
  return cmd;
}

/** Seconds, fractions allowed (tests use short timeouts). */
export function parseSeconds(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number of seconds above 0, not "${value}"`);
  return Math.round(n * 1000);
}

/** Turns the limit flags into gateway options; `get` reads a flag by its unprefixed key. */
function limitOptions(get: (k: keyof LimitFlags) => string | undefined, prefix: string): Partial<ClassicOptions> {
  const o: Partial<ClassicOptions> = {};
  const int = (k: keyof LimitFlags): number | undefined => {
    const v = get(k);
    return v === undefined ? undefined : parsePositiveInt(v, `--${prefix}${LIMITS.find((l) => l[0] === k)![1].split(' ')[0]}`);
  };
  const secs = (k: keyof LimitFlags): number | undefined => {
    const v = get(k);
    return v === undefined ? undefined : parseSeconds(v, `--${prefix}${LIMITS.find((l) => l[0] === k)![1].split(' ')[0]}`);
  };
  const set = <K extends keyof ClassicOptions>(k: K, v: ClassicOptions[K] | undefined): void => {
    if (v !== undefined) o[k] = v;
  };
  set('requestTimeoutMs', secs('requestTimeout'));
  set('idleTimeoutMs', secs('idleTimeout'));
  set('maxConnections', int('maxConnections'));
  set('maxConnectionsPerAddress', int('maxConnectionsPerAddress'));
  set('ratePerSecond', int('rate'));
  set('rateBurst', int('burst'));
  set('maxMessages', int('maxMessages'));
  set('window', int('window'));
  set('windowBytes', int('windowBytes'));
  if (o.maxConnections === 0 || o.maxConnectionsPerAddress === 0) throw new UsageError(`--${prefix}max-connections and --${prefix}max-connections-per-address must be at least 1`);
  return o;
}

// ---- lab93 server ---------------------------------------------------------------------------
export interface ClassicServerFlags {
  classic?: boolean; classicPort?: string;
  classicRequestTimeout?: string; classicIdleTimeout?: string; classicMaxConnections?: string; classicMaxConnectionsPerAddress?: string;
  classicRate?: string; classicBurst?: string; classicMaxMessages?: string; classicWindow?: string; classicWindowBytes?: string;
}

/** The board's flags on `lab93 server` (and `-r -s`), prefixed so they do not clash with the chat's. */
export function addClassicServerOptions(cmd: Command): Command {
  cmd
    .addOption(new Option('--classic-port <port>', 'also serve the classic board on this port (the original used 8080)').env('LAB93_CLASSIC_PORT'))
    .option('--no-classic', 'do not answer the classic board protocol on the chat port');
  return addLimitOptions(cmd, 'classic-');
}

/** The gateway factory runServer calls once the chat server (and its group commit) exists, or undefined with --no-classic. */
export function classicHook(f: ClassicServerFlags, host: string): ((deps: ClassicDeps) => Promise<ClassicGateway>) | undefined {
  if (f.classic === false) {
    if (f.classicPort !== undefined) throw new UsageError('--classic-port and --no-classic cannot be used together');
    return undefined;
  }
  const key = (k: keyof LimitFlags): keyof ClassicServerFlags => `classic${k[0]!.toUpperCase()}${k.slice(1)}` as keyof ClassicServerFlags;
  const options = limitOptions((k) => f[key(k)] as string | undefined, 'classic-');
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
interface ClassicFlags extends LimitFlags {
  address?: string; port?: string; db?: string; synchronous: string; verbose?: boolean; quiet?: boolean; logFormat?: LogFormatFlag;
}

async function runClassic(f: ClassicFlags): Promise<void> {
  const host = f.address ?? '0.0.0.0';
  const port = f.port === undefined ? CLASSIC_DEFAULT_PORT : parsePort(f.port);
  const options = limitOptions((k) => f[k], '');
  const envLevel = process.env.LAB93_LOG_LEVEL as Level | undefined;
  const log = createLogger({ level: f.verbose ? 'debug' : f.quiet ? 'warn' : envLevel ?? 'info', format: f.logFormat });
  const db = f.db ?? serverDbPath();
  claimDatabase(db, log, 'classic');
  const store = await createStore({ driver: 'sqlite', path: db, synchronous: f.synchronous as 'full' });
  const bus = await createBus({ driver: 'local' });
  const gateway = await createClassicGateway({ store, bus, log, options });
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
    .addOption(logFormatOption());
  addLimitOptions(cmd, '').action((f: ClassicFlags) => runClassic(f));
  registerLogCommand(program);
}
