/**
 * Two lab93 servers sharing one PostgreSQL schema and one NATS prefix (docs/cluster.md): clients
 * on either server chat with each other exactly once, a client that moves from one server to the
 * other with `since` gets exactly what it missed, and a uid resent through the other server is
 * stored once. In-process servers for speed, plus the real CLI (`--store`, `--bus`) once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createBus } from '../../src/bus/index.js';
import { silentLogger, createLogger } from '../../src/log/index.js';
import { createServer, type Lab93Server } from '../../src/server/server.js';
import { createStore } from '../../src/store/index.js';
import type { MessageBus } from '../../src/bus/types.js';
import type { MessageStore } from '../../src/store/types.js';
import { dropSchemas, nats, postgres, tcpProxy, uniqueName } from '../helpers/services.js';
import { ROOT, spawnServer } from '../helpers/spawn-server.js';
import { startServer, removeDir } from '../helpers/server.js';
import { LocalBus } from '../../src/bus/local.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { WireClient, type Packet } from '../helpers/wire-client.js';

const [pgService, natsService] = await Promise.all([postgres(), nats()]);
const missing = [pgService, natsService].filter((s) => !s.ok).map((s) => (s as { reason: string }).reason);

interface Node {
  server: Lab93Server;
  store: MessageStore;
  bus: MessageBus;
  port: number;
  stop(): Promise<void>;
}

/** One server of the cluster, wired as `lab93 server --store … --bus …` wires it (src/cli/server.ts). */
async function startNode(pgUrl: string, schema: string, natsUrl: string, prefix: string): Promise<Node> {
  const log = process.env.LAB93_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger();
  const store = await createStore({ driver: 'postgres', path: pgUrl, schema, poolSize: 4, log });
  const bus = await createBus({ driver: 'nats', url: natsUrl, prefix, log, source: { lastId: () => store.lastId(), range: store.range!.bind(store) } });
  const server = createServer({ store, bus, log, options: { ratePerSecond: 0, receiptPingMs: 50 } });
  const { port } = await server.listen(0, '127.0.0.1');
  return {
    server, store, bus, port,
    async stop() {
      await server.close();
      await bus.close();
      await store.close();
    },
  };
}

const messages = (c: WireClient): Packet[] => c.all('message');
const idsOf = (ps: Packet[]): number[] => ps.map((p) => p.id);

async function post(c: WireClient, uid: string, content: string, extra: Packet = {}): Promise<Packet> {
  c.send({ type: 'message', uid, content, ...extra });
  return c.next((p) => p.type === 'ack' && p.uid === uid);
}

