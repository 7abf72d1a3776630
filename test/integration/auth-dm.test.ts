/**
 * Direct messages to a registered name reach only connections logged into that account, live
 * and in catch-up (issue 9): not a guest who was using the name when it was registered, and not
 * a guest who takes the name after the account is deleted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WireClient, type Packet } from '../helpers/wire-client.js';
import { startAuthServer, type AuthServer } from './auth-server.js';

const dms = (ps: Packet[]) => ps.filter((p) => p.type === 'message' && p.to !== null).map((p) => p.content);

describe('accounts: direct messages', () => {
  let ts: AuthServer;
  const clients: WireClient[] = [];
  const login = async (name: string, hello: Packet = {}) => {
    const r = await WireClient.login(ts.port, name, hello);
    clients.push(r.c);
    return r;
  };
  before(async () => {
    // A long poll: the guest below stays connected after its name is registered, which is the
    // window these tests look into.
    ts = await startAuthServer({ pollMs: 60_000 });
    await ts.addUser('alice', 'wonderland');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await ts.stop();
  });

  it('live and in catch-up, a DM to an account reaches its logged-in connections, spelled as the account', async () => {
    const { c: a1 } = await login('alice', { password: 'wonderland' });
    const { c: a2, welcome } = await login('alice', { password: 'wonderland' });
    const since = welcome.last_id;
    const { c: bob } = await login('bob');
    bob.send({ type: 'message', uid: 'd1', to: 'ALICE', content: 'to alice, typed in capitals' });
    const ack = await bob.next('ack');
    for (const a of [a1, a2]) {
      const m = await a.next('message');
      assert.deepEqual([m.to, m.content, m.verified], ['alice', 'to alice, typed in capitals', false]);
    }
    a1.send({ type: 'message', uid: 'd2', to: 'bob', content: 'reply from alice' });
    const copy = await a2.next((p) => p.type === 'message' && p.uid === 'd2');
    assert.equal(copy.verified, true, "her other connection gets her copy");
    assert.equal((await bob.next((p) => p.type === 'message' && p.uid === 'd2')).verified, true);
    const { backlog } = await login('alice', { password: 'wonderland', since });
    assert.deepEqual(dms(backlog), ['to alice, typed in capitals', 'reply from alice']);
    assert.ok(backlog[0]!.id >= ack.id);
  });

  it('a guest using the name when it gets registered receives none of the account\'s DMs', async () => {
    const { c: guest } = await login('dora');
    const { c: bob } = await login('bob2');
    await ts.addUser('dora', 'explorer');
    bob.send({ type: 'message', uid: 'd3', to: 'dora', content: 'for the account dora' });
    await bob.next('ack');
    const { c: real } = await login('dora', { password: 'explorer' });
    // Wait for what the real dora got (she is logged in after the DM, so it arrives only in
    // catch-up) then check that the guest got nothing meanwhile.
    bob.send({ type: 'message', uid: 'd4', to: 'dora', content: 'second, live' });
    assert.equal((await real.next((p) => p.type === 'message' && p.uid === 'd4')).content, 'second, live');
    await guest.settle(100);
    assert.deepEqual(dms(guest.received), [], 'the guest dora saw no DM');
  });

  it('after the account is deleted, a guest taking the name does not catch up on its DMs', async () => {
    await ts.addUser('erin', 'erinpass');
    const { c: erin } = await login('erin', { password: 'erinpass' });
    const { c: bob } = await login('bob3');
    bob.send({ type: 'message', uid: 'e1', to: 'erin', content: 'private to erin' });
    await erin.next((p) => p.type === 'message' && p.uid === 'e1');
    erin.send({ type: 'message', uid: 'e2', to: 'bob3', content: 'private from erin' });
    await erin.next('ack');
    await erin.close();
    await ts.accounts.delete('erin');
    await ts.gate.refresh();
    const { c: impostor, backlog } = await login('erin', { since: 0 });
    assert.deepEqual(dms(backlog), [], 'neither the DM to the account nor its own DM');
    // A DM to the guest erin now is a guest's DM: delivered.
    bob.send({ type: 'message', uid: 'e3', to: 'erin', content: 'to whoever is erin now' });
    assert.equal((await impostor.next('message')).content, 'to whoever is erin now');
  });
});
