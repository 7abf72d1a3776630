/**
 * Broadcast mode on the command line: `lab93 -b`, `lab93 -m broadcast`, `lab93 peer`.
 * With a terminal: the chat UI of the repeater client on a PeerBackend. With --headless, or
 * when standard input is not a terminal: a relay node that logs (JSON lines on stderr) instead
 * of drawing, for a service manager. Registered by main.ts.
 */
import { stopOnSignals } from './signals.js';
import net from 'node:net';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { Level } from 'pino';
import { dataDir, ensurePrivateFile } from '../config/paths.js';
import { createLogger, type Logger } from '../log/index.js';
import type { ReadyFields } from '../log/pretty.js';
import { DEFAULT_PORT, DEFAULT_ROOM } from '../protocol/limits.js';
import { PeerBackend } from '../peer/backend.js';
import { peerOptions, DEFAULT_PEER_OPTIONS, type PeerOptions } from '../peer/config.js';
import { interfaceFilter } from '../peer/interfaces.js';
import { mdnsPortFromEnv } from '../peer/discovery.js';
import { PeerNode } from '../peer/node.js';
import { deriveNetworkKey, safetyNumber, shortFingerprint, type NetworkKey } from '../peer/identity.js';
import { readNetworkSecretFile } from '../peer/identity-file.js';
import { PeerStore, type PeerStoredMessage } from '../peer/peer-store.js';
import { addChatUiOptions, addIdentityOptions, resolveUsername } from './client.js';
import { BROADCAST_PIPE_REFUSAL, stdinIsPiped } from './mode.js';
import { claimDatabase } from './owner.js';
import { addLimitFlags, readLimitFlags } from './limit-flags.js';
import { logFormatOption, type LogFormatFlag } from './log-format.js';
import { UsageError, parseHostPort, parsePort } from './usage.js';

export interface PeerFlags {
  address?: string; port?: string; db?: string; verbose?: boolean; quiet?: boolean; logFormat?: LogFormatFlag;
  name?: string; room?: string;
  peer?: string[]; discovery?: boolean; headless?: boolean; bell?: boolean;
  networkKey?: string; networkKeyFile?: string; profile?: string; trust?: string[];
}

/** The options only broadcast mode has (the root command adds them next to its own). */
export function addPeerOnlyOptions(cmd: Command): Command {
  cmd
    .option('--peer <host:port>', 'with -b: also keep a link to this peer (repeatable; for networks without multicast)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-discovery', 'with -b: do not announce or look for peers with mDNS')
    .option('--headless', 'with -b: no chat UI; run as a relay node and log (also when stdin is /dev/null; piped input is refused)')
    .addOption(new Option('--network-key <secret>', 'with -b: link only with peers that know this secret (a few random words; two classes on one LAN run two meshes)').env('LAB93_NETWORK_KEY'))
    .option('--network-key-file <path>', 'with -b: the network secret from this file (its text, without one trailing newline)')
    .option('--trust <name-and-number...>', 'with -b: confirm who NAME is by the safety number (or fingerprint) they read out to you, then exit: --trust NAME NUMBER')
    .option('--profile <name>', 'with -b: whose identity and history this peer is (default: the user name); two peers of one user on one machine need two profiles');
  // The limits, from the one table (src/config/limits.ts, docs/security.md "Limits").
  return addLimitFlags(cmd, 'peer', ['peer']);
}

/** The limit flags given, as PeerOptions (and what follows from them). */
function limitOptions(f: PeerFlags): Partial<PeerOptions> {
  const o = readLimitFlags(f, 'peer', 'peer') as Partial<PeerOptions>;
  // A burst of ten seconds' worth, as the default has.
  if (o.linkMessageRate !== undefined) o.linkMessageBurst = o.linkMessageRate * 10;
  // A ping every third of the link timeout, so a quiet link is not taken for a dead one.
  if (o.linkTimeoutMs !== undefined) o.pingMs = Math.max(200, o.linkTimeoutMs / 3);
  return o;
}