if (missing.length > 0) {
  it('cluster of two servers', { skip: missing.join('; ') }, () => {});
} else {
  const pgUrl = (pgService as { url: string }).url;
  const natsUrl = (natsService as { url: string }).url;
  const schemas = new Set<string>();
  after(() => dropSchemas(pgUrl, schemas));

  describe('cluster: two servers, one PostgreSQL schema, one NATS prefix', () => {
    let a: Node;
    let b: Node;
    const clients: WireClient[] = [];
    const login = async (node: Node, username: string, hello: Packet = {}): Promise<Awaited<ReturnType<typeof WireClient.login>>> => {
      const r = await WireClient.login(node.port, username, hello);
      clients.push(r.c);
      return r;
    };

    before(async () => {
      const schema = uniqueName('lab93_cluster');
      schemas.add(schema);
      const prefix = uniqueName('lab93t');
      a = await startNode(pgUrl, schema, natsUrl, prefix);
      b = await startNode(pgUrl, schema, natsUrl, prefix);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it('a client on A and a client on B chat both ways, each message exactly once', async () => {
      const { c: alice } = await login(a, 'alice');
      const { c: bob, welcome } = await login(b, 'bob');
      // `welcome.users` and `who` list the users of this server only (docs/cluster.md).
      assert.deepEqual(welcome.users, ['bob']);
      const online = await alice.next((p) => p.type === 'presence' && p.username === 'bob');
      assert.equal(online.status, 'online', 'presence crosses servers');

      const ackA = await post(alice, 'a1', 'hello from A');
      const atBob = await bob.next('message');
      assert.deepEqual({ id: atBob.id, username: atBob.username, content: atBob.content }, { id: ackA.id, username: 'alice', content: 'hello from A' });
      const ackB = await post(bob, 'b1', 'hello from B');
      const atAlice = await alice.next('message');
      assert.deepEqual({ id: atAlice.id, username: atAlice.username, content: atAlice.content }, { id: ackB.id, username: 'bob', content: 'hello from B' });
      assert.ok(ackB.id > ackA.id, 'one id sequence for the cluster');

      await Promise.all([alice.settle(), bob.settle()]);
      assert.deepEqual(idsOf(messages(alice)), [ackB.id], 'alice: bob\'s message once, never her own');
      assert.deepEqual(idsOf(messages(bob)), [ackA.id], 'bob: alice\'s message once, never his own');
    });

    it('direct messages cross servers, to the recipient and to the sender\'s other connections', async () => {
      const { c: erin } = await login(a, 'erin', { rooms: [] });
      const { c: erin2 } = await login(b, 'erin', { rooms: [] });
      const { c: frank } = await login(b, 'frank', { rooms: [] });
      const ack = await post(erin, 'dm1', 'psst', { to: 'frank' });
      assert.equal((await frank.next('message')).id, ack.id);
      assert.equal((await erin2.next('message')).id, ack.id);
      await Promise.all([erin.settle(), frank.settle()]);
      assert.deepEqual(idsOf(messages(erin)), [], 'not back to the connection that sent it');
      assert.deepEqual(idsOf(messages(frank)), [ack.id]);
    });

    it('concurrent writers on both servers: every reader gets every message once, in id order', async () => {
      const room = { rooms: ['busy'] };
      const { c: wa } = await login(a, 'writer-a', room);
      const { c: wb } = await login(b, 'writer-b', room);
      const { c: ra } = await login(a, 'reader-a', room);
      const { c: rb } = await login(b, 'reader-b', room);
      const n = 60;
      for (let i = 0; i < n; i++) {
        wa.send({ type: 'message', uid: `wa${i}`, content: `a${i}`, room: 'busy' });
        wb.send({ type: 'message', uid: `wb${i}`, content: `b${i}`, room: 'busy' });
      }
      const acks: number[] = [];
      for (let i = 0; i < n; i++) acks.push((await wa.next('ack')).id, (await wb.next('ack')).id);
      acks.sort((x, y) => x - y);
      for (const r of [ra, rb]) {
        for (let i = 0; i < 2 * n; i++) await r.next('message');
        await r.settle(100);
        // In id order, not merely complete: a client's `since` is the highest id it saw, so
        // #12 before #11 followed by a disconnect would lose #11 for good.
        assert.deepEqual(idsOf(messages(r)), acks);
      }
    });

    it('a client that leaves A and comes back on B with since gets exactly what it missed', async () => {
      const room = { rooms: ['move'] };
      const { c: gina } = await login(a, 'gina', room);
      const { c: hank } = await login(b, 'hank', room);
      const { c: carol } = await login(a, 'carol', room);
      await post(gina, 'before', 'seen by carol', { room: 'move' });
      const seen = await carol.next('message');
      await carol.close();
      const missed: number[] = [];
      for (let i = 0; i < 5; i++) {
        missed.push((await post(gina, `away-a${i}`, `from A ${i}`, { room: 'move' })).id);
        missed.push((await post(hank, `away-b${i}`, `from B ${i}`, { room: 'move' })).id);
      }
      const { c: back, backlog, synced } = await login(b, 'carol', { since: seen.id, ...room });
      assert.deepEqual(idsOf(backlog), missed, 'exactly the missed messages, in order');
      assert.equal(synced.missed, missed.length);
      const live = await post(gina, 'after', 'live again', { room: 'move' });
      assert.equal((await back.next('message')).id, live.id);
      await back.settle(100);
      assert.deepEqual(idsOf(messages(back)), [...missed, live.id], 'nothing twice');
    });

    it('a uid resent through the other server is acknowledged with the original and stored once', async () => {
      const { c: ivan } = await login(a, 'ivan', { rooms: ['dup'] });
      const { c: judy } = await login(b, 'judy', { rooms: ['dup'] });
      const first = await post(ivan, 'resend-me', 'once only', { room: 'dup' });
      await judy.next('message');
      await ivan.close();
      // The ack was lost with the connection, so the client sends it again, now through B.
      const { c: ivan2 } = await login(b, 'ivan', { rooms: ['dup'], since: first.id });
      const again = await post(ivan2, 'resend-me', 'once only', { room: 'dup' });
      assert.equal(again.id, first.id);
      assert.equal(again.duplicate, true);
      await judy.settle(150);
      assert.deepEqual(idsOf(messages(judy)), [first.id], 'not relayed again');
      const rows = await a.store.history('dup', null, 10);
      assert.deepEqual(rows.map((m) => m.uid), ['resend-me']);
    });
  });

  describe('cluster: PostgreSQL out of reach of one server', () => {
    it('its clients are refused (error internal, with the uid) and resend once it is back; the other server carries on', async () => {
      const schema = uniqueName('lab93_outage');
      schemas.add(schema);
      const prefix = uniqueName('lab93t');
      const direct = new URL(pgUrl);
      const proxy = await tcpProxy(Number(direct.port));
      const viaProxy = new URL(pgUrl);
      viaProxy.port = String(proxy.port);
      const p = await startNode(viaProxy.toString(), schema, natsUrl, prefix);
      const q = await startNode(pgUrl, schema, natsUrl, prefix);
      const open: WireClient[] = [];
      try {
        const { c: nora } = await WireClient.login(p.port, 'nora');
        const { c: omar } = await WireClient.login(q.port, 'omar');
        open.push(nora, omar);
        proxy.block = true;
        proxy.cut();
        nora.send({ type: 'message', uid: 'n1', content: 'while the database is away' });
        const err = await nora.next('error', 10_000);
        assert.deepEqual({ code: err.code, uid: err.uid }, { code: 'internal', uid: 'n1' }, 'refused, not acknowledged');
        // The other server stores as usual, and NATS still brings its messages to nora.
        const fromQ = await post(omar, 'o1', 'from the healthy server');
        assert.equal((await nora.next('message')).id, fromQ.id);
        proxy.block = false;
        const ack = await post(nora, 'n1', 'while the database is away');
        assert.equal(ack.duplicate, undefined, 'it was not stored the first time');
        assert.equal((await omar.next('message')).id, ack.id);
        await omar.settle(100);
        assert.deepEqual(idsOf(messages(omar)), [ack.id]);
      } finally {
        await Promise.all(open.map((c) => c.close()));
        await Promise.all([p.stop(), q.stop()]);
        await proxy.close();
      }
    });
  });

  describe('cluster: the lab93 command line', () => {
    it('two `lab93 server --store postgres://… --bus nats://…` processes relay to each other', async () => {
      const schema = uniqueName('lab93_cli');
      schemas.add(schema);
      const prefix = uniqueName('lab93t');
      const args = ['--no-announce', '--store', `${pgUrl}?schema=${schema}`];
      const env = { LAB93_BUS: `${natsUrl}?prefix=${prefix}`, LAB93_DATA_DIR: '/nonexistent-lab93-cluster-test' };
      const [sa, sb] = await Promise.all([spawnServer(args, env), spawnServer(args, env)]);
      try {
        const { c: kim } = await WireClient.login(sa.port, 'kim');
        const { c: lee } = await WireClient.login(sb.port, 'lee');
        const ack = await post(kim, 'k1', 'across processes');
        const got = await lee.next('message');
        assert.equal(got.id, ack.id);
        assert.equal(got.content, 'across processes');
        await Promise.all([kim.close(), lee.close()]);
      } finally {
        sa.proc.kill('SIGTERM');
        sb.proc.kill('SIGTERM');
        const exits = await Promise.all([sa.exit(), sb.exit()]);
        assert.deepEqual(exits.map((e) => e.code), [0, 0], 'clean shutdown');
      }
    });

    it('--bus without --store, or a store that is not a postgres:// URL, is one line and exit 2', () => {
      const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', '-p', '0', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
      const r1 = run('--bus', natsUrl);
      assert.equal(r1.status, 2);
      assert.match(r1.stderr.trim(), /^lab93: --bus nats:\/\/… needs --store postgres:\/\/…/);
      const r2 = run('--store', '/tmp/x.db');
      assert.equal(r2.status, 2);
      assert.match(r2.stderr.trim(), /^lab93: --store takes a postgres:\/\/ URL/);
    });

    it('a PostgreSQL or a NATS that does not answer at start: one line naming it, exit 1', () => {
      const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', '-p', '0', '--no-announce', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
      const r = run('--store', 'postgres://lab93:secret@127.0.0.1:1/x');
      assert.equal(r.status, 1);
      assert.match(r.stderr.trim().split('\n').at(-1)!, /^lab93: cannot open the store at postgres:\/\/lab93:\*\*\*@127\.0\.0\.1:1\/x: ECONNREFUSED$/, 'the password is not printed');
      const schema = uniqueName('lab93_nonats');
      schemas.add(schema);
      const n = run('--store', `${pgUrl}?schema=${schema}`, '--bus', 'nats://127.0.0.1:1');
      assert.equal(n.status, 1);
      assert.match(n.stderr.trim().split('\n').at(-1)!, /^lab93: cannot open the bus at nats:\/\/127\.0\.0\.1:1: CONNECTION_REFUSED$/);
    });
  });
}

/**
 * The two changes to the server core a shared store needs; shown on one server (SQLite, the
 * in-process bus), where the timing can be forced.
 */
describe('server core with a store read over the network', () => {
  it('a live copy of a message catch-up already sent (fan-out late after synced) is not delivered again', async () => {
    const ts = await startServer();
    try {
      const { c: writer } = await WireClient.login(ts.port, 'writer');
      const ack = await post(writer, 'w1', 'stored before the reader said hello');
      // The reader's hello reads last_id = ack.id, so catch-up covers it (since 0) ...
      const { c: reader, backlog } = await WireClient.login(ts.port, 'reader', { since: 0 });
      assert.deepEqual(idsOf(backlog), [ack.id]);
      // ... and then its fan-out arrives, late, as it can from another server or over the network.
      const [row] = await ts.store.history('lobby', null, 1);
      ts.server.context.bus.publish({ kind: 'message', message: row!, origin: 'elsewhere' });
      const next = await post(writer, 'w2', 'live');
      assert.equal((await reader.next('message')).id, next.id);
      assert.deepEqual(idsOf(messages(reader)), [ack.id, next.id], 'the late copy was dropped');
      await Promise.all([writer.close(), reader.close()]);
    } finally {
      await ts.stop();
      removeDir(ts.dir);
    }
  });

  it('a hello while the store cannot be read ends in an error and a close, not a session stuck syncing', async () => {
    const store = new SqliteStore(':memory:');
    let down = true;
    const flaky = Object.assign(Object.create(store) as SqliteStore, {
      lastId: () => (down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : store.lastId()),
    });
    const server = createServer({ store: flaky, bus: new LocalBus(), log: silentLogger(), options: { ratePerSecond: 0 } });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const c = await WireClient.connect(port);
      c.send({ type: 'hello', username: 'mia' });
      const err = await c.next('error');
      assert.equal(err.code, 'internal');
      const closed = await Promise.race([c.closedPromise.then(() => true), new Promise((r) => setTimeout(r, 3000, false))]);
      assert.equal(closed, true, 'the server closed the connection');
      assert.equal(server.context.hub.users.size, 0, 'not left registered');
      down = false;
      const { c: again, welcome } = await WireClient.login(port, 'mia');
      assert.equal(welcome.username, 'mia');
      await again.close();
    } finally {
      await server.close();
      await store.close();
    }
  });
});
