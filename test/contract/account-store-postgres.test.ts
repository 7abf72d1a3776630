/**
 * The account store contract against PostgreSQL, each store in a fresh schema (dropped at the
 * end), plus: the accounts share a schema with the message store without touching its
 * `schema_version`, and two servers see each other's changes through the version.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAccountStore } from '../../src/auth/index.js';
import type { AccountStore } from '../../src/auth/types.js';
import { createStore } from '../../src/store/index.js';
import { dropSchemas, postgres, uniqueName } from '../helpers/services.js';
import { accountStoreContract } from './account-store-contract.js';

const service = await postgres();

if (!service.ok) {
  it('PostgreSQL account store contract', { skip: service.reason }, () => {});
} else {
  const url = service.url;
  const schemas = new Set<string>();
  const open = (schema: string): Promise<AccountStore> => {
    schemas.add(schema);
    return createAccountStore({ driver: 'postgres', path: url, schema });
  };
  after(() => dropSchemas(url, schemas));

  accountStoreContract('PostgreSQL', () => open(uniqueName('lab93_acct')));

  describe('PostgreSQL account store: beside the messages, shared by servers', () => {
    const account = { name: 'alice', key: 'alice', skeleton: 'alice', passwordHash: 'h', operator: false, createdAt: 1 };

    it('shares the schema with the message store (?schema= in the URL) and both migrate once', async () => {
      const schema = uniqueName('lab93_share');
      schemas.add(schema);
      const [messages, accounts] = await Promise.all([
        createStore({ driver: 'postgres', path: `${url}?schema=${schema}` }),
        createAccountStore({ driver: 'postgres', path: `${url}?schema=${schema}` }),
      ]);
      await accounts.create(account);
      await messages.append([{ uid: 'u', username: 'alice', room: 'lobby', to: 'bob', subject: null, content: 'hi', timestamp: 1, verified: true, toAccount: true }]);
      await Promise.all([messages.close(), accounts.close()]);
      const [m2, a2] = await Promise.all([createStore({ driver: 'postgres', path: url, schema }), open(schema)]);
      assert.equal((await a2.get('alice'))?.name, 'alice');
      const [m] = await m2.catchUp({ username: 'bob', rooms: [], afterId: 0, upToId: 100, limit: 10 });
      assert.deepEqual([m?.verified, m?.toAccount], [true, true]);
      await Promise.all([m2.close(), a2.close()]);
    });

    it("one server sees another's changes through the version", async () => {
      const schema = uniqueName('lab93_two');
      const [a, b] = await Promise.all([open(schema), open(schema)]);
      const v = await a.version();
      await b.create(account);
      assert.ok((await a.version()) > v);
      assert.equal((await a.get('alice'))?.name, 'alice');
      await Promise.all([a.close(), b.close()]);
    });
  });
}
