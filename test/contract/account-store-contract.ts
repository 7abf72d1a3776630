/**
 * The AccountStore contract: every backend runs this suite (as store-contract.ts does for
 * messages). It encodes what the login path relies on: one account per key and per skeleton,
 * hashes kept exactly, tokens that belong to one account and die with a new password, a logout
 * or the account, a generation that moves whenever sessions must end, and a version counter
 * that moves with every change another process must see.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { nameKeys } from '../../src/auth/names.js';
import type { AccountStore, NewAccount } from '../../src/auth/types.js';

function account(name: string, over: Partial<NewAccount> = {}): NewAccount {
  const n = nameKeys(name);
  return { name: n.name, key: n.key, skeleton: n.skeleton, passwordHash: `$scrypt$ln=1,r=1,p=1$c2FsdA$${name}`, operator: false, createdAt: 1_700_000_000_000, ...over };
}

export function accountStoreContract(name: string, factory: () => Promise<AccountStore>): void {
  describe(`AccountStore contract: ${name}`, () => {
    let store: AccountStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('starts empty', async () => {
      assert.deepEqual(await store.list(), []);
      assert.equal(await store.get('alice'), null);
    });

    it('creates an account and gives back every field, the hash only through get', async () => {
      assert.equal(await store.create(account('Alice', { operator: true })), 'ok');
      const a = await store.get('alice');
      assert.ok(a);
      assert.deepEqual(
        { name: a.name, key: a.key, skeleton: a.skeleton, operator: a.operator, createdAt: a.createdAt, tokens: a.tokens, hash: a.passwordHash },
        { name: 'Alice', key: 'alice', skeleton: 'alice', operator: true, createdAt: 1_700_000_000_000, tokens: 0, hash: '$scrypt$ln=1,r=1,p=1$c2FsdA$Alice' },
      );
      const [listed] = await store.list();
      assert.equal(listed!.name, 'Alice');
      assert.equal('passwordHash' in listed!, false, 'list() never carries the hash');
    });

    it('refuses a second account with the same key or the same skeleton', async () => {
      assert.equal(await store.create(account('alice')), 'ok');
      assert.equal(await store.create(account('ALICE')), 'taken', 'same key');
      assert.equal(await store.create(account('a1ice')), 'taken', 'same skeleton');
      assert.equal(await store.create(account('bob')), 'ok');
      assert.deepEqual((await store.list()).map((a) => a.name), ['alice', 'bob']);
      assert.equal((await store.bySkeleton(nameKeys('a1ice').skeleton))?.name, 'alice');
      assert.equal(await store.bySkeleton('nobody'), null);
    });

    it('tokens: each belongs to its account; at most `keep` newest live', async () => {
      await store.create(account('alice'));
      await store.create(account('bob'));
      for (let i = 1; i <= 4; i++) await store.addToken('alice', `ta${i}`, 1000 + i, 3);
      await store.addToken('bob', 'tb1', 2000, 3);
      await store.addToken('nobody', 'tx', 2000, 3);
      assert.equal(await store.useToken('ta1', 3000), null, 'the oldest beyond the limit is gone');
      assert.equal(await store.useToken('ta4', 3000), 'alice');
      assert.equal(await store.useToken('ta2', 3000), 'alice');
      assert.equal(await store.useToken('tb1', 3000), 'bob');
      assert.equal(await store.useToken('tx', 3000), null, 'no token for an account that does not exist');
      assert.equal((await store.get('alice'))!.tokens, 3);
    });

    it('a new password revokes every token and bumps the generation', async () => {
      await store.create(account('alice'));
      const g = (await store.get('alice'))!.generation;
      await store.addToken('alice', 't1', 1, 10);
      assert.equal(await store.setPassword('alice', 'new-hash'), true);
      const a = (await store.get('alice'))!;
      assert.equal(a.passwordHash, 'new-hash');
      assert.ok(a.generation > g);
      assert.equal(await store.useToken('t1', 2), null);
      assert.equal(await store.setPassword('nobody', 'x'), false);
    });

    it('revokeTokens (user logout): tokens gone, generation bumped; -1 for no such account', async () => {
      await store.create(account('alice'));
      await store.create(account('bob'));
      await store.addToken('alice', 't1', 1, 10);
      await store.addToken('alice', 't2', 2, 10);
      await store.addToken('bob', 'tb', 2, 10);
      const g = (await store.get('alice'))!.generation;
      assert.equal(await store.revokeTokens('alice'), 2);
      assert.ok((await store.get('alice'))!.generation > g);
      assert.equal(await store.useToken('t2', 3), null);
      assert.equal(await store.useToken('tb', 3), 'bob', "another account's tokens stay");
      assert.equal(await store.revokeTokens('nobody'), -1);
    });

    it('delete takes the tokens with it and frees the name', async () => {
      await store.create(account('alice'));
      await store.addToken('alice', 't1', 1, 10);
      assert.equal(await store.delete('alice'), true);
      assert.equal(await store.get('alice'), null);
      assert.equal(await store.useToken('t1', 2), null);
      assert.equal(await store.delete('alice'), false);
      assert.equal(await store.create(account('a1ice')), 'ok', 'the skeleton is free again');
      // A token hash reused after its account is gone does not resurrect anything.
      await store.addToken('a1ice', 't1', 3, 10);
      assert.equal(await store.useToken('t1', 4), 'a1ice');
    });

    it('setOperator flips the flag', async () => {
      await store.create(account('alice'));
      assert.equal(await store.setOperator('alice', true), true);
      assert.equal((await store.get('alice'))!.operator, true);
      assert.equal(await store.setOperator('nobody', true), false);
    });

    it('the version moves with every change another process must see, and not with a token use', async () => {
      const seen = [await store.version()];
      const step = async (what: string, fn: () => Promise<unknown>, moves = true) => {
        await fn();
        const v = await store.version();
        if (moves) assert.ok(v > seen.at(-1)!, `${what} moves the version`);
        else assert.equal(v, seen.at(-1), `${what} leaves the version`);
        seen.push(v);
      };
      await step('create', () => store.create(account('alice')));
      await step('addToken', () => store.addToken('alice', 't', 1, 10));
      await step('useToken', () => store.useToken('t', 2), false);
      await step('setPassword', () => store.setPassword('alice', 'h'));
      await step('setOperator', () => store.setOperator('alice', true));
      await step('revokeTokens', () => store.revokeTokens('alice'));
      await step('delete', () => store.delete('alice'));
    });
  });
}