/** `lab93 peer --trust NAME NUMBER`: binds NAME to the key with that number in the profile's store. */
function trustAndExit(dbPath: string, args: string[]): void {
  const [name, ...number] = args;
  if (!name || number.length === 0) throw new UsageError('--trust NAME NUMBER: the name, then the safety number (or fingerprint) they read out to you');
  const store = new PeerStore(dbPath);
  try {
    const r = store.trust(name, number.join(' '));
    process.stdout.write(`${r.message}\n`);
    process.exitCode = r.ok ? 0 : 1;
  } finally {
    void store.close();
  }
}

/** A profile names files in the data folder: letters, digits, '.', '_' and '-' only. */
function checkProfile(name: string): string {
  if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(name) || name.startsWith('.')) throw new UsageError(`--profile "${name}" must be 1 to 64 letters, digits, ".", "_" or "-"`);
  return name;
}

/** The network key from --network-key, LAB93_NETWORK_KEY or --network-key-file (stretched once here). */
function networkKeyOf(f: PeerFlags): NetworkKey | null {
  if (f.networkKey !== undefined && f.networkKeyFile !== undefined) throw new UsageError('give --network-key or --network-key-file, not both');
  let secret: string | undefined = f.networkKey;
  if (f.networkKeyFile !== undefined) {
    const r = readNetworkSecretFile(f.networkKeyFile);
    if (!r.ok) throw new UsageError(`--network-key-file ${f.networkKeyFile}: ${r.message}`);
    secret = r.value;
  }
  if (secret === undefined) return null;
  const k = deriveNetworkKey(secret);
  if (!k.ok) throw new UsageError(`--network-key: ${k.message}`);
  return k.value;
}

/** `lab93 peer`: the readable subcommand of `lab93 -b`. */
export function registerPeerCommand(program: Command): void {
  const cmd = program
    .command('peer')
    .description('serverless chat with the peers on the LAN (same as -b)')
    .addOption(new Option('-a, --address <host>', 'address to listen on (default 0.0.0.0)').env('LAB93_ADDRESS'))
    .addOption(new Option('-p, --port <port>', `TCP port, or the next free one (default ${DEFAULT_PORT})`).env('LAB93_PORT'))
    .addOption(new Option('--db <path>', 'peer store (default $XDG_DATA_HOME/lab93/peer-<profile>.db; its keys beside it)').env('LAB93_DB'))
    .option('-v, --verbose', 'debug logging')
    .option('-q, --quiet', 'log warnings and errors only')
    .addOption(logFormatOption())
    .addHelpText('after', `
Examples:
  lab93 peer                         chat with everyone on the LAN, no address to type
  lab93 peer --peer 10.0.0.7:5190    also link to that peer by hand (no multicast there)
  lab93 peer --headless              a relay node for a service manager (logs, no UI)
`);
  addChatUiOptions(addPeerOnlyOptions(addIdentityOptions(cmd))).action((f: PeerFlags) => startPeerFromFlags(f));
}

