/**
 * The store contract against PostgreSQL, plus what only a shared database can show: two stores
 * (two servers) appending at once keep ids committed in increasing order, and a uid resent
 * through the other server is stored once. Each store gets a fresh schema; all are dropped at the end.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createStore } from '../../src/store/index.js';
import type { AppendResult, MessageStore, NewMessage } from '../../src/store/types.js';
import { dropSchemas, postgres, uniqueName } from '../helpers/services.js';
import { storeContract } from './store-contract.js';

const service = await postgres();

if (!service.ok) {
  it('PostgreSQL store contract', { skip: service.reason }, () => {});
} else {
  const url = service.url;
  const schemas = new Set<string>();
  const schemaOf = new Map<MessageStore, string>();
  const open = async (schema: string): Promise<MessageStore> => {
    schemas.add(schema);
    const s = await createStore({ driver: 'postgres', path: url, schema, poolSize: 4 });
    schemaOf.set(s, schema);
    return s;
  };
  after(() => dropSchemas(url, schemas));

  storeContract(
    'PostgreSQL',
    () => open(uniqueName('lab93_store')),
    async (old) => {
      await old.close();
      return open(schemaOf.get(old)!);
    },
  );

  describe('PostgreSQL store: shared by several servers', () => {
    const msg = (username: string, uid: string | null, content = uid ?? 'x'): NewMessage => ({
      uid, username, room: 'lobby', to: null, subject: null, content, timestamp: Date.now() / 1000, remote: null,
    });

    it('the schema comes from ?schema= in the URL, and opening it again migrates nothing twice', async () => {
      const schema = uniqueName('lab93_url');
      schemas.add(schema);
      const a = await createStore({ driver: 'postgres', path: `${url}?schema=${schema}` });
      const [r] = await a.append([msg('alice', 'one')]);
      // Two servers starting together on an existing schema.
      const [b, c] = await Promise.all([createStore({ driver: 'postgres', path: `${url}?schema=${schema}` }), open(schema)]);
      assert.deepEqual((await b.history('lobby', null, 5)).map((m) => m.id), [r!.message.id]);
      assert.equal(await c.count(), 1);
      await Promise.all([a.close(), b.close(), c.close()]);
    });

    it('two stores appending at once: ids become visible in increasing order, none skipped', async () => {
      const schema = uniqueName('lab93_race');
      const a = await open(schema);
      const b = await open(schema);
      // A reader takes snapshots while both write (one query each, so one snapshot). Catch-up
      // relies on this: once id N is visible, every id below N that will ever exist is visible.
      // A smaller id committing after a larger one was seen would be lost to catch-up.
      let writing = true;
      const snapshots: number[][] = [];
      const reader = (async () => {
        while (writing) {
          const seen = await a.catchUp({ username: 'r', rooms: ['lobby'], afterId: 0, upToId: Number.MAX_SAFE_INTEGER, limit: 100_000 });
          snapshots.push(seen.map((m) => m.id));
        }
      })();
      const writes: Promise<AppendResult[]>[] = [];
      for (let i = 0; i < 60; i++) {
        writes.push(a.append([msg('alice', `a${i}`), msg('alice', `a${i}b`)]));
        writes.push(b.append([msg('bob', `b${i}`)]));
      }
      const results = (await Promise.all(writes)).flat();
      writing = false;
      await reader;
      const all = results.map((r) => r.message.id).sort((x, y) => x - y);
      assert.equal(new Set(all).size, 180);
      assert.equal(await a.count(), 180);
      assert.ok(snapshots.length > 1, 'the reader saw the writes in progress');
      for (const snap of snapshots) {
        const top = snap.at(-1) ?? 0;
        assert.deepEqual(snap, all.filter((id) => id <= top), `a snapshot up to #${top} has a hole`);
      }
      await Promise.all([a.close(), b.close()]);
    });

    it('a uid resent through the other server is stored once and answered with the original', async () => {
      const schema = uniqueName('lab93_dup');
      const a = await open(schema);
      const b = await open(schema);
      const [first] = await a.append([msg('alice', 'resent', 'original')]);
      const [again] = await b.append([msg('alice', 'resent', 'second try')]);
      assert.equal(again!.duplicate, true);
      assert.deepEqual(again!.message, first!.message);
      // Both at once: exactly one of them stores it.
      const [x, y] = await Promise.all([a.append([msg('bob', 'race')]), b.append([msg('bob', 'race')])]);
      assert.deepEqual([x![0]!.duplicate, y![0]!.duplicate].sort(), [false, true]);
      assert.equal(x![0]!.message.id, y![0]!.message.id);
      assert.equal(await a.count(), 2);
      await Promise.all([a.close(), b.close()]);
    });

    it('range: every message in the bounds, rooms and direct messages alike, ascending (what the cluster bus fills gaps with)', async () => {
      const a = await open(uniqueName('lab93_range'));
      const r = await a.append([msg('alice', 'r1'), { ...msg('alice', 'r2'), to: 'bob' }, { ...msg('bob', 'r3'), room: 'dev' }, msg('carol', 'r4')]);
      const idsOf = r.map((x) => x.message.id);
      assert.deepEqual((await a.range!(idsOf[0]!, idsOf[2]!, 10)).map((m) => m.id), [idsOf[1], idsOf[2]]);
      assert.deepEqual((await a.range!(0, idsOf[3]!, 2)).map((m) => m.id), [idsOf[0], idsOf[1]]);
      assert.deepEqual(await a.range!(idsOf[3]!, idsOf[3]! + 10, 10), []);
      await a.close();
    });

    it('cursors from two servers: the larger wins, whatever the order', async () => {
      const schema = uniqueName('lab93_cur');
      const a = await open(schema);
      const b = await open(schema);
      await Promise.all([a.setCursors([['alice', 5], ['bob', 9], ['alice', 7]]), b.setCursors([['bob', 4], ['alice', 6]])]);
      assert.equal(await b.getCursor('alice'), 7);
      assert.equal(await a.getCursor('bob'), 9);
      await Promise.all([a.close(), b.close()]);
    });

    it('an unreachable database fails fast with the driver error, not a hang', async () => {
      const started = Date.now();
      await assert.rejects(createStore({ driver: 'postgres', path: 'postgres://postgres@127.0.0.1:1/test' }), /ECONNREFUSED|connect/);
      assert.ok(Date.now() - started < 5000);
    });
  });
}
