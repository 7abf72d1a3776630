/**
 * Board clients and Lab-93 chat clients on one server see each other's messages: a classic POST
 * reaches the lobby live, and chat messages show up in GET.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChatClient, ask, startChat, type Chat } from '../fixtures/classic/harness.js';

describe('classic board and chat on one server', () => {
  let chat: Chat;
  const clients: ChatClient[] = [];
  before(async () => {
    chat = await startChat();
  });
  after(async () => {
    for (const c of clients) c.close();
    await chat.stop();
  });

  it('a classic POST, on the chat port or the board port, reaches chat users in the lobby live', async () => {
    const alice = await ChatClient.login(chat.port, 'alice');
    clients.push(alice);
    const elsewhere = await ChatClient.login(chat.port, 'carol');
    clients.push(elsewhere);
    elsewhere.send({ type: 'leave', room: 'lobby' });
    await elsewhere.next((p) => p.type === 'left');

    assert.equal(await ask(chat.port, 'POSTHello from a student client!%'), 'MSGPosting Message!%');
    const m = await alice.next((p) => p.type === 'message');
    assert.equal(m.username, 'classic@127.0.0.1');
    assert.equal(m.content, 'Hello from a student client!');
    assert.equal(m.room, 'lobby');
    assert.equal(m.to, null);
    assert.equal('remote' in m, false, 'the address stays with the operator');

    assert.equal(await ask(chat.classicPort, "POSTit's me again%"), 'MSGPosting Message!%');
    assert.equal((await alice.next((p) => p.type === 'message')).content, "it's me again");
    assert.equal(elsewhere.packets.filter((p) => p.type === 'message').length, 0, 'only the lobby gets board posts');
  });

  it('chat messages show up in GET as "name: text", with a subject in brackets', async () => {
    const bob = await ChatClient.login(chat.port, 'bob');
    clients.push(bob);
    bob.send({ type: 'message', uid: 'b1', content: 'hi board' });
    const ack = await bob.next((p) => p.type === 'ack');
    bob.send({ type: 'message', uid: 'b2', content: '100% sure', subject: 'poll' });
    const ack2 = await bob.next((p) => p.type === 'ack');
    bob.send({ type: 'message', uid: 'b3', content: 'just for alice', to: 'alice' });
    await bob.next((p) => p.type === 'ack');
    const list = await ask(chat.port, 'GET2%');
    assert.equal(list, `MSG[(${ack.id}, 'bob: hi board'), (${ack2.id}, 'bob: [poll] 100\uff05 sure')]%`, 'direct messages are not listed; % would end the answer early');
    assert.equal(await ask(chat.classicPort, 'GET2%'), list, 'the same board on both ports');
    const full = await ask(chat.port, 'GET%');
    assert.ok(full.startsWith("MSG[(1, 'Server has Started'), "));
    assert.equal(full.indexOf('%'), full.length - 1);
  });
});
