import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir, removeDir } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { WireClient } from '../helpers/wire-client.js';

describe('repeater server process: crashes and shutdowns', () => {
  const dirs: string[] = [];
  // Whatever a test leaves behind when an assertion fails mid-way is closed here, so a failure
  // ends the file instead of keeping its event loop (and the whole suite) alive.
  const clients: WireClient[] = [];
  const servers: ServerProcess[] = [];
  const login = async (port: number, name: string, hello = {}, mode: 'plain' | 'base64' = 'plain') => {
    const r = await WireClient.login(port, name, hello, mode);
    clients.push(r.c);
    return r;
  };
  const spawn = async (args: string[]) => {
    const srv = await spawnServer(args);
    servers.push(srv);
    return srv;
  };
  after(async () => {
    for (const c of clients) c.socket.destroy();
    for (const srv of servers) if (srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
    dirs.forEach(removeDir);
  });

  it('SIGKILL under load loses no acknowledged message', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = join(dir, 'server.db');
    const srv = await spawn(['--db', db, '--rate', '0']);
    const acked = new Map<string, { id: number; content: string }>();
    const senders = await Promise.all([0, 1, 2, 3].map(async (i) => (await login(srv.port, `loader${i}`, {}, 'base64')).c));
    let stop = false;
    // Each sender keeps a window of 50 unacknowledged messages until the server dies.
    const loops = senders.map(async (c, i) => {
      let seq = 0;
      let outstanding = 0;
      const sent = new Map<string, string>();
      c.socket.on('data', () => {
        for (const p of c.received.splice(0)) {
          if (p.type === 'ack') {
            acked.set(`loader${i}/${p.uid}`, { id: p.id, content: sent.get(p.uid)! });
            outstanding--;
          }
        }
      });
      while (!stop && !c.closed) {
        while (outstanding < 50) {
          const uid = `m${seq++}`;
          const content = `loader ${i} message ${seq}`;
          sent.set(uid, content);
          c.send({ type: 'message', uid, content });
          outstanding++;
        }
        await new Promise((r) => setImmediate(r));
      }
    });
    while (acked.size < 3000) await new Promise((r) => setTimeout(r, 10));
    srv.proc.kill('SIGKILL');
    const { signal } = await srv.exit();
    stop = true;
    await Promise.all(loops);
    assert.equal(signal, 'SIGKILL');
    assert.ok(acked.size >= 3000);

    // Every acknowledged message is in the database, with the id it was acknowledged with.
    const check = new Database(db, { readonly: true });
    const rows = check.prepare('SELECT id, username, uid, content FROM messages').all() as Array<{ id: number; username: string; uid: string; content: string }>;
    check.close();
    const stored = new Map(rows.map((r) => [`${r.username}/${r.uid}`, r]));
    let missing = 0;
    for (const [key, a] of acked) {
      const r = stored.get(key);
      if (!r || r.id !== a.id || r.content !== a.content) missing++;
    }
    assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged messages lost`);

    // And the restarted server serves them: catch-up from 0 returns every one.
    const again = await spawn(['--db', db]);
    const { backlog, c } = await login(again.port, 'auditor', { since: 0 });
    const ids = new Set(backlog.map((m) => m.id));
    for (const a of acked.values()) assert.ok(ids.has(a.id));
    await c.close();
    again.proc.kill('SIGTERM');
    await again.exit();
    for (const s of senders) await s.close();
  });

  it('SIGTERM: pending messages are stored and acknowledged, clients get bye, exit status 0', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const srv = await spawn(['--db', join(dir, 'server.db'), '--rate', '0']);
    const { c } = await login(srv.port, 'leaver');
    for (let i = 0; i < 200; i++) c.send({ type: 'message', uid: `t${i}`, content: `bye soon ${i}` });
    await c.next('ack');
    srv.proc.kill('SIGTERM');
    const bye = await c.next('bye', 5000);
    assert.equal(bye.reason, 'server shutting down');
    const { code } = await srv.exit();
    assert.equal(code, 0);
    const acks = c.all('ack').length;
    assert.equal(acks, 200, 'every message sent before the signal was acknowledged before bye');
    const check = new Database(join(dir, 'server.db'), { readonly: true });
    assert.equal((check.prepare("SELECT COUNT(*) AS n FROM messages WHERE username = 'leaver'").get() as { n: number }).n, 200);
    check.close();
    await c.close();
  });

  it('a slow reader is disconnected, the server\'s memory stays bounded, the others keep receiving', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const srv = await spawn(['--db', join(dir, 'server.db'), '--rate', '0', '--send-queue', String(256 * 1024), '--synchronous', 'normal']);
    const { c: slow } = await login(srv.port, 'slowpoke');
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the server's queue
    const { c: fast } = await login(srv.port, 'speedy');
    const { c: writer } = await login(srv.port, 'writer');
    const rssBefore = srv.rss();
    const big = 'x'.repeat(4000);
    const total = 3000; // ~16 MB of base64 frames towards the slow reader
    let acked = 0;
    for (let i = 0; i < total; i++) {
      writer.send({ type: 'message', uid: `w${i}`, content: big });
      if (i % 100 === 99) {
        while (writer.all('ack').length < i - 200) await new Promise((r) => setTimeout(r, 5));
      }
    }
    while ((acked = writer.all('ack').length) < total) await new Promise((r) => setTimeout(r, 10));
    const deadline = Date.now() + 10000;
    while (fast.all('message').length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(fast.all('message').length, total, 'the fast reader got everything');
    const rssGrowth = srv.rss() - rssBefore;
    const cut = srv.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l.msg).includes('slow reader') && l.user === 'slowpoke');
    assert.ok(cut, 'the server logged the cut');
    // What the server held for the slow reader when it cut it: the 256 KiB limit plus at most one
    // commit's fan-out (the limit applies while the socket is not draining). An unbounded queue
    // would have held the whole ~16 MB sent towards it.
    const held = Number(cut.pending);
    assert.ok(held <= 256 * 1024 + 4 * 1024 * 1024, `held ${(held / 1e6).toFixed(1)} MB for the slow reader`);
    // RSS moves with garbage collection of the transient frames (tens of MB here), so this only
    // guards against a gross leak.
    assert.ok(rssGrowth < 150 * 1024 * 1024, `server RSS grew by ${(rssGrowth / 1e6).toFixed(1)} MB`);
    assert.equal(acked, total);
    slow.socket.resume();
    await slow.closedPromise;
    const got = slow.all('message').length;
    assert.ok(got < total, `the slow reader was cut off after ${got} messages`);
    // It comes back and catches up from storage.
    const lastSeen = slow.all('message').at(-1)?.id ?? 0;
    const { backlog, c: back } = await login(srv.port, 'slowpoke', { since: lastSeen });
    assert.equal(got + backlog.length, total, 'after catch-up it has every message exactly once');
    await Promise.all([back.close(), fast.close(), writer.close()]);
    srv.proc.kill('SIGTERM');
    await srv.exit();
  });
});
