/**
 * The cluster services the PostgreSQL and NATS tests need (docs/cluster.md): checks that each
 * is reachable on loopback, tries once to start it when it is not, and otherwise reports why it
 * is missing so the test can skip with that reason. Each test run gets its own PostgreSQL schema
 * and NATS subject prefix, removed afterwards, so parallel runs never see each other's data.
 */
import net from 'node:net';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';

const HOST = '127.0.0.1';
export const PG_PORT = 5432;
export const NATS_PORT = 4222;

export type Service = { ok: true; url: string } | { ok: false; reason: string };

function reachable(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitFor(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await reachable(port)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function tryStart(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return `${cmd}: ${r.error.message}`;
  return r.status === 0 ? '' : `${cmd} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`;
}

let pgService: Promise<Service> | null = null;

/** A connection URL for the local PostgreSQL (database `test`), starting the server if it is down. */
export function postgres(): Promise<Service> {
  return (pgService ??= (async (): Promise<Service> => {
    let why = '';
    if (!(await reachable(PG_PORT))) {
      let versions: string[] = [];
      try {
        versions = readdirSync('/etc/postgresql');
      } catch {
        return { ok: false, reason: `PostgreSQL is not reachable on ${HOST}:${PG_PORT} and not installed here (/etc/postgresql missing)` };
      }
      why = tryStart('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0] ?? '', 'main', 'start']);
      if (!(await waitFor(PG_PORT, 10_000))) return { ok: false, reason: `PostgreSQL is not reachable on ${HOST}:${PG_PORT} and could not be started${why ? ` (${why})` : ''}` };
    }
    const errors: string[] = [];
    for (const user of ['postgres', 'root']) {
      const url = `postgres://${user}@${HOST}:${PG_PORT}/test`;
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
      try {
        await c.connect();
        await sweepDeadRuns(c);
        return { ok: true, url };
      } catch (err) {
        errors.push(`${user}: ${(err as Error).message}`);
      } finally {
        await c.end().catch(() => {});
      }
    }
    return { ok: false, reason: `PostgreSQL on ${HOST}:${PG_PORT} refused us (${errors.join('; ')})` };
  })());
}

/** Test schemas are named by uniqueName(): `<base>_<host>_<pid>_<8 hex>`. */
const TEST_SCHEMA = /^lab93_[a-z]+_([0-9a-f]{6})_(\d+)_[0-9a-f]{8}$/;

/** Drops the schemas of test runs that died before their cleanup (their pid is gone). */
async function sweepDeadRuns(c: pg.Client): Promise<void> {
  const { rows } = await c.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'lab93\\_%'");
  for (const { nspname } of rows) {
    const m = TEST_SCHEMA.exec(nspname);
    // Another machine's runs (same database, other pids) are not ours to judge.
    if (!m || m[1] !== HOST_TAG || alive(Number(m[2]))) continue;
    await c.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let natsService: Promise<Service> | null = null;

/** The local NATS server's URL, starting nats-server (with JetStream) if it is down. */
export function nats(): Promise<Service> {
  return (natsService ??= (async (): Promise<Service> => {
    if (await reachable(NATS_PORT)) return { ok: true, url: `nats://${HOST}:${NATS_PORT}` };
    const why = tryStart('start-stop-daemon', [
      '--start', '--oknodo', '--background', '--exec', '/usr/sbin/nats-server', '--',
      '-a', HOST, '-p', String(NATS_PORT), '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log',
    ]);
    if (await waitFor(NATS_PORT, 10_000)) return { ok: true, url: `nats://${HOST}:${NATS_PORT}` };
    return { ok: false, reason: `NATS is not reachable on ${HOST}:${NATS_PORT} and could not be started${why ? ` (${why})` : ''}` };
  })());
}

/** This machine (pid namespace, as far as we can tell): only its dead runs are swept. */
const HOST_TAG = createHash('sha1').update(hostname()).digest('hex').slice(0, 6);

/** A name no other run uses: `<base>_<host>_<pid>_<random>` (valid as a schema name and a subject token). */
export function uniqueName(base: string): string {
  return `${base}_${HOST_TAG}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops schemas made by this run (CASCADE: tables, sequences and indexes go with them). */
export async function dropSchemas(url: string, schemas: Iterable<string>): Promise<void> {
  const list = [...schemas];
  if (list.length === 0) return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of list) await c.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await c.end();
  }
}

export interface TcpProxy {
  port: number;
  /** While true, new connections are refused (closed at once): the service looks down. */
  block: boolean;
  /** Breaks every connection through the proxy. */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP relay on loopback to a service, which a test can cut to see a client lose it and recover. */
export async function tcpProxy(port: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const state = { block: false };
  const server = net.createServer((c) => {
    if (state.block) return void c.destroy();
    const up = net.connect({ host: HOST, port });
    for (const s of [c, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        c.destroy();
        up.destroy();
      });
    }
    c.pipe(up).pipe(c);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => sockets.forEach((s) => s.destroy()),
    get block() {
      return state.block;
    },
    set block(v: boolean) {
      state.block = v;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
