/**
 * The `lab93` command line. The original's flags (-r/-b/-m/-s/-c/-a/-p) choose a mode; readable
 * subcommands do the same. Mistakes print one line naming the flags and exit with status 2.
 * Precedence: defaults, then environment variables (LAB93_*), then flags.
 */
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_PORT } from '../protocol/limits.js';
import { serverDbPath } from '../config/paths.js';
import { parseClusterFlags, runServer } from './server.js';
import { addChatUiOptions, addClientTlsOptions, addIdentityOptions, registerClientCommands, startClientFromFlags } from './client.js';
import { registerCertCommand } from './cert.js';
import { registerPinsCommand } from './pins.js';
import { addServerTlsOptions, serverTlsFromFlags, type ServerTlsFlags } from './server-tls.js';
import { addClassicServerOptions, classicHook, registerClassicCommands, type ClassicServerFlags } from './classic.js';
import { addPeerOnlyOptions, registerPeerCommand, startPeerFromFlags } from './peer.js';
import { chooseMode, strayWords } from './mode.js';
import { addLimitFlags, readLimitFlags } from './limit-flags.js';
import { registerUserCommand } from './user.js';
import { registerCheckCommand } from './check.js';
import { registerTraceCommand, traceFromFlags } from './trace.js';
import { UsageError, parsePort, parsePositiveInt, plainOptionDescription } from './usage.js';
import { logFormatOption, type LogFormatFlag } from './log-format.js';
import { DEFAULT_WEB_PORT } from '../web/web-server.js';
import { normalizeOrigin } from '../web/origin.js';

const EXAMPLES = `
Examples:
  lab93 server                      host a room on 0.0.0.0:5190 (same as: lab93 -r -s)
  lab93 -r -c -a 192.168.1.20       join the room hosted on that machine
  lab93 connect lab-pc:5190         the same, readable
  lab93 -b                          serverless chat with everyone on the LAN
  lab93 send -a lab-pc "hi all"     post one message from a script
  lab93 tail -a lab-pc              print messages as JSON lines
  lab93 classic --port 8080         the classic teaching board alone
  lab93 cert                        a self-signed TLS certificate for this server (docs/operations.md, TLS)
  lab93 connect lab-pc --tls        join over TLS (the certificate is pinned on first use)
  lab93 user add alice              register an account (asks for its password)

Environment: LAB93_ADDRESS, LAB93_PORT, LAB93_NAME, LAB93_DB, LAB93_STORE, LAB93_BUS, LAB93_DATA_DIR, LAB93_LOG_LEVEL.
Cluster: lab93 server --store postgres://db-host/lab93 --bus nats://nats-host:4222 (docs/cluster.md).
`;

interface ServerFlags extends ClassicServerFlags, ServerTlsFlags {
  address?: string; port?: string; db?: string; store?: string; bus?: string; verbose?: boolean; quiet?: boolean; synchronous: string; announce?: boolean;
  logFormat?: LogFormatFlag;
  web?: string | boolean; webOrigin?: string[];
  trace?: string | boolean; traceContent?: boolean;
  guests: string; registration: string; loginFailures?: string; loginFailuresPerAddress?: string; registrationsPerHour?: string; maxTokens?: string;
}