/** The first port from `start` that can be bound (the peer's default store is named after it). */
export async function findFreePort(host: string, start: number, tries: number): Promise<number> {
  for (let i = 0; i <= tries; i++) {
    const port = start + i;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new UsageError(`no free port from ${start} to ${start + tries}: pick one with -p/--port`);
}

export async function startPeerFromFlags(f: PeerFlags): Promise<void> {
  const username = resolveUsername(f.name);
  const room = (f.room ?? DEFAULT_ROOM).replace(/^#/, '');
  const host = f.address ?? '0.0.0.0';
  const askedPort = f.port === undefined ? DEFAULT_PORT : parsePort(f.port);
  const peers = (f.peer ?? []).map((p) => {
    const hp = parseHostPort(p, DEFAULT_PORT);
    if (!hp.host) throw new UsageError(`--peer "${p}" must be HOST:PORT`);
    return hp;
  });
  // Flags are checked before anything starts: a bad value is one line, at once.
  const limits = limitOptions(f);
  if (f.headless !== true && stdinIsPiped()) throw new UsageError(BROADCAST_PIPE_REFUSAL);
  const headless = f.headless === true || !process.stdin.isTTY;
  const port = askedPort === 0 ? 0 : await findFreePort(host, askedPort, DEFAULT_PEER_OPTIONS.portSearch);
  // The identity and history belong to the profile (the user's, by default), not to the port
  // it got: restarting two peers in another order never swaps them. The owner lock on the
  // store refuses a second peer on one profile. Port 0 (ephemeral, tests) without a profile
  // gets a store of its own per process.
  const profile = f.profile === undefined ? null : checkProfile(f.profile);
  const dbPath = f.db ?? join(dataDir(), profile ? `peer-${profile}.db` : port === 0 ? `peer-ephemeral-${process.pid}.db` : `peer-${checkProfile(username)}.db`);
  if (f.trust) return trustAndExit(dbPath, f.trust);
  const networkKey = networkKeyOf(f);
  const level: Level = f.verbose ? 'debug' : f.quiet ? 'warn' : ((process.env.LAB93_LOG_LEVEL as Level | undefined) ?? 'info');
  let log: Logger;
  if (headless) log = createLogger({ level, format: f.logFormat });
  else {
    // The UI owns the terminal: logs go to a file beside the store.
    // The log names who spoke from where: private like the store (created 0600 before pino opens it).
    const logPath = `${dbPath.replace(/\.db$/, '')}.log`;
    ensurePrivateFile(logPath);
    log = createLogger({ level, destination: logPath });
  }
  claimDatabase(dbPath, log, 'peer');
  const mdnsInterfaces = interfaceFilter();
  const opts = peerOptions({
    username, dbPath, host, port, peers, discovery: f.discovery !== false,
    ...(mdnsInterfaces ? { mdnsInterfaces } : {}),
    mdnsPort: mdnsPortFromEnv(),
    networkKey,
    ...limits,
  });
  const node = new PeerNode(opts, log);
  if (headless) return runHeadless(node, log, { role: 'peer', listen: host, db: dbPath, discovery: opts.discovery, user: username, peers: f.peer ?? [] });
  const { runChatUi } = await import('../client/ui/index.js');
  const backend = new PeerBackend(node, [room]);
  const code = await runChatUi(backend, { room, title: `lab93 · ${username}#${shortFingerprint(node.identity.signPublic)} · broadcast (peer ${node.peerId})`, ...(f.bell === false ? { bell: false } : {}) });
  process.exit(code);
}

async function runHeadless(node: PeerNode, log: Logger, ready: ReadyFields): Promise<void> {
  node.setUiRooms(null);
  node.on('message', (m: PeerStoredMessage, info: { missed: boolean }) => {
    // Who and where, never the content at info level (docs/broadcast.md, "Logs").
    // A sealed DM says whether this peer could open it (it is one of its two ends), never what it says.
    log.info({ gid: m.gid, origin: m.origin, seq: m.seq, id: m.id, from: m.username, room: m.room, dm: m.to !== null, ...(m.box ? { sealed: true, opened: m.opened === true } : {}), missed: info.missed }, 'message');
  });
  try {
    await node.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`lab93: cannot start the peer: ${e.code ?? e.message}\n`);
    process.exit(1);
  }
  stopOnSignals(log, () => node.close());
  // Once Ctrl-C is handled: the start line says it stops.
  log.info({ ...ready, listen: `${ready.listen}:${node.port}`, peer: node.peerId, fingerprint: shortFingerprint(node.identity.signPublic), safety_number: safetyNumber(node.identity.signPublic), network_key: node.opts.networkKey !== null }, 'ready');
}
