/**
 * One address cannot lock everyone out (issue 8, "Resource bounds"): a real server process with a
 * low open-file limit, one address opening more connections than that limit allows, and two
 * other addresses (127.0.0.2 and .3 are loopback too on Linux) that still connect and chat.
 * Then the table really full (no reserve, one address may take it all): EMFILE is logged, the
 * process stays up, and it accepts again once descriptors are free.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { removeDir, tempDir } from '../helpers/server.js';
import { WireClient, type Packet } from '../helpers/wire-client.js';

const FD_LIMIT = 256;
const skip = process.platform !== 'linux'
  ? 'needs Linux: /proc/self/limits and the 127.0.0.0/8 loopback'
  : spawnSync('prlimit', ['--version']).status !== 0 ? 'needs prlimit (util-linux) to start the server with a low open-file limit' : false;

describe('a server with a low open-file limit', { skip }, () => {
  const dirs: string[] = [];
  const clients: WireClient[] = [];
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const s of servers) s.proc.kill('SIGKILL');
    for (const d of dirs) removeDir(d);
  });

  async function start(args: string[]): Promise<ServerProcess> {
    const dir = tempDir();
    dirs.push(dir);
    const srv = await spawnServer(['--db', join(dir, 'server.db'), '--no-announce', ...args], {}, ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--']);
    servers.push(srv);
    return srv;
  }

  /** Opens `n` connections from 127.0.0.1, each saying hello; resolves with what each got first. */
  async function flood(port: number, n: number): Promise<{ welcomed: WireClient[]; busy: number; dropped: number }> {
    const welcomed: WireClient[] = [];
    let busy = 0;
    let dropped = 0;
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const c = await WireClient.connect(port);
      clients.push(c);
      c.send({ type: 'hello', username: `flood${i}` });
      const first = await c.next((p) => p.type === 'welcome' || p.type === 'error', 10_000).catch(() => null);
      if (first?.type === 'welcome') welcomed.push(c);
      else if (first?.code === 'server_busy') busy++;
      else dropped++;
    }));
    return { welcomed, busy, dropped };
  }

  async function chatFromOtherAddresses(port: number): Promise<void> {
    const alice = await WireClient.connect(port, 'plain', '127.0.0.1', '127.0.0.2');
    const bob = await WireClient.connect(port, 'plain', '127.0.0.1', '127.0.0.3');
    clients.push(alice, bob);
    alice.send({ type: 'hello', username: 'alice' });
    bob.send({ type: 'hello', username: 'bob' });
    await alice.next('synced');
    await bob.next('synced');
    alice.send({ type: 'message', uid: 'hi-bob', content: 'still here?' });
    assert.equal((await alice.next('ack')).uid, 'hi-bob');
    const m: Packet = await bob.next('message');
    assert.deepEqual([m.username, m.content], ['alice', 'still here?']);
  }

  const logged = (srv: ServerProcess, what: RegExp): Array<Record<string, unknown>> =>
    srv.logs.flatMap((l) => {
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        return what.test(String(j.msg)) ? [j] : [];
      } catch {
        return [];
      }
    });

  it('one address holding more connections than the limit allows; two others still chat, the refusals are logged', async () => {
    const srv = await start([]);
    const [warning] = logged(srv, /^open-file limit is 256/);
    assert.ok(warning, `a warning at start: ${srv.logs.slice(0, 3).join('\n')}`);
    assert.equal(warning.level, 40);
    // 256 - 64 reserved = 192 for connections; 25 % of them, 48, for one address.
    const { welcomed, busy, dropped } = await flood(srv.port, FD_LIMIT + 50);
    assert.equal(welcomed.length, 48);
    assert.equal(busy + dropped, FD_LIMIT + 50 - 48);
    assert.ok(busy > 0, 'refused connections are told server_busy');
    await chatFromOtherAddresses(srv.port);
    const refusals = logged(srv, /too many connections from one address/);
    assert.ok(refusals.length >= 1 && refusals.length < 10, `refusals logged, but not once each: ${refusals.length} lines`);
    assert.equal(srv.proc.exitCode, null, 'the server is still running');
  });

  it('a full descriptor table: EMFILE is logged, nothing crashes, and it accepts again once descriptors free up', async () => {
    const srv = await start(['--fd-reserve', '0', '--max-address-share', '100', '--hello-timeout', '1']);
    const { welcomed } = await flood(srv.port, FD_LIMIT + 50);
    assert.ok(welcomed.length < FD_LIMIT, 'the table filled up before the caps did');
    await waitForLog(srv, /^out of file descriptors \(EMFILE\)/);
    for (const c of welcomed.splice(0, 40)) await c.close();
    await chatFromOtherAddresses(srv.port);
    assert.equal(srv.proc.exitCode, null, 'the server is still running');
  });
});

/** Resolves when the server logs a line whose msg matches (fails after 10 s). */
async function waitForLog(srv: ServerProcess, what: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  const seen = (): boolean => srv.logs.some((l) => {
    try {
      return what.test(String((JSON.parse(l) as { msg?: unknown }).msg));
    } catch {
      return false;
    }
  });
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`no log line matching ${what}; last lines:\n${srv.logs.slice(-5).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
