/**
 * The MessageStore contract: every backend runs this suite (aedes-persistence's abstract.js
 * pattern). It encodes the protocol's promises: ids increase, a repeated (username, uid) is stored
 * once, append answers in input order, catch-up is exact, history pages backwards, cursors only
 * move forward.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageStore, NewMessage } from '../../src/store/types.js';

let n = 0;
function msg(over: Partial<NewMessage> = {}): NewMessage {
  n++;
  return { uid: `u${n}`, username: 'alice', room: 'lobby', to: null, subject: null, content: `message ${n}`, timestamp: 1_700_000_000 + n / 10, remote: '127.0.0.1:1', ...over };
}

/**
 * What a store may leave out: `accounts: false` for a store that keeps no login flags (a broadcast
 * peer's: peers have no accounts); `actions: false` for one that does not keep the `/me` flag (yet).
 */
export interface ContractOptions {
  accounts?: boolean;
  actions?: boolean;
}

export function storeContract(name: string, factory: () => Promise<MessageStore>, reopen?: (s: MessageStore) => Promise<MessageStore>, options: ContractOptions = {}): void {
  describe(`MessageStore contract: ${name}`, () => {
    let store: MessageStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('starts empty', async () => {
      assert.equal(await store.lastId(), 0);
      assert.equal(await store.count(), 0);
      assert.deepEqual(await store.history('lobby', null, 10), []);
    });

    it('assigns increasing ids in input order and returns every field', async () => {
      const batch = [msg(), msg({ subject: 'topic', room: 'dev' }), msg({ to: 'bob', uid: null })];
      const res = await store.append(batch);
      assert.equal(res.length, 3);
      assert.ok(res[0]!.message.id < res[1]!.message.id && res[1]!.message.id < res[2]!.message.id);
      res.forEach((r, i) => {
        assert.equal(r.duplicate, false);
        // Every field given comes back unchanged (a backend may add fields of its own).
        const given = batch[i]!;
        const back = Object.fromEntries(Object.keys(given).map((k) => [k, (r.message as unknown as Record<string, unknown>)[k]]));
        assert.deepEqual(back, given);
        assert.equal(typeof r.message.id, 'number');
      });
      assert.equal(await store.lastId(), res[2]!.message.id);
      assert.equal(await store.count(), 3);
    });

    it('keeps who was logged in (verified) and whether a DM was for an account (toAccount), false by default', { skip: options.accounts === false ? 'this store keeps no login flags' : false }, async () => {
      const res = await store.append([msg({ verified: true }), msg({ to: 'bob', verified: true, toAccount: true }), msg({ to: 'bob' })]);
      const flags = (m: { verified?: boolean; toAccount?: boolean }) => [m.verified, m.toAccount];
      assert.deepEqual(res.map((r) => flags(r.message)), [[true, false], [true, true], [false, false]]);
      const back = await store.catchUp({ username: 'bob', rooms: ['lobby'], afterId: 0, upToId: res[2]!.message.id, limit: 10 });
      assert.deepEqual(back.map(flags), [[true, false], [true, true], [false, false]]);
      const [again] = await store.append([msg({ uid: res[1]!.message.uid })]);
      assert.deepEqual(flags(again!.message), [true, true], 'a duplicate answers with the original flags');
    });

    it('stores a repeated (username, uid) once and answers with the original', async () => {
      const [first] = await store.append([msg({ uid: 'same', content: 'original' })]);
      const res = await store.append([msg({ uid: 'same', content: 'again' }), msg({ uid: 'same', username: 'bob', content: 'other user' })]);
      assert.equal(res[0]!.duplicate, true);
      assert.deepEqual(res[0]!.message, first!.message);
      assert.equal(res[1]!.duplicate, false, 'the same uid from another user is another message');
      assert.equal(await store.count(), 2);
    });

    it('treats duplicates inside one batch like duplicates across batches', async () => {
      const res = await store.append([msg({ uid: 'twin', content: 'one' }), msg({ uid: 'twin', content: 'two' })]);
      assert.equal(res[0]!.duplicate, false);
      assert.equal(res[1]!.duplicate, true);
      assert.equal(res[1]!.message.id, res[0]!.message.id);
      assert.equal(res[1]!.message.content, 'one');
    });

    it('messages without uid are never deduplicated', async () => {
      await store.append([msg({ uid: null, content: 'same' }), msg({ uid: null, content: 'same' })]);
      assert.equal(await store.count(), 2);
    });

    it('catch-up: the rooms asked for plus direct messages to or from the user, within the bounds, ascending', async () => {
      const r = await store.append([
        msg({ room: 'lobby' }), // 0
        msg({ room: 'dev' }), // 1
        msg({ room: 'other' }), // 2: not asked for
        msg({ to: 'carol', room: 'other' }), // 3: to carol
        msg({ to: 'dave' }), // 4: between others
        msg({ username: 'carol', to: 'alice' }), // 5: from carol
        msg({ room: 'lobby' }), // 6
      ]);
      const ids = r.map((x) => x.message.id);
      const got = await store.catchUp({ username: 'carol', rooms: ['lobby', 'dev'], afterId: ids[0]!, upToId: ids[5]!, limit: 100 });
      assert.deepEqual(got.map((m) => m.id), [ids[1], ids[3], ids[5]]);
      const limited = await store.catchUp({ username: 'carol', rooms: ['lobby', 'dev'], afterId: 0, upToId: ids[6]!, limit: 2 });
      assert.deepEqual(limited.map((m) => m.id), [ids[0], ids[1]]);
    });

    it('history pages backwards over room messages only, oldest first within a page', async () => {
      const r = await store.append(Array.from({ length: 10 }, (_, i) => msg({ room: 'h', content: `h${i}` })));
      await store.append([msg({ room: 'h', to: 'bob' })]);
      const newest = await store.history('h', null, 4);
      assert.deepEqual(newest.map((m) => m.content), ['h6', 'h7', 'h8', 'h9']);
      const older = await store.history('h', newest[0]!.id, 4);
      assert.deepEqual(older.map((m) => m.content), ['h2', 'h3', 'h4', 'h5']);
      const page = await store.page('h', r[7]!.message.id, 10);
      assert.deepEqual(page.map((m) => m.content), ['h8', 'h9']);
    });

    const noActions = options.actions === false ? `${name} does not keep the action flag: /me is not carried there yet` : false;
    it('keeps the action flag (/me) of a message, in history and catch-up, and no flag on the others', { skip: noActions }, async () => {
      const r = await store.append([msg({ room: 'act', action: true, content: 'waves' }), msg({ room: 'act', content: 'plain' })]);
      assert.equal(r[0]!.message.action, true);
      assert.equal(r[1]!.message.action ?? false, false);
      const h = await store.history('act', null, 10);
      assert.deepEqual(h.map((m) => [m.content, m.action ?? false]), [['waves', true], ['plain', false]]);
      const c = await store.catchUp({ username: 'zed', rooms: ['act'], afterId: 0, upToId: r[1]!.message.id, limit: 10 });
      assert.deepEqual(c.map((m) => m.action ?? false), [true, false]);
    });

    it('cursors only move forward', async () => {
      assert.equal(await store.getCursor('alice'), null);
      await store.setCursors([['alice', 10], ['bob', 3]]);
      await store.setCursors([['alice', 7]]);
      assert.equal(await store.getCursor('alice'), 10);
      assert.equal(await store.getCursor('bob'), 3);
      await store.setCursors([['alice', 0]]);
      assert.equal(await store.getCursor('alice'), 10);
    });

    it('direct messages: only those addressed to the user, within the bounds and the time window, through any room', async () => {
      const r = await store.append([
        msg({ to: 'bob', timestamp: 100 }), // 0: to bob, old
        msg({ to: 'carol', timestamp: 200 }), // 1: to someone else
        msg({ username: 'bob', to: 'alice', timestamp: 200 }), // 2: from bob, not to him
        msg({ room: 'lab', timestamp: 300 }), // 3: a room message
        msg({ to: 'bob', room: 'lab', timestamp: 300 }), // 4: to bob
        msg({ to: 'bob', timestamp: 400 }), // 5: to bob, after the upper bound
      ]);
      const ids = r.map((x) => x.message.id);
      const all = await store.directMessages({ username: 'bob', afterId: 0, upToId: ids[4]!, sinceTimestamp: null, limit: 100 });
      assert.deepEqual(all.map((m) => m.id), [ids[0], ids[4]]);
      const recent = await store.directMessages({ username: 'bob', afterId: 0, upToId: ids[5]!, sinceTimestamp: 250, limit: 100 });
      assert.deepEqual(recent.map((m) => m.id), [ids[4], ids[5]]);
      const paged = await store.directMessages({ username: 'bob', afterId: ids[0]!, upToId: ids[5]!, sinceTimestamp: null, limit: 1 });
      assert.deepEqual(paged.map((m) => m.id), [ids[4]]);
      assert.deepEqual(await store.directMessages({ username: 'nobody', afterId: 0, upToId: ids[5]!, sinceTimestamp: null, limit: 100 }), []);
    });

    it('pruning forgets the users not seen since the cutoff, spares those online, and a pruned user starts anew', async () => {
      await store.setCursors([['old', 5], ['online', 6]], 1000);
      await store.setCursors([['recent', 7]], 5000);
      await store.setCursors([['old', 1]], 900); // an older stamp does not move "seen" back
      const pruned = await store.pruneUsers({ before: 2000, now: 6000, online: ['online', 'never-stored'] });
      assert.equal(pruned, 1);
      assert.equal(await store.getCursor('old'), null);
      assert.equal(await store.getCursor('online'), 6, 'an online user is kept, whenever it was last stored');
      assert.equal(await store.getCursor('recent'), 7);
      assert.equal(await store.getCursor('never-stored'), null, 'being online creates no cursor');
      // "online" was stamped at 6000 by the prune: a later prune before 5500 keeps it.
      assert.equal(await store.pruneUsers({ before: 5500, now: 7000, online: [] }), 1, 'only "recent" (seen at 5000) goes');
      assert.equal(await store.getCursor('online'), 6);
      await store.setCursors([['old', 2]], 8000);
      assert.equal(await store.getCursor('old'), 2, 'a pruned user gets a fresh cursor, not the old one');
    });

    if (reopen) {
      it('what was appended is there after reopening, and ids keep increasing', async () => {
        const [a] = await store.append([msg({ content: 'durable' })]);
        store = await reopen(store);
        const h = await store.history('lobby', null, 10);
        assert.equal(h.at(-1)?.content, 'durable');
        const [b] = await store.append([msg()]);
        assert.ok(b!.message.id > a!.message.id);
      });
    }
  });
}