function addServerOptions(cmd: Command, addressHelp = 'address to listen on'): Command {
  cmd
    .addOption(new Option('-a, --address <host>', addressHelp).env('LAB93_ADDRESS'))
    .addOption(new Option('-p, --port <port>', `TCP port (default ${DEFAULT_PORT})`).env('LAB93_PORT'))
    .addOption(new Option('--db <path>', 'SQLite database (default $XDG_DATA_HOME/lab93/server.db)').env('LAB93_DB'))
    .addOption(new Option('--synchronous <mode>', 'SQLite synchronous: full means an ack is on disk').choices(['full', 'normal']).default('full'))
    .addOption(new Option('--store <url>', 'shared PostgreSQL store for a cluster, postgres://user@host/db[?schema=s] (default: SQLite, --db)').env('LAB93_STORE'))
    .addOption(new Option('--bus <url>', 'NATS between the servers of a cluster, nats://host:4222[?prefix=p] (needs --store; default: in-process)').env('LAB93_BUS'))
    .option('-v, --verbose', 'debug logging')
    .option('-q, --quiet', 'log warnings and errors only')
    .addOption(logFormatOption())
    .option('--no-announce', 'do not announce the server on the LAN (mDNS)')
    .addOption(new Option('--web <port>', `serve the web client (http, https with --tls-cert) on this port (default ${DEFAULT_WEB_PORT}; off: none)`).env('LAB93_WEB'))
    .option('--no-web', 'do not serve the web client')
    .addOption(new Option('--web-origin <origin>', 'one more origin allowed to open the web client\'s WebSocket (repeatable)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .addOption(new Option('--guests <yes|no>', 'may unregistered names log in').choices(['yes', 'no']).default('yes'))
    .addOption(new Option('--registration <policy>', 'open: a guest may register its name with a register packet').choices(['closed', 'open']).default('closed'))
    .option('--login-failures <n>', 'failed logins per account per minute before it is throttled (default 5)')
    .option('--login-failures-per-address <n>', 'failed logins per address per minute (default 20)')
    .option('--registrations-per-hour <n>', 'accounts one address may register per hour (default 5)')
    .option('--max-tokens <n>', 'saved logins (tokens) per account; the oldest is revoked past it (default 10)')
    .option('--trace [file]', 'write every frame in and out, decoded, as JSON lines (stdout, or appended to FILE); read it with lab93 trace')
    .option('--trace-content', 'with --trace: include message content (left out by default)');
  // Every limit, from the limits table (docs/security.md, "Limits").
  addLimitFlags(cmd, 'server', ['server', 'process']);
  return addServerTlsOptions(addClassicServerOptions(cmd));
}

async function startServer(f: ServerFlags): Promise<void> {
  // The process's open-file flags go to the server, whose connection budget the board shares.
  const server = { ...readLimitFlags(f, 'server', 'server'), ...readLimitFlags(f, 'server', 'process') };
  const num = (v: string | undefined, flag: string): number | undefined => (v === undefined ? undefined : parsePositiveInt(v, flag));
  const set = (o: Record<string, unknown>, k: string, v: number | undefined): void => {
    if (v !== undefined) o[k] = v;
  };
  const auth: Record<string, unknown> = { guests: f.guests !== 'no', registration: f.registration };
  set(auth, 'loginFailuresPerAccount', num(f.loginFailures, '--login-failures'));
  set(auth, 'loginFailuresPerAddress', num(f.loginFailuresPerAddress, '--login-failures-per-address'));
  set(auth, 'registrationsPerAddress', num(f.registrationsPerHour, '--registrations-per-hour'));
  set(auth, 'maxTokensPerAccount', num(f.maxTokens, '--max-tokens'));
  const envLevel = process.env.LAB93_LOG_LEVEL as 'info' | undefined;
  for (const o of f.webOrigin ?? []) if (normalizeOrigin(o) === null) throw new UsageError(`--web-origin takes an origin such as https://chat.example.org, not "${o}"`);
  const classic = classicHook(f, f.address ?? '0.0.0.0');
  const cluster = parseClusterFlags(f.store, f.bus);
  const trace = traceFromFlags(f);
  await runServer({
    ...cluster,
    ...(classic ? { classic } : {}),
    host: f.address ?? '0.0.0.0',
    port: f.port === undefined ? DEFAULT_PORT : parsePort(f.port),
    db: f.db ?? serverDbPath(),
    synchronous: f.synchronous as 'full',
    logLevel: f.verbose ? 'debug' : f.quiet ? 'warn' : envLevel ?? 'info',
    ...(f.logFormat ? { logFormat: f.logFormat } : {}),
    server,
    auth,
    announce: f.announce !== false,
    tls: serverTlsFromFlags(f),
    web: f.web === false || f.web === 'off' ? null : { port: typeof f.web === 'string' ? parsePort(f.web) : DEFAULT_WEB_PORT, origins: f.webOrigin ?? [], explicit: typeof f.web === 'string' },
    ...(trace ? { trace } : {}),
  });
}

export function buildProgram(): Command {
  const program = new Command('lab93');
  program
    .description('A socket chat for a classroom, a lab or a LAN.')
    .version('0.1.0')
    .exitOverride()
    .enablePositionalOptions()
    .showSuggestionAfterError()
    // Defaults and env variables as people read them (no JSON quotes); inherited by the subcommands.
    .configureHelp({ optionDescription: plainOptionDescription })
    .addHelpText('after', EXAMPLES)
    .option('-r, --repeater', 'client/server mode: a server relays and stores messages')
    .option('-b, --broadcast', 'serverless mode: peers on the LAN find each other')
    .option('-m, --mode <mode>', 'repeater or broadcast (same as -r or -b)')
    .option('-s, --server', 'with -r: host the room')
    .option('-c, --client', 'with -r: join a room');
  addServerOptions(program, 'with -s: address to listen on (default 0.0.0.0); with -c: the server to join, HOST or HOST:PORT (default: find it on the LAN)');
  addIdentityOptions(program);
  addClientTlsOptions(program);
  addChatUiOptions(program);
  addPeerOnlyOptions(program);
  program.action(async (opts: ServerFlags & { repeater?: boolean; broadcast?: boolean; mode?: string; server?: boolean; client?: boolean }, cmd: Command) => {
    const stray = strayWords(cmd.args, opts, program.commands.map((c) => c.name()));
    if (stray) throw stray;
    const mode = chooseMode(opts);
    if (mode === 'server') return startServer(opts);
    if (mode === 'client') return startClientFromFlags(opts as typeof opts & { name?: string; room?: string });
    return startPeerFromFlags(opts as typeof opts & { name?: string; room?: string });
  });

  addServerOptions(program.command('server').description('host a room (same as -r -s)')).action((opts: ServerFlags) => startServer(opts));
  registerClientCommands(program);
  registerClassicCommands(program);
  registerPeerCommand(program);
  registerCertCommand(program);
  registerPinsCommand(program);
  registerUserCommand(program);
  registerCheckCommand(program);
  registerTraceCommand(program);
  // Words the root does not know reach its action (strayWords explains them); set last, so the
  // subcommands keep commander's own "too many arguments".
  program.allowExcessArguments();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message already; help and version exit 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`lab93: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

await main(process.argv);
